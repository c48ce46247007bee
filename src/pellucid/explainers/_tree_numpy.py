"""TreeSHAP in plain numpy, vectorised over leaves and rows: answers while the compiled kernels build.

Compiling pellucid's numba kernels takes tens of seconds in a process whose compile cache is empty (a fresh
install, a container, a CI job, a new worker). Until they are ready (see :mod:`._tree_warmup`), the engines
explain rows with the functions here, which need no compilation and give the same values (exact TreeSHAP,
equal up to floating-point rounding). They cost more per row, so they are meant for the first calls only.

The maths is the leaf-by-leaf form of :mod:`._tree_shap_numba` (path dependent) and
:mod:`._tree_interventional` (interventional). Leaves are grouped by ``d``, their number of distinct path
features, so each group is a dense block: ``(leaves, d, rows)`` flags "the row follows every split on this
feature along the path", from which the path polynomial, its quotients and the Shapley coefficients are
computed with array operations.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from pellucid._locks import LockedPickling
from pellucid.explainers._tree_ensemble import CATEGORICAL, DEFAULT_LEFT, ZERO_MISSING, TreeEnsemble

__all__ = ["node_depths", "fill_node_means", "goes_left", "predict", "LeafPaths", "leaf_paths",
           "path_edges", "path_dependent_values", "background_patterns", "interventional_usable",
           "interventional_values", "MAX_PATH_EDGES"]

#: Largest number of (leaf, ancestor) edges for which the numpy path is used; bigger models wait for the
#: compiled kernels (their numpy layout would cost more than it saves).
MAX_PATH_EDGES = 4_000_000
#: Memory for the temporary (leaves x rows x d) blocks of one row chunk (bytes).
BLOCK_BUDGET_BYTES = 48 * 2**20


# ---------------------------------------------------------------------------------------------- nodes
def node_depths(children_left: np.ndarray, children_right: np.ndarray, tree_start: np.ndarray) -> np.ndarray:
    """Edges from the root to each node, ndarray of shape (n_nodes,), computed level by level."""
    depth = np.zeros(len(children_left), np.int64)
    frontier = np.asarray(tree_start[:-1], dtype=np.int64)
    level = 0
    while frontier.size:
        depth[frontier] = level
        internal = frontier[children_left[frontier] >= 0]
        frontier = np.concatenate([children_left[internal], children_right[internal]]).astype(np.int64)
        level += 1
    return depth


def fill_node_means(children_left: np.ndarray, children_right: np.ndarray, cover: np.ndarray, value: np.ndarray,
                    tree_start: np.ndarray) -> None:
    """Set each internal node's value to the cover-weighted mean of its children's, in place, deepest first."""
    depth = node_depths(children_left, children_right, tree_start)
    internal = np.flatnonzero(children_left >= 0)
    order = internal[np.argsort(-depth[internal], kind="stable")]
    levels = depth[order]
    bounds = np.flatnonzero(np.diff(levels)) + 1
    for nodes in np.split(order, bounds):
        left, right = children_left[nodes], children_right[nodes]
        parent_cover = cover[nodes][:, None]
        total = cover[left][:, None] * value[left] + cover[right][:, None] * value[right]
        value[nodes] = np.divide(total, parent_cover, out=np.zeros_like(total), where=parent_cover > 0)


def goes_left(ensemble: TreeEnsemble, node: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Split decisions of the numba kernels' ``goes_left``, vectorised.

    Parameters
    ----------
    node : ndarray of shape (n,)
        Internal nodes.
    x : ndarray of shape (n,) or (n, n_rows)
        The split feature's value for each node (and row).

    Returns
    -------
    ndarray of bool, shaped like ``x``
    """
    extra = (slice(None),) + (None,) * (x.ndim - 1)
    flags = ensemble.flags[node]
    default_left = ((flags & DEFAULT_LEFT) != 0)[extra]
    left = x <= ensemble.threshold[node][extra]
    zero_missing = ((flags & ZERO_MISSING) != 0)[extra] & (np.abs(x) <= 1e-35)
    left = np.where(zero_missing, default_left, left)
    categorical = (flags & CATEGORICAL) != 0
    if categorical.any():
        cat_node = node[categorical]
        cat_x = x[categorical]
        n_words = ensemble.cat_len[cat_node][extra].astype(np.int64)
        inside = (cat_x >= 0) & (cat_x < n_words * 32)  # NaN compares False; its default comes below
        category = np.where(inside, cat_x, 0).astype(np.int64)
        word = np.where(inside, ensemble.cat_start[cat_node][extra] + (category >> 5), 0)
        bits = ensemble.cat_bits[word].astype(np.int64) if len(ensemble.cat_bits) else np.zeros_like(word)
        left[categorical] = inside & (((bits >> (category & 31)) & 1) != 0)
    return np.where(np.isnan(x), default_left, left)


