"""Join the partitions' results into one Explanation, on the client.

Local values, evaluation rows, model outputs and standard errors are concatenated in partition order
(``Explanation.concatenate``). Meta entries are merged by one rule:

* ``notes``: every partition's notes, each once, in order of first appearance;
* an entry holding one item per row in every partition (LIME's intercepts, scores ...): concatenated;
* an entry equal in every partition: kept;
* any other entry (facts of the partition's own run, e.g. Kernel SHAP's coalition counts): the first
  partition's value, and every partition's value in ``meta["distributed"]["partition_meta"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pellucid.distributed.tasks import PartSummary, header_of, is_per_row
from pellucid.errors import ArgumentError
from pellucid.explanation import Explanation

__all__ = ["merge_local", "merge_global", "merge_meta"]


def merge_meta(metas: list[dict[str, Any]], rows: list[int]) -> tuple[dict[str, Any], dict[str, list]]:
    """Merged meta of partitions, and the entries that differ between partitions (by key, per partition).

    Parameters
    ----------
    metas : list of dict
        Each partition's meta, in partition order.
    rows : list of int
        Each partition's row count.
    """
    keys: list[str] = []
    for meta in metas:
        keys.extend(key for key in meta if key not in keys)
    merged: dict[str, Any] = {}
    differing: dict[str, list] = {}
    for key in keys:
        values = [meta.get(key) for meta in metas]
        if key == "notes":
            merged[key] = _unique([note for value in values for note in (value or [])])
        elif len(metas) > 1 and all(is_per_row(v, n) for v, n in zip(values, rows)):
            merged[key] = [item for value in values for item in value]
        elif all(v == values[0] for v in values[1:]):
            merged[key] = values[0]
        else:
            merged[key] = values[0]
            differing[key] = values
    return merged, differing


def merge_local(parts: list[Explanation], facts: dict[str, Any], notes: list[str]) -> Explanation:
    """One explanation of every partition's rows, in partition order.

    Parameters
    ----------
    parts : list of Explanation
        Partition explanations from the same explainer.
    facts : dict
        What the distributed run did, stored as ``meta["distributed"]``.
    notes : list of str
        Notes to append to the merged notes.
    """
    _check_same_header([header_of(p) for p in parts])
    joined = Explanation.concatenate(parts) if len(parts) > 1 else parts[0]
    meta, differing = merge_meta([p.meta for p in parts], [p.n_rows for p in parts])
    _expected_note(parts[0].expected_values_array, [p.expected_values_array for p in parts], meta)
    meta["notes"] = meta.get("notes", []) + notes
    meta["distributed"] = dict(facts, partition_meta=differing) if differing else dict(facts)
    return joined.replace(meta=meta)


def merge_global(summary: PartSummary, facts: dict[str, Any], notes: list[str]) -> Explanation:
    """A global-only explanation from the reduced partition summaries.

    ``global_values`` is the sum of the partitions' absolute local values divided by the total row count:
    the mean absolute local value, as an in-memory explanation derives it (up to floating-point rounding of
    a sum taken in another order).
    """
    meta, differing = merge_meta(summary.metas, summary.rows)
    meta["notes"] = meta.get("notes", []) + notes
    meta["distributed"] = dict(facts, partition_meta=differing) if differing else dict(facts)
    header = summary.header
    return Explanation(
        method=header["method"],
        task=header["task"],
        features=header["features"],
        classes=header["classes"],
        global_values=summary.abs_sum / summary.n_rows,
        expected_values=summary.expected_values,
        meta=meta,
        is_raw=header["is_raw"],
    )


def _check_same_header(headers: list[dict[str, Any]]) -> None:
    for index, header in enumerate(headers[1:], start=1):
        if header != headers[0]:
            raise ArgumentError(
                f"every partition must be explained with the same features, classes and task; partition {index} "
                f"gave {header}, partition 0 gave {headers[0]}"
            )


def _expected_note(first: np.ndarray | None, all_expected: list[np.ndarray | None], meta: dict[str, Any]) -> None:
    if first is None:
        return
    if any(e is None or not np.array_equal(e, first) for e in all_expected[1:]):
        meta.setdefault("notes", []).append(
            "partitions reported different expected values; the first partition's are kept"
        )


def _unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
