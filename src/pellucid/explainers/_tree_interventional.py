"""Interventional TreeSHAP against a weighted background, compiled with numba.

For a row ``x``, a background row ``z`` and a leaf ``l`` with distinct path features ``P`` (``d`` of them),
let ``X`` be the features on which ``x`` satisfies all of the path's splits and ``Z`` the same for ``z``.
The hybrid row (``x`` on a coalition ``S``, ``z`` elsewhere) reaches ``l`` exactly when ``S`` contains
``X \\ Z``, avoids ``Z \\ X`` and ``X | Z = P``, so the leaf's game is a unanimity game with Shapley values

* ``+v (a-1)! b! / (a+b)!`` for each feature in ``X \\ Z`` (``a`` of them),
* ``-v a! (b-1)! / (a+b)!`` for each feature in ``Z \\ X`` (``b`` of them).

Given ``x``, the background rows only enter through the weights of their patterns ``Z``. Binning the
background by pattern once per leaf (``2^d`` bins) and taking graded superset sums turns the average over the
background into three lookups per leaf, ``P[N]``, ``M[N]`` and ``R[N | i]`` with ``N = P \\ X``:

* feature ``i`` not in ``X``: ``-v M[N]``;  feature ``i`` in ``X``: ``v (P[N] - R[N | {i}])``,

so a row costs ``O(d)`` per leaf whatever the background size. Trees whose leaves would need too large
tables fall back to walking each (row, background row) pair through the tree (Lundberg et al. 2020,
Algorithm 3), which costs ``O(background * visited nodes)`` per row.

Until the compiled kernels are loaded (see :mod:`._tree_warmup`), rows are explained with
:func:`._tree_numpy.interventional_values`; the tables are built at construction when the kernels are
ready, else on the first compiled call, once, under a lock (one engine may serve many threads).
"""

from __future__ import annotations

import logging
import math
import threading

import numpy as np
from numba import njit, prange

from pellucid._locks import LockedPickling
from pellucid.explainers import _tree_warmup
from pellucid.explainers._tree_engine import (
    BLOCK_BYTES,
    format_bytes,
    n_chunks,
    node_lists,
    numpy_note,
    row_chunks,
)
from pellucid.explainers._tree_ensemble import TreeEnsemble
from pellucid.explainers._tree_numpy import (
    LazyLeafPaths,
    background_patterns,
    interventional_chunks,
    interventional_usable,
    interventional_values,
)
from pellucid.explainers._tree_shap_numba import goes_left, path_layout

__all__ = ["InterventionalEngine", "INTERVENTIONAL_BUDGET_BYTES", "MAX_INTERVENTIONAL_TABLE_D"]

logger = logging.getLogger(__name__)

#: Memory allowed for the per-leaf background tables of one model (bytes).
INTERVENTIONAL_BUDGET_BYTES = 256 * 2**20
#: Trees with a leaf path of more distinct features than this walk (row, background row) pairs instead.
MAX_INTERVENTIONAL_TABLE_D = 14
#: Largest (leaf, feature) x background size of the numpy path's per-background flags; larger wait for the kernels.
MAX_NUMPY_BACKGROUND_CELLS = 50_000_000
_EXIT = -1


def unanimity_weights(max_d: int) -> tuple[np.ndarray, np.ndarray]:
    """``wx[a, b] = (a-1)! b! / (a+b)!`` (a >= 1) and ``wz[a, b] = a! (b-1)! / (a+b)!`` (b >= 1)."""
    wx = np.zeros((max_d + 2, max_d + 2))
    wz = np.zeros((max_d + 2, max_d + 2))
    for a in range(max_d + 2):
        for b in range(max_d + 2 - a):
            if a >= 1:
                wx[a, b] = 1.0 / (a * math.comb(a + b, a))
            if b >= 1:
                wz[a, b] = 1.0 / (b * math.comb(a + b, b))
    return wx, wz