def predict(ensemble: TreeEnsemble, rows: np.ndarray) -> np.ndarray:
    """Sum of the trees (no base offset) for float64 rows, ndarray of shape (n_rows, n_outputs)."""
    e = ensemble
    node = np.repeat(e.tree_start[:-1][None, :], rows.shape[0], axis=0)
    while True:
        row, tree = np.nonzero(e.children_left[node] >= 0)
        if not row.size:
            break
        at = node[row, tree]
        left = goes_left(e, at, rows[row, e.feature[at]])
        node[row, tree] = np.where(left, e.children_left[at], e.children_right[at])
    out = np.zeros((rows.shape[0], e.n_outputs))
    for t in range(e.n_trees):  # tree by tree, as the compiled kernel adds them
        k = e.tree_output[t]
        if k >= 0:
            out[:, k] += e.value[node[:, t], k]
        else:
            out += e.value[node[:, t]]
    return out


# ---------------------------------------------------------------------------------------------- leaf paths
@dataclass(frozen=True)
class PathGroup:
    """Leaves with the same number ``d`` of distinct path features, as dense (leaves, d) blocks."""

    d: int
    leaves: np.ndarray  # (n_leaves,) node ids
    feature: np.ndarray  # (n_leaves, d) path features
    zero: np.ndarray  # (n_leaves, d) product of the cover fractions of the path's splits on each feature
    values: np.ndarray  # (n_leaves, n_outputs) the leaf values each leaf adds (0 for outputs its tree skips)
    first: int  # the group's first row in LeafPaths' (leaf, feature) order


@dataclass(frozen=True)
class LeafPaths:
    """Per-leaf path facts of an ensemble, independent of the rows explained (built once, never changed).

    Rows of :meth:`follows` are (leaf, feature) pairs in the groups' order. ``internal`` lists the split
    nodes on any path; each pair's first split is ``internal[first_split]`` (the row follows it when the
    split's decision equals ``first_left``); pairs whose feature is split on again further down the path list
    those splits in ``repeats``, one (pairs, splits, left) triple per repetition.
    """

    internal: np.ndarray
    first_split: np.ndarray
    first_left: np.ndarray
    repeats: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    groups: tuple[PathGroup, ...]
    n_outputs: int

    def follows(self, ensemble: TreeEnsemble, rows: np.ndarray) -> np.ndarray:
        """ndarray of bool of shape (n_leaf_features, n_rows): the row follows every split on the feature."""
        decisions = goes_left(ensemble, self.internal, rows[:, ensemble.feature[self.internal]].T)
        follow = decisions[self.first_split] == self.first_left[:, None]
        for pairs, splits, left in self.repeats:
            follow[pairs] &= decisions[splits] == left[:, None]
        return follow


def path_edges(ensemble: TreeEnsemble) -> int:
    """Number of (leaf, ancestor) edges: the size of :func:`leaf_paths`' layout."""
    e = ensemble
    depth = node_depths(e.children_left, e.children_right, e.tree_start)
    return int(depth[e.children_left < 0].sum())


