"""Drive the compiled TreeSHAP kernels over a :class:`TreeEnsemble`: per-model precomputation, row chunks.

:class:`PathDependentEngine` computes path-dependent SHAP values and interaction values. It builds its
per-model tables once (on first use) and records what it chose in ``notes``.

Compiled kernels or numpy: until the numba kernels are loaded (in a process whose numba cache is empty they
compile in a background thread, see :mod:`._tree_warmup`), rows are explained with the numpy functions of
:mod:`._tree_numpy`, the same values up to floating-point rounding; the call switches to the compiled kernels
between row chunks as soon as they are ready, and its notes say how many rows numpy explained.

Thread safety: one engine may be called from many threads at once. Lazy builds run under a lock, and a
build never changes arrays a running call may read: it makes new arrays and then publishes them as one
immutable :class:`PathTables` in a single assignment, so a call always sees one consistent set.
"""

from __future__ import annotations

import logging
import threading
from typing import NamedTuple

import numpy as np

from pellucid._locks import LockedPickling
from pellucid.explainers import _tree_warmup
from pellucid.explainers._tree_ensemble import TreeEnsemble
from pellucid.explainers._tree_numpy import LazyLeafPaths, path_dependent_chunks, path_dependent_values
from pellucid.explainers._tree_shap_numba import (
    fill_path_tables,
    interaction_weights,
    path_layout,
    shap_interactions,
    shap_path_dependent,
    shapley_weights,
)

__all__ = ["PathDependentEngine", "PathTables", "numpy_note", "TABLE_BUDGET_BYTES", "MAX_TABLE_D", "ROW_CHUNK_BYTES", "plan_tables",
           "row_chunks", "n_chunks", "worth_d", "format_bytes", "node_lists"]

logger = logging.getLogger(__name__)

#: Memory allowed for per-leaf FastTreeSHAP-v2 tables of one model (bytes).
TABLE_BUDGET_BYTES = 128 * 2**20
#: Largest number of distinct path features for which a leaf gets a table (2**16 values).
MAX_TABLE_D = 16
#: A leaf with d path features gets a table once TABLE_PAYBACK * 2**d <= d * rows explained: building it
#: costs about 3d per entry, and it saves about 0.4 d**2 per row over the v1 recurrence.
TABLE_PAYBACK = 8
#: Output rows explained together, tree by tree (bytes of output; keeps them in the L2 cache).
BLOCK_BYTES = 128 * 2**10
#: Target size of one chunk of output rows (bytes), bounding temporary memory.
ROW_CHUNK_BYTES = 64 * 2**20


def numpy_note(n_numpy: int, n_rows: int) -> str:
    """The note of a call whose first ``n_numpy`` of ``n_rows`` rows numpy explained."""
    return (f"{n_numpy} of {n_rows} rows explained by pellucid's numpy TreeSHAP while its compiled kernels were "
            "being compiled in the background (same values up to floating-point rounding)")


def node_lists(ensemble: TreeEnsemble, leaf_d: np.ndarray) -> dict[str, np.ndarray]:
    """Per-tree lists of internal nodes and of leaves with path features, in index order (parents first)."""
    internal = np.flatnonzero(ensemble.children_left >= 0)
    leaves = np.flatnonzero(leaf_d > 0)
    return {
        "internal": internal.astype(np.int64),
        "internal_start": np.searchsorted(internal, ensemble.tree_start).astype(np.int64),
        "leaves": leaves.astype(np.int64),
        "leaf_start": np.searchsorted(leaves, ensemble.tree_start).astype(np.int64),
    }


def format_bytes(n_bytes: float) -> str:
    """``"12.3 MiB"`` / ``"40 KiB"``: sizes for notes."""
    return f"{n_bytes / 2**20:.1f} MiB" if n_bytes >= 2**20 else f"{n_bytes / 2**10:.0f} KiB"


def worth_d(n_rows: int) -> int:
    """Largest number of path features whose 2^d table pays for itself over ``n_rows`` rows."""
    d = 0
    while d < 62 and TABLE_PAYBACK * 2 ** (d + 1) <= (d + 1) * n_rows:
        d += 1
    return d