# ---------------------------------------------------------------------------------------------- tables
# Kernels take grouped tuples:
#   nodes = (children_left, children_right, feature, threshold, flags, cat_start, cat_len, cat_bits)
#   paths = (slot_code, leaf_d, path_start, path_feature, internal, internal_start, leaves, leaf_start)
@njit(cache=True, nogil=True, inline="always")
def _scan_patterns(x, t, first, nodes, paths, patterns):
    """Bit pattern of satisfied path features at every node of tree t (internal nodes, parents first)."""
    children_left, children_right, feature, threshold, flags, cat_start, cat_len, cat_bits = nodes
    slot_code, internal, internal_start = paths[0], paths[4], paths[5]
    patterns[0] = 0
    for j in range(internal_start[t], internal_start[t + 1]):
        node = internal[j]
        pattern = patterns[node - first]
        code = slot_code[node]
        bit = np.int64(1) << (code >> 1)
        go = -np.int64(goes_left(x[feature[node]], node, threshold, flags, cat_start, cat_len, cat_bits))
        on = pattern | (bit & -np.int64(code & 1))
        off = pattern & ~bit
        patterns[children_left[node] - first] = (on & go) | (off & ~go)
        patterns[children_right[node] - first] = (off & go) | (on & ~go)


@njit(cache=True, nogil=True, parallel=True)
def background_histograms(B, weights, tree_ids, tree_start, nodes, paths, table_start, tables, max_tree_nodes):
    """Add each background row's weight to the bin of its pattern, for every leaf of the given trees."""
    leaves, leaf_start = paths[6], paths[7]
    for i in prange(len(tree_ids)):
        t = tree_ids[i]
        first = tree_start[t]
        patterns = np.zeros(max_tree_nodes, np.int64)
        for r in range(B.shape[0]):
            _scan_patterns(B[r], t, first, nodes, paths, patterns)
            for j in range(leaf_start[t], leaf_start[t + 1]):
                node = leaves[j]
                tables[table_start[node] + patterns[node - first]] += weights[r]


@njit(cache=True, nogil=True)
def _popcount(v):
    count = 0
    while v:
        v &= v - 1
        count += 1
    return count


@njit(cache=True, parallel=True)
def fill_interventional_tables(leaves, leaf_d, table_start, tables, wx, wz):
    """Turn each leaf's pattern histogram into its P, M and R tables (stored one after the other)."""
    for i in prange(len(leaves)):
        node = leaves[i]
        d = leaf_d[node]
        start = table_start[node]
        size = 1 << d
        graded = np.zeros((size, d + 1))
        for pattern in range(size):
            graded[pattern, _popcount(pattern)] = tables[start + pattern]
        for bit in range(d):
            step = 1 << bit
            for subset in range(size):
                if not subset & step:
                    for s in range(d + 1):
                        graded[subset, s] += graded[subset | step, s]
        for subset in range(size):
            b = _popcount(subset)
            p_value = 0.0
            m_value = 0.0
            r_value = 0.0
            for s in range(b, d + 1):
                mass = graded[subset, s]
                if mass == 0.0:
                    continue
                a = d - s
                if a >= 1:
                    p_value += mass * wx[a, b]
                    if b >= 1:
                        r_value += mass * wx[a, b - 1]
                if b >= 1:
                    m_value += mass * wz[a, b]
            tables[start + subset] = p_value
            tables[start + size + subset] = m_value
            tables[start + 2 * size + subset] = r_value


# ---------------------------------------------------------------------------------------------- rows
@njit(cache=True, nogil=True, inline="always")
def _add(phi_row, f, coef, value, node, k_only):
    if k_only >= 0:
        phi_row[f, k_only] += coef * value[node, k_only]
    else:
        for k in range(value.shape[1]):
            phi_row[f, k] += coef * value[node, k]


