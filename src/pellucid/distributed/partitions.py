"""Split the rows to explain into partitions, without gathering distributed data on the client.

In-memory data (numpy, pandas, scipy.sparse, lists, DenseData-like, Dataset) is sliced on the client into
blocks of ``partition_rows`` rows; each block travels inside its own task, so the scheduler can rerun the task
elsewhere when a worker dies. A ``dask.array`` or ``dask.dataframe`` is already distributed: its partitions
stay on the cluster and each becomes one task's input. When partition boundaries must move (``partition_rows``
given, or an explainer whose rows are only independent in blocks of a fixed size, see
:func:`~pellucid.distributed.explain.row_block`), a dask array is rechunked and a dask dataframe is re-blocked
on the workers from slices of its partitions; only the partition lengths come back to the client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pellucid.data import Dataset, as_dataset
from pellucid.errors import ArgumentError, DataShapeError, EmptyDataError

__all__ = ["Partitions", "partition", "is_dask_collection"]


@dataclass
class Partitions:
    """The rows to explain, cut into partitions in row order.

    Attributes
    ----------
    parts : list
        One entry per partition: a block of in-memory rows, or a ``dask.delayed`` object yielding one.
    rows : list of int or None
        Rows per partition, when known on the client.
    n_features : int
        Columns of every partition.
    source : str
        Where the rows came from: ``"in-memory"``, ``"dask.array"`` or ``"dask.dataframe"``.
    size : int, optional
        Rows per partition (the last may have fewer) when the boundaries were set here; None when a dask
        collection kept its own partitions.
    """

    parts: list[Any]
    rows: list[int] | None
    n_features: int
    source: str
    size: int | None = None

    @property
    def n_rows(self) -> int | None:
        """Total rows, when known."""
        return None if self.rows is None else int(sum(self.rows))


def is_dask_collection(data: Any) -> str | None:
    """``"dask.array"``, ``"dask.dataframe"`` or None, without importing dask for other inputs."""
    module = type(data).__module__
    if not module.startswith("dask"):
        return None
    import dask.array as da
    import dask.dataframe as dd

    if isinstance(data, da.Array):
        return "dask.array"
    if isinstance(data, dd.DataFrame):
        return "dask.dataframe"
    return None


def partition(
    data: Any,
    *,
    client: Any,
    partition_rows: int | None,
    default_partitions: int,
    block: int | None = None,
) -> Partitions:
    """Cut ``data`` into partitions.

    Parameters
    ----------
    data : array-like, DataFrame, sparse matrix, Dataset, dask.array.Array or dask.dataframe.DataFrame
        Rows to explain, shape (n_rows, n_features).
    client : distributed.Client
        Used to count the rows of a dask dataframe's partitions on the cluster when boundaries move.
    partition_rows : int, optional
        Rows per partition. Default: in-memory data is cut into ``default_partitions`` partitions; a dask
        collection keeps its own partitions.
    default_partitions : int
        Partitions for in-memory data when ``partition_rows`` is None.
    block : int, optional
        Partition boundaries must fall on multiples of this many rows (see ``row_block``): partition sizes
        are rounded to the nearest multiple of it (at least one block).

    Returns
    -------
    Partitions
    """
    if partition_rows is not None and (
        isinstance(partition_rows, bool) or not isinstance(partition_rows, (int, np.integer)) or partition_rows < 1
    ):
        raise ArgumentError(f"partition_rows must be a positive integer or None; found {partition_rows!r}")
    kind = is_dask_collection(data)
    if kind == "dask.array":
        return _dask_array(data, partition_rows, block)
    if kind == "dask.dataframe":
        return _dask_dataframe(data, client, partition_rows, block)
    return _in_memory(data, partition_rows, default_partitions, block)


def aligned(rows: int, block: int | None) -> int:
    """``rows`` rounded to the nearest multiple of ``block`` (at least one block)."""
    if not block:
        return max(1, int(rows))
    return max(1, round(int(rows) / block)) * block


# ---------------------------------------------------------------------- in memory
def _in_memory(data: Any, partition_rows: int | None, default_partitions: int, block: int | None) -> Partitions:
    rows_of, take = _sliceable(data)
    n_rows, n_features = rows_of
    size = partition_rows or math.ceil(n_rows / max(1, default_partitions))
    size = aligned(size, block)
    starts = range(0, n_rows, size)
    parts = [take(start, min(start + size, n_rows)) for start in starts]
    rows = [min(start + size, n_rows) - start for start in starts]
    return Partitions(parts=parts, rows=rows, n_features=n_features, source="in-memory", size=size)


def _sliceable(data: Any) -> tuple[tuple[int, int], Any]:
    """The shape of in-memory data and a function slicing its rows in their original form."""
    if isinstance(data, np.ndarray) and data.ndim == 2 and data.dtype.kind in "biufOUS":
        _check_not_empty(data.shape)
        return data.shape, lambda start, stop: data[start:stop]
    if isinstance(data, pd.DataFrame):
        _check_not_empty(data.shape)
        return data.shape, lambda start, stop: data.iloc[start:stop]
    if sp.issparse(data):
        matrix = data.tocsr()
        _check_not_empty(matrix.shape)
        form = "csc" if data.format == "csc" else "csr"
        return matrix.shape, lambda start, stop: matrix[start:stop].asformat(form)
    dataset = as_dataset(data, None, name="evaluation_examples")
    return dataset.values.shape, lambda start, stop: _dataset_rows(dataset, start, stop)


def _dataset_rows(dataset: Dataset, start: int, stop: int) -> Dataset:
    rows = dataset.with_values(dataset.values[start:stop])
    rows.notes = list(dataset.notes) if start == 0 else []
    return rows


def _check_not_empty(shape: tuple[int, ...]) -> None:
    if shape[0] == 0 or shape[1] == 0:
        raise EmptyDataError(f"evaluation_examples must have at least one row and one column; found shape {shape}")


# ---------------------------------------------------------------------- dask.array
def _dask_array(array: Any, partition_rows: int | None, block: int | None) -> Partitions:
    if array.ndim != 2:
        raise DataShapeError(
            f"a dask array of rows to explain must have 2 dimensions (n_rows, n_features); found shape {array.shape}"
        )
    if array.dtype.kind not in "biufOUS":
        raise DataShapeError(f"a dask array of rows must hold numbers or strings; found dtype {array.dtype}")
    array = array.rechunk({1: -1})
    chunks = array.chunks[0]
    needs_move = partition_rows is not None or (block and any(c % block for c in chunks[:-1]))
    if needs_move:
        if any(math.isnan(c) for c in chunks):
            array = array.compute_chunk_sizes()
            chunks = array.chunks[0]
        size = aligned(partition_rows or max(1, round(float(np.mean(chunks)))), block)
        array = array.rechunk({0: size})
        chunks = array.chunks[0]
    size = None
    if needs_move:
        size = int(chunks[0])
    known = not any(math.isnan(c) for c in chunks)
    if known:
        _check_not_empty((int(sum(chunks)), int(array.shape[1])))
    parts = list(array.to_delayed().ravel())
    return Partitions(parts=parts, rows=[int(c) for c in chunks] if known else None,
                      n_features=int(array.shape[1]), source="dask.array", size=size)


# ---------------------------------------------------------------------- dask.dataframe
def _dask_dataframe(frame: Any, client: Any, partition_rows: int | None, block: int | None) -> Partitions:
    n_features = len(frame.columns)
    if n_features == 0:
        raise EmptyDataError("the dask dataframe of rows to explain has no columns")
    parts = list(frame.to_delayed())
    if partition_rows is None and not block:
        return Partitions(parts=parts, rows=None, n_features=n_features, source="dask.dataframe")
    lengths = [int(n) for n in client.compute(frame.map_partitions(len, meta=(None, "int64")), sync=True)]
    if sum(lengths) == 0:
        raise EmptyDataError("the dask dataframe of rows to explain has no rows")
    if partition_rows is None and not any(n % block for n in lengths[:-1]) and all(lengths):
        return Partitions(parts=parts, rows=lengths, n_features=n_features, source="dask.dataframe")
    nonempty = [n for n in lengths if n]
    size = aligned(partition_rows or max(1, round(float(np.mean(nonempty)))), block)
    blocks, rows = _reblock(parts, lengths, size)
    return Partitions(parts=blocks, rows=rows, n_features=n_features, source="dask.dataframe", size=size)


def _reblock(parts: list[Any], lengths: list[int], size: int) -> tuple[list[Any], list[int]]:
    """New partitions of ``size`` rows, each built on a worker from slices of the old ones."""
    import dask

    total = int(sum(lengths))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    blocks, rows = [], []
    for start in range(0, total, size):
        stop = min(start + size, total)
        first = int(np.searchsorted(bounds, start, side="right") - 1)
        last = int(np.searchsorted(bounds, stop, side="left") - 1)
        pieces, spans = [], []
        for i in range(first, last + 1):
            lo, hi = max(start, bounds[i]) - bounds[i], min(stop, bounds[i + 1]) - bounds[i]
            if hi > lo:
                pieces.append(parts[i])
                spans.append((int(lo), int(hi)))
        blocks.append(dask.delayed(_join_slices, pure=True)(pieces, spans))
        rows.append(stop - start)
    return blocks, rows


def _join_slices(pieces: list[pd.DataFrame], spans: list[tuple[int, int]]) -> pd.DataFrame:
    """Rows ``spans[i]`` of each piece, concatenated (runs on a worker)."""
    frames = [piece.iloc[lo:hi] for piece, (lo, hi) in zip(pieces, spans)]
    return frames[0] if len(frames) == 1 else pd.concat(frames)

