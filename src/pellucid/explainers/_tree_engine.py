"""Drive the compiled TreeSHAP kernels over a :class:`TreeEnsemble`: per-model precomputation, row chunks.

:class:`PathDependentEngine` computes path-dependent SHAP values and interaction values. It builds its
per-model tables once (on first use) and records what it chose in ``notes``.
"""

from __future__ import annotations

import logging

import numpy as np

from pellucid.explainers._tree_ensemble import TreeEnsemble
from pellucid.explainers._tree_shap_numba import (
    fill_path_tables,
    interaction_weights,
    path_layout,
    shap_interactions,
    shap_path_dependent,
    shapley_weights,
)

__all__ = ["PathDependentEngine", "TABLE_BUDGET_BYTES", "ROW_CHUNK_BYTES", "pick_table_leaves", "row_chunks", "n_chunks"]

logger = logging.getLogger(__name__)

#: Memory allowed for per-leaf FastTreeSHAP-v2 tables of one model (bytes).
TABLE_BUDGET_BYTES = 256 * 2**20
#: Largest number of distinct path features for which a leaf gets a table (2**16 values).
MAX_TABLE_D = 16
#: Target size of one chunk of output rows (bytes), bounding temporary memory.
ROW_CHUNK_BYTES = 64 * 2**20


def pick_table_leaves(leaf_d: np.ndarray, bytes_per_entry: int, entries_per_pattern: int, budget: int,
                      max_d: int) -> tuple[np.ndarray, int]:
    """Give tables to the leaves with the fewest path features while the budget allows.

    Returns
    -------
    (ndarray of shape (n_nodes,), int)
        ``table_start`` (-1 for nodes without a table) and the number of table entries.
    """
    leaves = np.flatnonzero(leaf_d >= 0)
    depth = leaf_d[leaves].astype(np.int64)
    sizes = entries_per_pattern * (np.int64(1) << np.minimum(depth, 62))
    order = np.argsort(depth, kind="stable")
    cumulative = np.cumsum(sizes[order]) * bytes_per_entry
    chosen = order[(cumulative <= budget) & (depth[order] <= max_d)]
    table_start = np.full(len(leaf_d), -1, np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes[chosen])[:-1]]).astype(np.int64)
    table_start[leaves[chosen]] = starts
    return table_start, int(sizes[chosen].sum())


def n_chunks(n_rows: int) -> int:
    """Number of parallel row chunks: a few per numba thread, for load balance."""
    import numba

    return max(1, min(n_rows, 4 * numba.get_num_threads()))