def leaf_paths(ensemble: TreeEnsemble) -> LeafPaths:
    """Group every leaf's root path by feature: the numpy counterpart of the kernels' ``path_layout``."""
    e = ensemble
    internal = np.flatnonzero(e.children_left >= 0)
    parent = np.full(e.n_nodes, -1, np.int64)
    parent[e.children_left[internal]] = internal
    parent[e.children_right[internal]] = internal
    leaves = np.flatnonzero(e.children_left < 0)
    leaf_pos, child, current = [], [], np.arange(len(leaves))
    node = leaves.astype(np.int64)
    while node.size:  # climb all leaves' paths together, one level per step
        up = parent[node]
        keep = up >= 0
        current, node, up = current[keep], node[keep], up[keep]
        leaf_pos.append(current)
        child.append(node)
        node = up
    pos = np.concatenate(leaf_pos) if leaf_pos else np.zeros(0, np.int64)
    edge_child = np.concatenate(child) if child else np.zeros(0, np.int64)
    edge_parent = parent[edge_child]
    key = pos * e.n_features + e.feature[edge_parent]
    sort = np.argsort(key, kind="stable")
    key, pos, edge_child, edge_parent = key[sort], pos[sort], edge_child[sort], edge_parent[sort]
    starts = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if len(key) else np.zeros(0, np.int64)
    parent_cover = e.cover[edge_parent]
    ratio = np.divide(e.cover[edge_child], parent_cover, out=np.zeros(len(edge_child)), where=parent_cover > 0)
    zero = np.multiply.reduceat(ratio, starts) if len(starts) else np.zeros(0)
    group_pos = pos[starts]
    group_feature = e.feature[edge_parent[starts]]
    d = np.bincount(group_pos, minlength=len(leaves))
    order = np.argsort(d[group_pos], kind="stable")  # by d, then leaf, then feature
    tree_of_leaf = np.searchsorted(e.tree_start, leaves, side="right") - 1
    tree_output = e.tree_output[tree_of_leaf]
    leaf_values = e.value[leaves].copy()
    single = tree_output >= 0
    mask = np.zeros_like(leaf_values, dtype=np.bool_)
    mask[np.flatnonzero(single), tree_output[single]] = True
    leaf_values[single] = np.where(mask[single], leaf_values[single], 0.0)
    groups, first = [], 0
    sorted_d = d[group_pos[order]]
    for size in np.unique(sorted_d):
        count = int((sorted_d == size).sum())
        members = order[first:first + count]
        group_leaves = group_pos[members[::size]]
        groups.append(PathGroup(
            d=int(size), leaves=leaves[group_leaves], feature=group_feature[members].reshape(-1, size),
            zero=zero[members].reshape(-1, size), values=leaf_values[group_leaves], first=first,
        ))
        first += count
    # splits in the groups' order: each pair's first edge, then its repeated features' edges rank by rank
    internal_nodes, split_of_edge = np.unique(edge_parent, return_inverse=True)
    edge_left = e.children_left[edge_parent] == edge_child
    pair_of_edge = np.cumsum(np.concatenate([[False], key[1:] != key[:-1]])) if len(key) else key
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    pair = position[pair_of_edge]
    rank = np.arange(len(key)) - starts[pair_of_edge] if len(key) else key
    repeats = tuple((pair[rank == r], split_of_edge[rank == r], edge_left[rank == r])
                    for r in range(1, int(rank.max(initial=0)) + 1))
    return LeafPaths(internal=internal_nodes, first_split=split_of_edge[starts][order],
                     first_left=edge_left[starts][order], repeats=repeats, groups=tuple(groups),
                     n_outputs=e.n_outputs)


# ---------------------------------------------------------------------------------------------- values
def _add_values(phi: np.ndarray, group: PathGroup, coef: np.ndarray) -> None:
    """phi[r, feature[l, s], k] += coef[l, r, s] * values[l, k]."""
    n_rows, n_features, n_outputs = phi.shape
    rows = np.arange(n_rows)[None, :, None]
    index = (rows * n_features + group.feature[:, None, :]).ravel()
    for k in range(n_outputs):
        leaf_value = group.values[:, k]
        if not leaf_value.any():
            continue
        weights = (coef * leaf_value[:, None, None]).ravel()
        phi[:, :, k] += np.bincount(index, weights=weights, minlength=n_rows * n_features).reshape(n_rows, n_features)