@njit(cache=True, nogil=True, inline="always")
def _tree_from_tables(x, phi_row, t, first, k_only, nodes, value, paths, table_start, tables, patterns):
    leaf_d, path_start, path_feature, leaves, leaf_start = paths[1], paths[2], paths[3], paths[6], paths[7]
    _scan_patterns(x, t, first, nodes, paths, patterns)
    for j in range(leaf_start[t], leaf_start[t + 1]):
        node = leaves[j]
        d = leaf_d[node]
        pattern = patterns[node - first]
        size = 1 << d
        missing = (size - 1) & ~pattern
        ts = table_start[node]
        p_value = tables[ts + missing]
        m_value = tables[ts + size + missing]
        start = path_start[node]
        for s in range(d):
            if (pattern >> s) & 1:
                coef = p_value - tables[ts + 2 * size + (missing | (1 << s))]
            else:
                coef = -m_value
            _add(phi_row, path_feature[start + s], coef, value, node, k_only)


@njit(cache=True, nogil=True, inline="always")
def _tree_pairs(x, z, weight, phi_row, root, k_only, children_left, children_right, feature, threshold, flags,
                cat_start, cat_len, cat_bits, value, wx, wz, side_of, decided, decided_side, stack_node,
                stack_feature, stack_side):
    """One (row, background row) pair walked through one tree (any depth)."""
    sp = 1
    stack_node[0] = root
    stack_feature[0] = -1
    n_decided = 0
    n_x = 0
    n_z = 0
    while sp > 0:
        sp -= 1
        node = stack_node[sp]
        f = stack_feature[sp]
        side = stack_side[sp]
        if node == _EXIT:
            side_of[f] = 0
            n_decided -= 1
            if side == 1:
                n_x -= 1
            else:
                n_z -= 1
            continue
        if f >= 0:
            side_of[f] = side
            decided[n_decided] = f
            decided_side[n_decided] = side
            n_decided += 1
            if side == 1:
                n_x += 1
            else:
                n_z += 1
            stack_node[sp] = _EXIT
            stack_feature[sp] = f
            stack_side[sp] = side
            sp += 1
        left = children_left[node]
        if left < 0:
            if n_decided > 0:
                plus = weight * wx[n_x, n_z]
                minus = -weight * wz[n_x, n_z]
                for i in range(n_decided):
                    _add(phi_row, decided[i], plus if decided_side[i] == 1 else minus, value, node, k_only)
            continue
        split = feature[node]
        x_left = goes_left(x[split], node, threshold, flags, cat_start, cat_len, cat_bits)
        z_left = goes_left(z[split], node, threshold, flags, cat_start, cat_len, cat_bits)
        x_child = left if x_left else children_right[node]
        if x_left == z_left or side_of[split] == 1:
            stack_node[sp] = x_child
            stack_feature[sp] = -1
            sp += 1
            continue
        z_child = left if z_left else children_right[node]
        if side_of[split] == 2:
            stack_node[sp] = z_child
            stack_feature[sp] = -1
            sp += 1
            continue
        stack_node[sp] = z_child
        stack_feature[sp] = split
        stack_side[sp] = 2
        stack_node[sp + 1] = x_child
        stack_feature[sp + 1] = split
        stack_side[sp + 1] = 1
        sp += 2