def row_chunks(n_rows: int, bytes_per_row: int) -> list[tuple[int, int]]:
    """Split ``n_rows`` into (start, stop) chunks of about ROW_CHUNK_BYTES of output each."""
    step = max(1, ROW_CHUNK_BYTES // max(bytes_per_row, 1))
    return [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


class PathDependentEngine:
    """Path-dependent TreeSHAP over one ensemble.

    Parameters
    ----------
    ensemble : TreeEnsemble
    table_budget_bytes : int
        Memory for FastTreeSHAP-v2 tables; leaves beyond it use the v1 recurrence.
    """

    def __init__(self, ensemble: TreeEnsemble, *, table_budget_bytes: int = TABLE_BUDGET_BYTES) -> None:
        self.ensemble = ensemble
        self.table_budget_bytes = table_budget_bytes
        self.notes: list[str] = []
        self._layout: dict[str, np.ndarray] | None = None
        self._tables: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ precomputation
    @property
    def layout(self) -> dict[str, np.ndarray]:
        """Per-node path facts (see :func:`path_layout`), computed once."""
        if self._layout is None:
            layout = path_layout(self.ensemble, self.ensemble.max_depth)
            max_d = int(layout["leaf_d"].max(initial=0))
            layout["w1"] = shapley_weights(max_d)
            layout["w2"] = interaction_weights(max_d)
            layout["max_d"] = np.int64(max_d)
            e = self.ensemble
            layout["tree_max_d"] = np.maximum.reduceat(layout["leaf_d"], e.tree_start[:-1]).astype(np.int32)
            layout["max_tree_nodes"] = np.int64(np.diff(e.tree_start).max())
            self._layout = layout
        return self._layout

    def expected_value(self) -> np.ndarray:
        """Expected model output under the trees' cover distribution, ndarray of shape (n_outputs,)."""
        e = self.ensemble
        return e.base_offset + e.value[e.tree_start[:-1]].sum(axis=0)

    def _ensure_tables(self) -> tuple[np.ndarray, np.ndarray]:
        if self._tables is None:
            layout = self.layout
            leaf_d = layout["leaf_d"]
            table_start, n_entries = pick_table_leaves(leaf_d, 8, 1, self.table_budget_bytes, MAX_TABLE_D)
            table = np.zeros(max(n_entries, 1))
            leaves = np.flatnonzero(table_start >= 0)
            fill_path_tables(leaves, leaf_d, layout["path_start"], layout["path_zero"], table_start, table,
                             layout["w1"])
            n_leaves = int((leaf_d >= 0).sum())
            if len(leaves) == n_leaves:
                note = (f"FastTreeSHAP-v2 path tables for all {n_leaves} leaves "
                        f"({n_entries * 8 / 2**20:.1f} MiB)")
            else:
                deepest = int(leaf_d.max())
                note = (f"FastTreeSHAP-v2 path tables for {len(leaves)} of {n_leaves} leaves "
                        f"({n_entries * 8 / 2**20:.1f} MiB); the other {n_leaves - len(leaves)} leaves (paths with "
                        f"up to {deepest} distinct features, whose 2^d tables would exceed the "
                        f"{self.table_budget_bytes / 2**20:.0f} MiB budget) use the v1 recurrence")
            self.notes.append(note)
            logger.info(note)
            self._tables = (table_start, table)
        return self._tables

    # ------------------------------------------------------------------ values
    def _common_args(self) -> tuple:
        e = self.ensemble
        layout = self.layout
        return (*e.node_arrays(), e.value, e.tree_start, e.tree_output, layout["tree_max_d"], layout["slot_code"],
                layout["leaf_d"], layout["path_start"], layout["path_feature"], layout["path_zero"])

    def _sizes(self) -> tuple[int, int, int]:
        layout = self.layout
        return self.ensemble.max_depth, int(layout["max_d"]), int(layout["max_tree_nodes"])

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """SHAP values, ndarray of shape (n_rows, n_features, n_outputs), in the ensemble's output space.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
        """
        e = self.ensemble
        rows = e.cast_rows(X)
        table_start, table = self._ensure_tables()
        phi = np.zeros((rows.shape[0], e.n_features, e.n_outputs))
        for start, stop in row_chunks(rows.shape[0], e.n_features * e.n_outputs * 8):
            shap_path_dependent(rows[start:stop], phi[start:stop], n_chunks(stop - start), *self._common_args(),
                                table_start, table, self.layout["w1"], *self._sizes())
        return phi

    def interaction_values(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SHAP values and SHAP interaction values (main effects on the diagonal; rows sum to the SHAP values).

        Returns
        -------
        (ndarray of shape (n_rows, n_features, n_outputs), ndarray of shape (n_rows, n_features, n_features, n_outputs))
        """
        e = self.ensemble
        rows = e.cast_rows(X)
        m, k = e.n_features, e.n_outputs
        phi = np.zeros((rows.shape[0], m, k))
        inter = np.zeros((rows.shape[0], m, m, k))
        for start, stop in row_chunks(rows.shape[0], m * m * k * 8):
            shap_interactions(rows[start:stop], phi[start:stop], inter[start:stop], n_chunks(stop - start),
                              *self._common_args(), self.layout["w1"], self.layout["w2"], *self._sizes())
        return phi, inter
