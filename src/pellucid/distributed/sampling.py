"""Sample and summarise data that lives on a Dask cluster.

:func:`sample_rows` draws a uniform sample without replacement over the whole collection: the row indices are
drawn on the client from the total row count with the seed (exactly as :func:`pellucid.data.sample_rows`
draws them), split by partition, and each partition hands over only its picked rows. Each partition thus
contributes in proportion to its size (a hypergeometric share), and the sample equals the in-memory sample of
the same rows with the same seed.

:func:`summarize` (background summarisation for Kernel SHAP) runs weighted k-means on a uniform sample of at
most ``sample_size`` rows on the client (:func:`pellucid.data.summarize`: centres snapped to observed values, or
medoids for mixed types); for numeric data, one more pass over every partition on the workers assigns each row
to its nearest summary row (on the sample's standardised scale) and the counts, summed on the cluster, become
the weights. No dask-ml, no mini-batch state: one sample, one pass. When the collection has at most
``sample_size`` rows it is gathered and summarised exactly as in memory.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pellucid import data as core
from pellucid.data import Dataset, as_dataset
from pellucid.distributed.cluster import DEFAULT_CONNECT_TIMEOUT, dask_client
from pellucid.distributed.partitions import is_dask_collection
from pellucid.errors import ArgumentError, EmptyDataError

__all__ = ["sample_rows", "summarize", "DEFAULT_SAMPLE_SIZE"]

logger = logging.getLogger(__name__)

#: Rows k-means sees when summarising a large distributed collection.
DEFAULT_SAMPLE_SIZE = 20_000
# Cells (rows x summary rows) of one distance block in the assignment pass.
_DISTANCE_CELLS = 2**22


def sample_rows(
    data: Any,
    n_rows: int,
    *,
    seed: int = 0,
    client: Any = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> tuple[Dataset, np.ndarray]:
    """Uniformly sample ``n_rows`` rows without replacement; dask collections are sampled where they live.

    Parameters
    ----------
    data : array-like, DataFrame, sparse matrix, dask.array.Array or dask.dataframe.DataFrame
        Rows, shape (n_total, n_features).
    n_rows : int
        Rows to keep.
    seed : int, default 0
        Seed of the draw; the same seed gives the same rows as :func:`pellucid.data.sample_rows`.
    client : distributed.Client or str, optional
        Cluster for a dask collection (see :func:`pellucid.distributed.dask_client`).
    connect_timeout : float, default 5.0
        Seconds to wait for a scheduler address.

    Returns
    -------
    (Dataset, ndarray of shape (n_rows,))
        The sampled rows (with a note) and their positions in the whole collection, sorted.
    """
    _check_count("n_rows", n_rows)
    if is_dask_collection(data) is None:
        return core.sample_rows(as_dataset(data, None, name="data"), int(n_rows), seed=seed)
    with dask_client(client, connect_timeout=connect_timeout) as (connected, _):
        dataset, index, _ = _sample(connected, data, int(n_rows), seed)
    return dataset, index


def summarize(
    data: Any,
    n_clusters: int,
    *,
    seed: int = 0,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    client: Any = None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> Dataset:
    """Summarise rows with weighted k-means; dask collections through a sample and one weighting pass.

    Parameters
    ----------
    data : array-like, DataFrame, sparse matrix, dask.array.Array or dask.dataframe.DataFrame
        Rows, shape (n_total, n_features).
    n_clusters : int
        Summary rows (k).
    seed : int, default 0
        Seed of the sample and of k-means.
    sample_size : int, default 20000
        Most rows k-means sees for a dask collection.
    client : distributed.Client or str, optional
        Cluster for a dask collection.
    connect_timeout : float, default 5.0
        Seconds to wait for a scheduler address.

    Returns
    -------
    Dataset
        At most ``n_clusters`` rows with ``weights`` summing to 1 and notes of what was done.
    """
    _check_count("n_clusters", n_clusters)
    _check_count("sample_size", sample_size)
    if is_dask_collection(data) is None:
        return core.summarize(as_dataset(data, None, name="data"), int(n_clusters), seed=seed)
    with dask_client(client, connect_timeout=connect_timeout) as (connected, _):
        sample, _, n_total = _sample(connected, data, int(sample_size), seed)
        summary = core.summarize(sample, int(n_clusters), seed=seed)
        if n_total <= sample_size or summary.n_rows == sample.n_rows:
            return summary
        if not sample.is_numeric or not np.isfinite(sample.values).all():
            note = (f"summary weights are k-means cluster sizes in the sample of {sample.n_rows} rows "
                    "(non-numeric or missing values: no distance pass over all rows)")
            summary.notes.append(note)
            logger.info(note)
            return summary
        counts = _nearest_counts(connected, data, summary.values, sample.values)
    keep = counts > 0
    weighted = summary.with_values(summary.values[keep], weights=counts[keep] / counts.sum())
    note = (f"summary rows from k-means on a uniform sample of {sample.n_rows} of {n_total} rows; weights are "
            f"the share of all {n_total} rows nearest to each summary row (one pass on the Dask workers)")
    weighted.notes.append(note)
    logger.info(note)
    return weighted


# ---------------------------------------------------------------------- steps on the cluster
def _partitions(data: Any) -> list[Any]:
    if is_dask_collection(data) == "dask.array":
        if data.ndim != 2:
            raise ArgumentError(f"a dask array of rows must have 2 dimensions; found shape {data.shape}")
        return list(data.rechunk({1: -1}).to_delayed().ravel())
    return list(data.to_delayed())


def _lengths(client: Any, data: Any, parts: list[Any]) -> np.ndarray:
    if is_dask_collection(data) == "dask.array" and not any(np.isnan(c) for c in data.chunks[0]):
        return np.asarray(data.chunks[0], dtype=np.int64)
    import dask

    return np.asarray(client.compute([dask.delayed(len)(p) for p in parts], sync=True), dtype=np.int64)


def _sample(client: Any, data: Any, n_rows: int, seed: int) -> tuple[Dataset, np.ndarray, int]:
    import dask

    parts = _partitions(data)
    lengths = _lengths(client, data, parts)
    n_total = int(lengths.sum())
    if n_total == 0:
        raise EmptyDataError("the dask collection to sample has no rows")
    if n_total <= n_rows:
        index = np.arange(n_total)
    else:
        rng = np.random.default_rng(seed)
        index = np.sort(rng.choice(n_total, size=n_rows, replace=False))
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    owner = np.searchsorted(bounds, index, side="right") - 1
    picks = [dask.delayed(_take)(parts[p], index[owner == p] - bounds[p]) for p in np.unique(owner)]
    pieces = client.compute(picks, sync=True)
    gathered = pd.concat(pieces) if isinstance(pieces[0], pd.DataFrame) else np.concatenate(pieces)
    dataset = as_dataset(gathered, None, name="data")
    if n_total > n_rows:
        shares = np.bincount(owner, minlength=len(parts))
        note = (f"evaluation data sampled from {n_total} to {n_rows} rows (uniform without replacement over "
                f"{len(parts)} partitions, seed {seed}; rows per partition {shares.tolist()})")
        dataset.notes.append(note)
        logger.info(note)
    return dataset, index, n_total


def _take(part: Any, positions: np.ndarray) -> Any:
    """Rows at ``positions`` of one partition (runs on a worker)."""
    if isinstance(part, pd.DataFrame):
        return part.iloc[positions]
    return np.asarray(part)[positions]


def _nearest_counts(client: Any, data: Any, summary: np.ndarray, sample: np.ndarray) -> np.ndarray:
    import dask

    centre = sample.mean(axis=0)
    scale = sample.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    counts = [dask.delayed(_count_nearest)(part, summary, centre, scale) for part in _partitions(data)]
    total = dask.delayed(np.sum)(counts, axis=0)
    return np.asarray(client.compute(total, sync=True), dtype=np.float64)


def _count_nearest(part: Any, summary: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """How many rows of a partition are nearest to each summary row (runs on a worker)."""
    values = part.to_numpy(dtype=np.float64) if isinstance(part, pd.DataFrame) else np.asarray(part, dtype=np.float64)
    points = (summary - centre) / scale
    counts = np.zeros(len(summary), dtype=np.int64)
    step = max(1, _DISTANCE_CELLS // max(1, len(summary)))
    point_norms = (points**2).sum(axis=1)
    for start in range(0, len(values), step):
        rows = (values[start:start + step] - centre) / scale
        distances = point_norms[None, :] - 2.0 * rows @ points.T  # + |row|^2, the same for every summary row
        counts += np.bincount(distances.argmin(axis=1), minlength=len(summary))
    return counts


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ArgumentError(f"{name} must be a positive integer; found {value!r}")