@njit(cache=True, nogil=True, parallel=True)
def shap_interventional(X, phi, n_chunks, block, B, weights, tree_has_table, nodes, value, tree_start, tree_output,
                        paths, tables, wx, wz, max_depth, max_tree_nodes):
    """Add interventional SHAP values of each row of X (against background B with weights) into phi.

    ``nodes = (children_left, children_right, feature, threshold, flags, cat_start, cat_len, cat_bits)``,
    ``paths`` as above, ``tables = (table_start, table)``. Rows run in
    ``n_chunks`` parallel chunks, each in blocks of ``block`` rows explained tree by tree.
    """
    children_left, children_right, feature, threshold, flags, cat_start, cat_len, cat_bits = nodes
    table_start, table = tables
    n_rows = X.shape[0]
    n_trees = len(tree_start) - 1
    n_features = X.shape[1]
    for c in prange(n_chunks):
        patterns = np.zeros(max_tree_nodes, np.int64)
        side_of = np.zeros(n_features, np.int8)
        decided = np.zeros(max_depth + 2, np.int64)
        decided_side = np.zeros(max_depth + 2, np.int8)
        cap = 3 * max_depth + 6
        stack_node = np.zeros(cap, np.int64)
        stack_feature = np.zeros(cap, np.int64)
        stack_side = np.zeros(cap, np.int8)
        lo = c * n_rows // n_chunks
        hi = (c + 1) * n_rows // n_chunks
        for block_start in range(lo, hi, block):
            block_end = min(block_start + block, hi)
            for t in range(n_trees):
                for row in range(block_start, block_end):
                    if tree_has_table[t]:
                        _tree_from_tables(X[row], phi[row], t, tree_start[t], tree_output[t], nodes, value, paths,
                                          table_start, table, patterns)
                    else:
                        for r in range(B.shape[0]):
                            _tree_pairs(X[row], B[r], weights[r], phi[row], tree_start[t], tree_output[t],
                                        children_left, children_right, feature, threshold, flags, cat_start, cat_len,
                                        cat_bits, value, wx, wz, side_of, decided, decided_side, stack_node,
                                        stack_feature, stack_side)


