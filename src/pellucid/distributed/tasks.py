"""What runs on the workers: explain one partition, and reduce partition summaries to global importances.

Every function here is a plain module-level function so workers import it by name (pellucid must be
installed on the workers). Partition results travel back to the client through Dask's own serialisation;
nothing here writes pickle files: ``output=`` files are ``.npz`` archives of numeric arrays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pellucid.explanation import Explanation

__all__ = ["PartSummary", "hold", "explain_partition", "summarise_partition", "reduce_summaries", "part_file_name"]


@dataclass
class PartSummary:
    """What a worker returns for a partition when local values stay on the cluster.

    Attributes
    ----------
    abs_sum : ndarray of shape (n_features, n_outputs)
        Sum over the partition's rows of the absolute local values.
    n_rows : int
        Rows explained.
    expected_values : ndarray of shape (n_outputs,) or None
    header : dict
        method, task, features, classes and is_raw of the partition's explanation.
    metas : list of dict
        The explanation meta of each partition (per-row entries removed), in partition order.
    rows : list of int
        Rows per partition, in partition order.
    files : list of str
        Files written (``output=``), in partition order.
    """

    abs_sum: np.ndarray
    n_rows: int
    expected_values: np.ndarray | None
    header: dict[str, Any]
    metas: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def part_file_name(index: int) -> str:
    """File name of partition ``index``'s local values."""
    return f"part-{index:05d}.npz"


def hold(explainer: Any) -> Any:
    """The explainer itself: a task whose result is the explainer, recomputable from its definition."""
    return explainer


def explain_partition(explainer: Any, rows: Any, raw: bool) -> Explanation:
    """The explainer's local explanation of one partition (runs on a worker)."""
    return explainer.explain_local(rows, raw=raw)


def summarise_partition(explainer: Any, rows: Any, raw: bool, index: int, output: str | None) -> PartSummary:
    """Explain one partition, write its local values to ``output`` when given, and return its summary.

    Parameters
    ----------
    explainer : BaseExplainer
        The direct explainer (sent to the worker once).
    rows : array-like of shape (n_rows, n_features)
        The partition.
    raw : bool
        Explain in raw features (explainers with transformations).
    index : int
        The partition's position, used in the file name.
    output : str, optional
        Directory (on the worker's file system) for the ``part-<index>.npz`` file.
    """
    explanation = explainer.explain_local(rows, raw=raw)
    n_rows = explanation.n_rows
    per_row = {key: value for key, value in explanation.meta.items() if is_per_row(value, n_rows)}
    meta = {key: value for key, value in explanation.meta.items() if key not in per_row}
    files = []
    if output is not None:
        files.append(_write_partition(explanation, per_row, index, output))
    return PartSummary(
        abs_sum=np.abs(explanation.local_values).sum(axis=0),
        n_rows=n_rows,
        expected_values=explanation.expected_values_array,
        header=header_of(explanation),
        metas=[meta],
        rows=[n_rows],
        files=files,
    )


def reduce_summaries(summaries: list[PartSummary]) -> PartSummary:
    """One summary of many partitions (runs on a worker): sums of |values| and rows, metas and files kept."""
    first = summaries[0]
    return PartSummary(
        abs_sum=np.sum([s.abs_sum for s in summaries], axis=0),
        n_rows=int(sum(s.n_rows for s in summaries)),
        expected_values=first.expected_values,
        header=first.header,
        metas=[meta for s in summaries for meta in s.metas],
        rows=[n for s in summaries for n in s.rows],
        files=[name for s in summaries for name in s.files],
    )


def header_of(explanation: Explanation) -> dict[str, Any]:
    """The fields partitions of one explanation share."""
    return {
        "method": explanation.method,
        "task": explanation.task,
        "features": explanation.features,
        "classes": explanation.classes,
        "is_raw": explanation.is_raw,
    }


def is_per_row(value: Any, n_rows: int) -> bool:
    """True for a meta entry holding one item per explained row (e.g. LIME's intercepts)."""
    return isinstance(value, list) and len(value) == n_rows and n_rows > 0


def _write_partition(explanation: Explanation, per_row: dict[str, Any], index: int, output: str) -> str:
    arrays: dict[str, np.ndarray] = {"local_values": explanation.local_values, "partition": np.array(index)}
    for name, value in (("expected_values", explanation.expected_values_array),
                        ("model_output", explanation.model_output),
                        ("standard_errors", explanation.standard_errors)):
        if value is not None:
            arrays[name] = value
    if explanation.eval_data is not None and explanation.eval_data.dtype != object:
        arrays["eval_data"] = explanation.eval_data
    for key, value in per_row.items():
        array = np.asarray(value)
        if array.dtype.kind in "biuf":
            arrays[f"meta_{key}"] = array
    os.makedirs(output, exist_ok=True)
    path = os.path.join(output, part_file_name(index))
    partial = f"{path}.{os.getpid()}.partial"
    with open(partial, "wb") as handle:
        np.savez(handle, **arrays)
    # Atomic: a rerun of this partition (after a worker died) replaces the file whole.
    os.replace(partial, path)
    return path