def plan_tables(leaf_d: np.ndarray, max_d: int, budget_bytes: int,
                existing: tuple[np.ndarray, np.ndarray, int] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Decide which leaves get a table, and which kind.

    Leaves with at most ``max_d`` path features get a compact table (``2^d`` values of G), fewest features
    first, while the budget allows; half of what budget is left upgrades the smallest of them to expanded tables
    (``d * 2^d`` ready-made SHAP values, no arithmetic per row). Leaves that already have a table
    (``existing = (table_start, table_kind, n_entries)``) keep it; new tables go after them.

    Returns
    -------
    (ndarray of shape (n_nodes,), ndarray of shape (n_nodes,), int)
        ``table_start`` (-1 without a table), ``table_kind`` (0 none, 1 compact, 2 expanded) and the total
        number of float64 entries.
    """
    if existing is None:
        existing = (np.full(len(leaf_d), -1, np.int64), np.zeros(len(leaf_d), np.int8), 0)
    old_start, old_kind, old_entries = existing
    leaves = np.flatnonzero((leaf_d > 0) & (old_kind == 0))
    depth = leaf_d[leaves].astype(np.int64)
    order = np.argsort(depth, kind="stable")
    leaves, depth = leaves[order], depth[order]
    budget = budget_bytes - old_entries * 8
    compact = 1 << np.minimum(depth, 62)
    chosen = (np.cumsum(compact) * 8 <= budget) & (depth <= max_d)
    left = budget - int(compact[chosen].sum()) * 8
    extra = np.where(chosen, (depth - 1) * compact, 0)
    upgraded = chosen & (np.cumsum(extra) * 8 <= left // 2)  # keep room for later, larger leaves
    kind = old_kind.copy()
    kind[leaves[chosen]] = 1
    kind[leaves[upgraded]] = 2
    sizes = np.zeros(len(leaf_d), np.int64)
    sizes[leaves[chosen]] = compact[chosen]
    sizes[leaves[upgraded]] = (depth * compact)[upgraded]
    table_start = np.where(sizes > 0, old_entries + np.cumsum(sizes) - sizes, old_start).astype(np.int64)
    return table_start, kind, old_entries + int(sizes.sum())


def n_chunks(n_rows: int) -> int:
    """Number of parallel row chunks: a few per numba thread, for load balance."""
    import numba

    return max(1, min(n_rows, 4 * numba.get_num_threads()))


def row_chunks(n_rows: int, bytes_per_row: int) -> list[tuple[int, int]]:
    """Split ``n_rows`` into (start, stop) chunks of about ROW_CHUNK_BYTES of output each."""
    step = max(1, ROW_CHUNK_BYTES // max(bytes_per_row, 1))
    return [(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


class PathTables(NamedTuple):
    """One consistent, never modified set of FastTreeSHAP-v2 tables (see :func:`plan_tables`)."""

    table_start: np.ndarray
    table_kind: np.ndarray
    table: np.ndarray
    table_d: int
    n_entries: int
    note: str


class PathDependentEngine(LockedPickling):
    """Path-dependent TreeSHAP over one ensemble.

    Parameters
    ----------
    ensemble : TreeEnsemble
    table_budget_bytes : int, optional
        Memory for FastTreeSHAP-v2 tables (default ``TABLE_BUDGET_BYTES``); leaves beyond it use the v1
        recurrence, as do leaves whose table would cost more to build than it saves for the rows explained.
    """

    def __init__(self, ensemble: TreeEnsemble, *, table_budget_bytes: int | None = None) -> None:
        self.ensemble = ensemble
        self.table_budget_bytes = TABLE_BUDGET_BYTES if table_budget_bytes is None else table_budget_bytes
        self.rows_explained = 0
        self._lock = threading.Lock()
        self._layout: dict[str, np.ndarray] | None = None
        self._tables: PathTables | None = None
        self._numpy = LazyLeafPaths(ensemble)


    @property
    def notes(self) -> list[str]:
        """How the latest tables compute values (tables or the v1 recurrence)."""
        tables = self._tables
        return [tables.note] if tables is not None and tables.note else []

    # ------------------------------------------------------------------ precomputation
    @property
    def layout(self) -> dict[str, np.ndarray]:
        """Per-node path facts (see :func:`path_layout`), computed once."""
        if self._layout is None:
            with self._lock:
                if self._layout is None:
                    self._layout = self._build_layout()
        return self._layout

    def _build_layout(self) -> dict[str, np.ndarray]:
        e = self.ensemble
        layout = path_layout(e, e.max_depth)
        max_d = int(layout["leaf_d"].max(initial=0))
        layout["w1"] = shapley_weights(max_d)
        layout["w2"] = interaction_weights(max_d)
        layout["max_d"] = np.int64(max_d)
        layout["tree_max_d"] = np.maximum.reduceat(layout["leaf_d"], e.tree_start[:-1]).astype(np.int32)
        layout["max_tree_nodes"] = np.int64(np.diff(e.tree_start).max())
        # the one output a leaf adds to (its tree's output, or 0 for single-output models), else -1
        tree_of_node = np.repeat(np.arange(e.n_trees), np.diff(e.tree_start))
        single = e.tree_output[tree_of_node] if e.n_outputs > 1 else np.zeros(e.n_nodes, np.int32)
        layout["leaf_output"] = np.ascontiguousarray(single, dtype=np.int32)
        layout.update(node_lists(e, layout["leaf_d"]))
        return layout

    def expected_value(self) -> np.ndarray:
        """Expected model output under the trees' cover distribution, ndarray of shape (n_outputs,)."""
        e = self.ensemble
        return e.base_offset + e.value[e.tree_start[:-1]].sum(axis=0)

    def _ensure_tables(self, n_rows: int) -> PathTables:
        """Tables for the leaves that repay them over all rows explained so far (added to as that grows)."""
        layout = self.layout
        with self._lock:
            self.rows_explained += n_rows
            cut = min(worth_d(self.rows_explained), MAX_TABLE_D)
            current = self._tables
            if current is None or cut > current.table_d:
                self._tables = self._grow_tables(layout, current, cut)
                logger.info(self._tables.note)
            return self._tables

    def _grow_tables(self, layout: dict[str, np.ndarray], current: PathTables | None, cut: int) -> PathTables:
        """New tables holding ``current``'s (copied, so calls reading them are undisturbed) plus new leaves'."""
        leaf_d = layout["leaf_d"]
        existing = None if current is None else (current.table_start, current.table_kind, current.n_entries)
        table_start, table_kind, n_entries = plan_tables(leaf_d, cut, self.table_budget_bytes, existing)
        old = current.table[:current.n_entries] if current is not None else np.zeros(0)
        table = np.concatenate([old, np.zeros(max(n_entries - len(old), 1))])
        new = (table_kind > 0) & (table_start >= len(old))
        fill_path_tables(np.flatnonzero(new), leaf_d, layout["path_start"], layout["path_zero"], table_start,
                         table_kind, table, layout["w1"], self.ensemble.value, layout["leaf_output"])
        note = self._describe_tables(leaf_d, table_kind, n_entries, cut)
        return PathTables(table_start, table_kind, table, cut, n_entries, note)

    def _describe_tables(self, leaf_d: np.ndarray, table_kind: np.ndarray, n_entries: int, cut: int) -> str:
        leaves = leaf_d > 0
        n_leaves = int(leaves.sum())
        tabled = int((table_kind > 0).sum())
        size = format_bytes(n_entries * 8)
        if tabled == n_leaves:
            return f"FastTreeSHAP-v2 path tables for all {n_leaves} leaves ({size})"
        deferred = int((leaves & (leaf_d > cut) & (leaf_d <= MAX_TABLE_D)).sum())
        too_big = n_leaves - tabled - deferred
        reasons = []
        if too_big:
            reasons.append(
                f"{too_big} with paths of up to {int(leaf_d.max())} distinct features, whose 2^d tables would not "
                f"fit in memory (at most {MAX_TABLE_D} features, {format_bytes(self.table_budget_bytes)})"
            )
        if deferred:
            reasons.append(
                f"{deferred} whose tables would not repay their cost over the {self.rows_explained} rows explained "
                "so far"
            )
        return (f"FastTreeSHAP-v2 path tables for {tabled} of {n_leaves} leaves ({size}); the other "
                f"{n_leaves - tabled} leaves use the v1 recurrence: " + "; ".join(reasons))

    # ------------------------------------------------------------------ values
    def _common_args(self) -> tuple:
        e = self.ensemble
        layout = self.layout
        paths = (layout["slot_code"], layout["leaf_d"], layout["path_start"], layout["path_feature"],
                 layout["path_zero"], layout["internal"], layout["internal_start"], layout["leaves"],
                 layout["leaf_start"])
        return e.node_arrays(), e.value, e.tree_start, e.tree_output, layout["tree_max_d"], paths

    def _sizes(self, bytes_per_row: int) -> tuple[int, int, int, int]:
        layout = self.layout
        block = int(np.clip(BLOCK_BYTES // max(bytes_per_row, 1), 4, 1024))
        return self.ensemble.max_depth, int(layout["max_d"]), int(layout["max_tree_nodes"]), block

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """SHAP values, ndarray of shape (n_rows, n_features, n_outputs), in the ensemble's output space.

        Parameters
        ----------
        X : ndarray of shape (n_rows, n_features)
        """
        return self.shap_values_and_notes(X)[0]

    def shap_values_and_notes(self, X: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """:meth:`shap_values` and the notes of this call (numpy rows, tables used)."""
        e = self.ensemble
        rows = e.cast_rows(X)
        phi = np.zeros((rows.shape[0], e.n_features, e.n_outputs))
        done = self._numpy_values(rows, phi)
        notes = [numpy_note(done, rows.shape[0])] if done else []
        if done < rows.shape[0]:
            tables = self._compiled_values(rows[done:], phi[done:])
            notes.extend([tables.note] if tables.note else [])
        return phi, notes

    def compiled_shap_values(self, X: np.ndarray) -> np.ndarray:
        """:meth:`shap_values` with the compiled kernels only (compiling them if needed)."""
        e = self.ensemble
        rows = e.cast_rows(X)
        phi = np.zeros((rows.shape[0], e.n_features, e.n_outputs))
        self._compiled_values(rows, phi)
        return phi

    def _numpy_values(self, rows: np.ndarray, phi: np.ndarray) -> int:
        """Explain leading row chunks with numpy until the compiled kernels are ready; rows done."""
        if _tree_warmup.ready("path"):
            return 0
        if not self._numpy.usable:  # too large for the numpy layout: the compile is the faster way
            _tree_warmup.wait("path")
            return 0
        paths = self._numpy.get()
        done = 0
        for start, stop in path_dependent_chunks(self.ensemble, paths, rows):
            if start and _tree_warmup.ready("path"):
                break
            path_dependent_values(self.ensemble, paths, rows[start:stop], phi[start:stop], self._numpy.w1)
            done = stop
        return done

    def _compiled_values(self, rows: np.ndarray, phi: np.ndarray) -> PathTables:
        e = self.ensemble
        tables = self._ensure_tables(rows.shape[0])
        for start, stop in row_chunks(rows.shape[0], e.n_features * e.n_outputs * 8):
            shap_path_dependent(rows[start:stop], phi[start:stop], n_chunks(stop - start), *self._common_args(),
                                (tables.table_start, tables.table_kind, tables.table, self.layout["leaf_output"]),
                                self.layout["w1"], self._sizes(e.n_features * e.n_outputs * 8))
        return tables

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
                              *self._common_args(), self.layout["w1"], self.layout["w2"], self._sizes(m * m * k * 8))
        return phi, inter