def _row_step(paths: LeafPaths, per_leaf_row: int) -> int:
    n_cells = sum(len(g.leaves) * (g.d + 2) for g in paths.groups) * per_leaf_row
    return max(1, BLOCK_BUDGET_BYTES // max(n_cells * 8, 1))


def path_dependent_values(ensemble: TreeEnsemble, paths: LeafPaths, rows: np.ndarray, phi: np.ndarray,
                          w1: np.ndarray) -> None:
    """Add path-dependent SHAP values of ``rows`` into ``phi`` (n_rows, n_features, n_outputs).

    ``w1[d, u] = u! (d-u-1)! / d!`` (:func:`._tree_shap_numba.shapley_weights`).
    """
    follows = paths.follows(ensemble, rows)
    for group in paths.groups:
        d = group.d
        ones = follows[group.first:group.first + len(group.leaves) * d].reshape(-1, d, rows.shape[0])
        zero = group.zero
        # zc[l, r] = product of z over the path features the row does not follow
        zc = np.where(ones, 1.0, zero[:, :, None]).prod(axis=1)
        # poly[u, l, r]: coefficients of prod over followed features of (z + t)
        poly = np.zeros((d + 1,) + zc.shape)
        poly[0] = 1.0
        for s in range(d):
            grown = zero[:, s, None] * poly
            grown[1:] += poly[:-1]
            poly = np.where(ones[:, s, :], grown, poly)
        w = w1[d, :d + 1]
        g_all = np.tensordot(w, poly, axes=1)
        # G(A \ {s}) for every s at once: poly divided by (z_s + t), top down
        z_s = zero.T[:, :, None]
        quotient = np.broadcast_to(poly[d], (d,) + zc.shape)
        g_without = w[d - 1] * quotient
        for u in range(d - 1, 0, -1):
            quotient = poly[u] - z_s * quotient
            g_without = g_without + w[u - 1] * quotient
        on = ones.transpose(1, 0, 2)
        coef = np.where(on, (1.0 - z_s) * zc * g_without, -zc * g_all)  # (d, leaves, rows)
        _add_values(phi, group, coef.transpose(1, 2, 0))


def path_dependent_chunks(ensemble: TreeEnsemble, paths: LeafPaths, rows: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) row chunks whose temporary blocks fit in BLOCK_BUDGET_BYTES."""
    step = _row_step(paths, 6 + max((g.d for g in paths.groups), default=0))
    return [(start, min(start + step, rows.shape[0])) for start in range(0, rows.shape[0], step)]


def background_patterns(paths: LeafPaths, background_follows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group: the bit pattern of path features each background row does not follow, (leaves, background)
    int64, and their number. Needs every ``d <= 62`` (see :func:`interventional_usable`)."""
    n_background = background_follows.shape[1]
    patterns = []
    for group in paths.groups:
        d = group.d
        ones_z = background_follows[group.first:group.first + len(group.leaves) * d].reshape(-1, d, n_background)
        patterns.append((_bit_pattern(~ones_z), d - ones_z.sum(axis=1, dtype=np.int64)))
    return patterns


def _bit_pattern(flags: np.ndarray) -> np.ndarray:
    """(leaves, d, n) bool -> (leaves, n) int64 with bit s set where flags[:, s] (d <= 62)."""
    pattern = np.zeros((flags.shape[0], flags.shape[2]), np.int64)
    for s in range(flags.shape[1]):
        pattern |= flags[:, s, :].astype(np.int64) << s
    return pattern


def interventional_usable(paths: LeafPaths) -> bool:
    """True when every leaf's path features fit the 62-bit patterns of :func:`interventional_values`."""
    return all(group.d <= 62 for group in paths.groups)


def interventional_values(ensemble: TreeEnsemble, paths: LeafPaths, rows: np.ndarray,
                          patterns: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray, phi: np.ndarray,
                          wx: np.ndarray, wz: np.ndarray) -> None:
    """Add interventional SHAP values of ``rows`` against the weighted background into ``phi``.

    For a leaf, a row and a background row, the hybrid reaches the leaf exactly when every path feature the
    background row does not follow (its pattern ``N``, :func:`background_patterns`) is followed by the row;
    then the ``a = |N|`` features in ``N`` get ``+v wx[a, b]`` and the ``b`` features the row does not follow
    ``-v wz[a, b]`` (see :mod:`._tree_interventional`). Only the (leaf, row, background row) triples that
    reach the leaf are summed.
    """
    follows = paths.follows(ensemble, rows)
    n_rows = rows.shape[0]
    for group, (missing_z, off_z) in zip(paths.groups, patterns):
        d, n_leaves = group.d, len(group.leaves)
        ones_x = follows[group.first:group.first + n_leaves * d].reshape(-1, d, n_rows)
        followed_x = _bit_pattern(ones_x)  # (leaves, rows)
        off_x = d - ones_x.sum(axis=1, dtype=np.int64)
        leaf, row, background = np.nonzero((missing_z[:, None, :] & ~followed_x[:, :, None]) == 0)
        a, b = off_z[leaf, background], off_x[leaf, row]
        weight = weights[background]
        cell = leaf * n_rows + row
        size = n_leaves * n_rows
        minus = np.bincount(cell, weights=weight * wz[a, b], minlength=size).reshape(n_leaves, n_rows)
        plus_weight = weight * wx[a, b]
        missing = missing_z[leaf, background]
        plus = np.empty((n_leaves, n_rows, d))
        for s in range(d):
            plus[:, :, s] = np.bincount(cell, weights=plus_weight * ((missing >> s) & 1),
                                        minlength=size).reshape(n_leaves, n_rows)
        coef = np.where(ones_x.transpose(0, 2, 1), plus, -minus[:, :, None])
        _add_values(phi, group, coef)


def interventional_chunks(paths: LeafPaths, rows: np.ndarray, n_background: int) -> list[tuple[int, int]]:
    """(start, stop) row chunks whose (leaves, rows, background) blocks fit in BLOCK_BUDGET_BYTES."""
    per_row = sum(len(g.leaves) * (2 * n_background + 2 * g.d + 4) for g in paths.groups)
    step = max(1, BLOCK_BUDGET_BYTES // max(per_row * 8, 1))
    return [(start, min(start + step, rows.shape[0])) for start in range(0, rows.shape[0], step)]


class LazyLeafPaths(LockedPickling):
    """:func:`leaf_paths` of one ensemble, built once on first use (thread safe)."""

    def __init__(self, ensemble: TreeEnsemble) -> None:
        self.ensemble = ensemble
        self._lock = threading.Lock()
        self._paths: LeafPaths | None = None
        self._usable: bool | None = None
        self._w1: np.ndarray | None = None


    @property
    def usable(self) -> bool:
        """False when the model is too large for the numpy path (more than MAX_PATH_EDGES edges)."""
        if self._usable is None:
            self._usable = path_edges(self.ensemble) <= MAX_PATH_EDGES
        return self._usable

    def get(self) -> LeafPaths:
        """The layout, built on first call."""
        if self._paths is None:
            with self._lock:
                if self._paths is None:
                    self._paths = leaf_paths(self.ensemble)
        return self._paths

    @property
    def max_d(self) -> int:
        """Most distinct features on one leaf's path."""
        return max((group.d for group in self.get().groups), default=0)

    @property
    def w1(self) -> np.ndarray:
        """Shapley weights up to :attr:`max_d` (see ``shapley_weights``)."""
        if self._w1 is None:
            from pellucid.explainers._tree_shap_numba import shapley_weights

            self._w1 = shapley_weights(self.max_d)
        return self._w1