# ---------------------------------------------------------------------------------------------- engine
class InterventionalEngine(LockedPickling):
    """Interventional TreeSHAP of one ensemble against one weighted background.

    Parameters
    ----------
    ensemble : TreeEnsemble
    background : ndarray of shape (n_background, n_features)
    weights : ndarray of shape (n_background,)
        Row weights summing to 1.
    budget_bytes : int
        Memory for the per-leaf background tables.

    Attributes
    ----------
    expected_value : ndarray of shape (n_outputs,)
        Weighted mean of the ensemble's output over the background.
    notes : list of str
        Which trees use tables and which walk background pairs (once the tables are built).
    """

    def __init__(self, ensemble: TreeEnsemble, background: np.ndarray, weights: np.ndarray, *,
                 budget_bytes: int = INTERVENTIONAL_BUDGET_BYTES) -> None:
        self.ensemble = ensemble
        self.background = ensemble.cast_rows(background)
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.budget_bytes = budget_bytes
        self.expected_value = self.weights @ ensemble.predict(self.background)
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._arrays: tuple | None = None
        self._numpy = LazyLeafPaths(ensemble)
        self._background_patterns: list | None = None
        if _tree_warmup.ready("interventional"):
            self._compiled_arrays()


    def _compiled_arrays(self) -> tuple:
        """The compiled kernels' tables and layout, built once (under the lock) and never changed."""
        if self._arrays is None:
            with self._lock:
                if self._arrays is None:
                    self._arrays = self._build_tables(self.budget_bytes)
        return self._arrays

    def _build_tables(self, budget_bytes: int) -> tuple:
        e = self.ensemble
        layout = path_layout(e, e.max_depth)
        leaf_d = layout["leaf_d"]
        tree_max_d = np.maximum.reduceat(leaf_d, e.tree_start[:-1])
        leaves = leaf_d >= 0
        entries = np.where(leaves, 3 * (np.int64(1) << np.clip(leaf_d, 0, 62)), 0)
        tree_entries = np.add.reduceat(entries, e.tree_start[:-1])
        eligible = np.flatnonzero(tree_max_d <= MAX_INTERVENTIONAL_TABLE_D)
        order = eligible[np.argsort(tree_entries[eligible], kind="stable")]
        chosen = order[np.cumsum(tree_entries[order]) * 8 <= budget_bytes]
        has_table = np.zeros(e.n_trees, np.bool_)
        has_table[chosen] = True
        node_has_table = np.repeat(has_table, np.diff(e.tree_start)) & leaves
        sizes = np.where(node_has_table, entries, 0)
        table_start = np.where(node_has_table, np.cumsum(sizes) - sizes, -1).astype(np.int64)
        tables = np.zeros(max(int(sizes.sum()), 1))
        max_tree_nodes = int(np.diff(e.tree_start).max())
        layout.update(node_lists(e, leaf_d))
        paths = (layout["slot_code"], leaf_d, layout["path_start"], layout["path_feature"], layout["internal"],
                 layout["internal_start"], layout["leaves"], layout["leaf_start"])
        background_histograms(self.background, self.weights, np.sort(chosen).astype(np.int64), e.tree_start,
                              e.node_arrays(), paths, table_start, tables, max_tree_nodes)
        wx, wz = unanimity_weights(int(leaf_d.max(initial=0)))
        fill_interventional_tables(np.flatnonzero(node_has_table), leaf_d, table_start, tables, wx, wz)
        arrays = (has_table, paths, table_start, tables, wx, wz, max_tree_nodes)
        if len(chosen) == e.n_trees:
            note = (f"interventional TreeSHAP with background tables for all {e.n_trees} trees "
                    f"({format_bytes(tables.nbytes)}): the cost per row does not grow with the background")
        else:
            note = (f"interventional TreeSHAP with background tables for {len(chosen)} of {e.n_trees} trees "
                    f"({format_bytes(tables.nbytes)}); the other {e.n_trees - len(chosen)} trees (paths with up to "
                    f"{int(tree_max_d.max())} distinct features) walk each of the {len(self.weights)} background "
                    "rows")
        self.notes.append(note)
        logger.info(note)
        return arrays

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """Interventional SHAP values, ndarray of shape (n_rows, n_features, n_outputs).

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
            self._compiled_values(rows[done:], phi[done:])
            notes.extend(self.notes)
        return phi, notes

    def compiled_shap_values(self, X: np.ndarray) -> np.ndarray:
        """:meth:`shap_values` with the compiled kernels only (compiling them if needed)."""
        e = self.ensemble
        rows = e.cast_rows(X)
        phi = np.zeros((rows.shape[0], e.n_features, e.n_outputs))
        self._compiled_values(rows, phi)
        return phi

    def _numpy_usable(self) -> bool:
        if not self._numpy.usable:
            return False
        from pellucid.explainers._tree_numpy import path_edges

        return path_edges(self.ensemble) * len(self.weights) <= MAX_NUMPY_BACKGROUND_CELLS \
            and interventional_usable(self._numpy.get())

    def _numpy_values(self, rows: np.ndarray, phi: np.ndarray) -> int:
        """Explain leading row chunks with numpy until the compiled kernels are ready; rows done."""
        if _tree_warmup.ready("interventional"):
            return 0
        if not self._numpy_usable():
            _tree_warmup.wait("interventional")
            return 0
        e = self.ensemble
        paths = self._numpy.get()
        if self._background_patterns is None:
            with self._lock:
                if self._background_patterns is None:
                    self._background_patterns = background_patterns(paths, paths.follows(e, self.background))
        wx, wz = unanimity_weights(self._numpy.max_d)
        done = 0
        for start, stop in interventional_chunks(paths, rows, len(self.weights)):
            if start and _tree_warmup.ready("interventional"):
                break
            interventional_values(e, paths, rows[start:stop], self._background_patterns, self.weights,
                                  phi[start:stop], wx, wz)
            done = stop
        return done

    def _compiled_values(self, rows: np.ndarray, phi: np.ndarray) -> None:
        e = self.ensemble
        has_table, paths, table_start, tables, wx, wz, max_tree_nodes = self._compiled_arrays()
        bytes_per_row = e.n_features * e.n_outputs * 8
        block = int(np.clip(BLOCK_BYTES // bytes_per_row, 4, 1024))
        for start, stop in row_chunks(rows.shape[0], bytes_per_row):
            shap_interventional(rows[start:stop], phi[start:stop], n_chunks(stop - start), block, self.background,
                                self.weights, has_table, e.node_arrays(), e.value, e.tree_start, e.tree_output, paths,
                                (table_start, tables), wx, wz, e.max_depth, max_tree_nodes)
