"""Compiled path-dependent TreeSHAP (numba), leaf by leaf.

For one row and one leaf ``l``, path-dependent TreeSHAP (Lundberg et al. 2020) explains the product game
``g(S) = v_l * prod_{j in P} (o_j if j in S else z_j)`` over the distinct features ``P`` on the root-to-leaf
path (``d = |P|`` of them), where ``o_j`` is 1 when the row follows every split on ``j`` along the path and
``z_j`` is the product of the cover fractions of those splits. With ``A = {j : o_j = 1}``,
``Z = prod_{j not in A} z_j`` and ``G(B) = sum_{S subset of B} w(|S|, d) prod_{j in B \\ S} z_j``
(``w(s, d) = s! (d-s-1)! / d!``), the Shapley values of the leaf game are

* ``phi_i = v (1 - z_i) Z G(A \\ {i})`` for ``i`` in ``A``;
* ``phi_i = -v Z G(A)`` for ``i`` not in ``A``.

``G`` depends on the row only through the bit pattern ``A``. When a leaf's ``2^d`` values of ``G`` fit in the
memory budget they are computed once per model (the idea of FastTreeSHAP v2, Yang 2021), and a row costs
``O(d)`` per leaf; otherwise ``G`` comes from the path polynomial ``prod_{j in A} (z_j + t)`` and synthetic
division, ``O(d^2)`` per leaf like the original algorithm (v1). SHAP interaction values use the same
decomposition with the interaction weights ``s! (d-s-2)! / (2 (d-1)!)``.

Rows run in parallel (``prange`` over row chunks); each tree is walked depth first with an explicit stack
that also restores the per-feature ``o`` flags when it leaves a subtree.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "goes_left",
    "ensemble_predict",
    "path_layout",
    "shapley_weights",
    "interaction_weights",
    "fill_path_tables",
    "shap_path_dependent",
    "shap_interactions",
]

_EXIT = -1


# ---------------------------------------------------------------------------------------------- basics
@njit(cache=True, nogil=True, inline="always")
def goes_left(x, node, threshold, flags, cat_start, cat_len, cat_bits):  # noqa: D103 (see module doc)
    flag = flags[node]
    if x != x:
        return (flag & 1) != 0
    if flag & 4:
        if x < 0.0:
            return False
        category = int(x)
        word = category >> 5
        if word >= cat_len[node]:
            return False
        return ((cat_bits[cat_start[node] + word] >> np.uint32(category & 31)) & np.uint32(1)) != 0
    if (flag & 2) and -1e-35 <= x <= 1e-35:
        return (flag & 1) != 0
    return x <= threshold[node]


@njit(cache=True, nogil=True, parallel=True)
def ensemble_predict(X, out, children_left, children_right, feature, threshold, flags, cat_start, cat_len,
                     cat_bits, value, tree_start, tree_output):
    """Add every tree's leaf value for each row of X into ``out`` (n_rows, n_outputs)."""
    n_trees = len(tree_start) - 1
    for row in prange(X.shape[0]):
        for t in range(n_trees):
            node = tree_start[t]
            while children_left[node] >= 0:
                if goes_left(X[row, feature[node]], node, threshold, flags, cat_start, cat_len, cat_bits):
                    node = children_left[node]
                else:
                    node = children_right[node]
            k_only = tree_output[t]
            if k_only >= 0:
                out[row, k_only] += value[node, k_only]
            else:
                for k in range(value.shape[1]):
                    out[row, k] += value[node, k]


# ---------------------------------------------------------------------------------------------- layout
@njit(cache=True)
def _walk_paths(children_left, children_right, feature, cover, tree_start, n_features, max_depth, fill,
                slot_code, leaf_d, path_start, path_feature, path_zero):
    slot_of = np.full(n_features, -1, np.int64)
    unique_feature = np.zeros(max_depth + 1, np.int64)
    unique_zero = np.zeros(max_depth + 1)
    edge_feature = np.zeros(max_depth + 1, np.int64)
    edge_ratio = np.zeros(max_depth + 1)
    cap = 2 * max_depth + 4
    stack_node = np.zeros(cap, np.int64)
    stack_depth = np.zeros(cap, np.int64)
    stack_feature = np.zeros(cap, np.int64)
    stack_ratio = np.zeros(cap)
    for t in range(len(tree_start) - 1):
        sp = 1
        stack_node[0] = tree_start[t]
        stack_depth[0] = 0
        while sp > 0:
            sp -= 1
            node = stack_node[sp]
            depth = stack_depth[sp]
            if depth > 0:
                edge_feature[depth - 1] = stack_feature[sp]
                edge_ratio[depth - 1] = stack_ratio[sp]
            count = 0
            for e in range(depth):
                f = edge_feature[e]
                s = slot_of[f]
                if s < 0:
                    slot_of[f] = count
                    unique_feature[count] = f
                    unique_zero[count] = edge_ratio[e]
                    count += 1
                else:
                    unique_zero[s] *= edge_ratio[e]
            left = children_left[node]
            if left < 0:
                leaf_d[node] = count
                if fill:
                    start = path_start[node]
                    for s in range(count):
                        path_feature[start + s] = unique_feature[s]
                        path_zero[start + s] = unique_zero[s]
            else:
                f = feature[node]
                s = slot_of[f]
                slot_code[node] = 2 * s if s >= 0 else 2 * count + 1
                parent_cover = cover[node]
                right = children_right[node]
                stack_node[sp] = right
                stack_depth[sp] = depth + 1
                stack_feature[sp] = f
                stack_ratio[sp] = cover[right] / parent_cover if parent_cover > 0 else 0.0
                stack_node[sp + 1] = left
                stack_depth[sp + 1] = depth + 1
                stack_feature[sp + 1] = f
                stack_ratio[sp + 1] = cover[left] / parent_cover if parent_cover > 0 else 0.0
                sp += 2
            for s in range(count):
                slot_of[unique_feature[s]] = -1


def path_layout(ensemble, max_depth: int) -> dict[str, np.ndarray]:
    """Per-node facts the kernels share, computed once per model.

    Returns
    -------
    dict
        ``slot_code`` (n_nodes,): ``2 * slot + is_new`` of an internal node's feature in its root path;
        ``leaf_d`` (n_nodes,): distinct features on a leaf's path (-1 for internal nodes);
        ``path_start`` (n_nodes,): where a leaf's path features and zero fractions start in
        ``path_feature`` / ``path_zero`` (flat, ordered by first occurrence on the path).
    """
    n = ensemble.n_nodes
    slot_code = np.full(n, -1, np.int32)
    leaf_d = np.full(n, -1, np.int32)
    path_start = np.full(n, -1, np.int64)
    empty_i, empty_f = np.zeros(0, np.int32), np.zeros(0)
    args = (ensemble.children_left, ensemble.children_right, ensemble.feature, ensemble.cover,
            ensemble.tree_start, ensemble.n_features, max_depth)
    _walk_paths(*args, False, slot_code, leaf_d, path_start, empty_i, empty_f)
    leaves = leaf_d >= 0
    sizes = np.where(leaves, leaf_d, 0).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    path_start[leaves] = starts[leaves]
    total = int(sizes.sum())
    path_feature = np.zeros(total, np.int32)
    path_zero = np.zeros(total)
    _walk_paths(*args, True, slot_code, leaf_d, path_start, path_feature, path_zero)
    return {"slot_code": slot_code, "leaf_d": leaf_d, "path_start": path_start,
            "path_feature": path_feature, "path_zero": path_zero}


def shapley_weights(max_d: int) -> np.ndarray:
    """``w[d, s] = s! (d-s-1)! / d!`` for ``0 <= s < d`` (0 elsewhere), ndarray of shape (max_d+2, max_d+2)."""
    w = np.zeros((max_d + 2, max_d + 2))
    for d in range(1, max_d + 2):
        for s in range(d):
            w[d, s] = 1.0 / (d * math.comb(d - 1, s))
    return w


def interaction_weights(max_d: int) -> np.ndarray:
    """``w[d, s] = s! (d-s-2)! / (2 (d-1)!)`` for ``0 <= s <= d-2`` (0 elsewhere), shape (max_d+2, max_d+2)."""
    w = np.zeros((max_d + 2, max_d + 2))
    for d in range(2, max_d + 2):
        for s in range(d - 1):
            w[d, s] = 1.0 / (2.0 * (d - 1) * math.comb(d - 2, s))
    return w


@njit(cache=True, nogil=True)
def _fill_g(zero, d, w1, g):
    """g[B] = G(B) = sum_{S subset of B} w(|S|, d) prod_{j in B \\ S} z_j for every bit pattern B of d bits."""
    # level l decides bit d-1-l; polys[l] = prod over decided bits in the pattern of (z + t)
    polys = np.zeros((d + 1, d + 2))
    polys[0, 0] = 1.0
    for pattern in range(1 << d):
        first = 0
        if pattern > 0:
            low = 0
            while not (pattern >> low) & 1:
                low += 1
            first = d - 1 - low
        for level in range(first, d):
            bit = d - 1 - level
            if (pattern >> bit) & 1:
                z = zero[bit]
                polys[level + 1, 0] = z * polys[level, 0]
                for u in range(1, level + 2):
                    polys[level + 1, u] = z * polys[level, u] + polys[level, u - 1]
            else:
                for u in range(level + 2):
                    polys[level + 1, u] = polys[level, u]
        total = 0.0
        for u in range(d):
            total += w1[d, u] * polys[d, u]
        g[pattern] = total


@njit(cache=True, parallel=True)
def fill_path_tables(leaves, leaf_d, path_start, path_zero, table_start, table_kind, table, w1, value, leaf_output):
    """Fill each leaf's table.

    ``table_kind`` 1 (compact): ``table[start + A] = G(A)`` for every bit pattern A of the path's features.
    ``table_kind`` 2 (expanded): ``table[start + A * d + s]`` = the SHAP value of path feature s for pattern A
    (times the leaf value when the leaf adds to one output, ``leaf_output >= 0``).
    """
    for i in prange(len(leaves)):
        node = leaves[i]
        kind = table_kind[node]
        if kind == 0:
            continue
        d = leaf_d[node]
        size = 1 << d
        start = table_start[node]
        zero = path_zero[path_start[node]:path_start[node] + d]
        if kind == 1:
            _fill_g(zero, d, w1, table[start:start + size])
            continue
        g = np.empty(size)
        _fill_g(zero, d, w1, g)
        # zc[A] = product of z over the path features not in A
        zc = np.empty(size)
        zc[size - 1] = 1.0
        for pattern in range(size - 2, -1, -1):
            low = 0
            while (pattern >> low) & 1:
                low += 1
            zc[pattern] = zc[pattern | (1 << low)] * zero[low]
        k = leaf_output[node]
        scale = value[node, k] if k >= 0 else 1.0
        for pattern in range(size):
            out_coef = -zc[pattern] * g[pattern] * scale
            for s in range(d):
                if (pattern >> s) & 1:
                    table[start + pattern * d + s] = (1.0 - zero[s]) * zc[pattern] * g[pattern ^ (1 << s)] * scale
                else:
                    table[start + pattern * d + s] = out_coef


# ---------------------------------------------------------------------------------------------- leaf maths
# Kernels take grouped tuples (numba cannot inline calls of more than 30 arguments):
#   nodes   = (children_left, children_right, feature, threshold, flags, cat_start, cat_len, cat_bits)
#   paths   = (slot_code, leaf_d, path_start, path_feature, path_zero, internal, internal_start, leaves, leaf_start)
#             (internal / leaves: per-tree lists of internal nodes and of leaves with d > 0, in index order)
#   tables  = (table_start, table_kind, table, leaf_output)
#   scratch = (ones, patterns, stack_node, stack_slot, stack_val, poly, quotient)
@njit(cache=True, nogil=True, inline="always")
def _add(phi_row, f, coef, value, node, k_only):
    if k_only >= 0:
        phi_row[f, k_only] += coef * value[node, k_only]
    else:
        for k in range(value.shape[1]):
            phi_row[f, k] += coef * value[node, k]


@njit(cache=True, nogil=True, inline="always")
def _path_poly(ones, zero, start, d, poly):
    """Fill poly with prod_{j in A} (z_j + t); return (|A|, prod_{j not in A} z_j)."""
    poly[0] = 1.0
    a = 0
    zc = 1.0
    for s in range(d):
        z = zero[start + s]
        if ones[s]:
            poly[a + 1] = poly[a]
            for u in range(a, 0, -1):
                poly[u] = poly[u - 1] + z * poly[u]
            poly[0] = z * poly[0]
            a += 1
        else:
            zc *= z
    return a, zc


@njit(cache=True, nogil=True, inline="always")
def _weighted_quotient(poly, a, z, w):
    """sum_u w[u] q[u] where q = poly / (z + t) (poly of degree a, top-down synthetic division)."""
    q = poly[a]
    g = w[a - 1] * q
    for u in range(a - 1, 0, -1):
        q = poly[u] - z * q
        g += w[u - 1] * q
    return g


@njit(cache=True, nogil=True, inline="always")
def _leaf_from_table(phi_row, node, d, pattern, value, k_only, paths, tables):
    path_start, path_feature, path_zero = paths[2], paths[3], paths[4]
    table_start, table_kind, table, leaf_output = tables
    start = path_start[node]
    ts = table_start[node]
    if table_kind[node] == 2:
        base = ts + pattern * d
        k = leaf_output[node]
        if k >= 0:
            for s in range(d):
                phi_row[path_feature[start + s], k] += table[base + s]
        else:
            for s in range(d):
                _add(phi_row, path_feature[start + s], table[base + s], value, node, k_only)
        return
    zc = 1.0
    for s in range(d):
        z = path_zero[start + s]
        zc *= z + ((pattern >> s) & 1) * (1.0 - z)
    out_coef = -zc * table[ts + pattern]
    for s in range(d):
        on = (pattern >> s) & 1
        in_coef = (1.0 - path_zero[start + s]) * zc * table[ts + (pattern ^ (1 << s))]
        _add(phi_row, path_feature[start + s], in_coef if on else out_coef, value, node, k_only)


@njit(cache=True, nogil=True, inline="always")
def _leaf_direct(phi_row, node, d, ones, value, k_only, paths, w1, poly):
    path_start, path_feature, path_zero = paths[2], paths[3], paths[4]
    start = path_start[node]
    a, zc = _path_poly(ones, path_zero, start, d, poly)
    wd = w1[d]
    g_all = 0.0
    for u in range(a + 1):
        g_all += wd[u] * poly[u]
    for s in range(d):
        if ones[s]:
            z = path_zero[start + s]
            coef = (1.0 - z) * zc * _weighted_quotient(poly, a, z, wd)
        else:
            coef = -zc * g_all
        _add(phi_row, path_feature[start + s], coef, value, node, k_only)


@njit(cache=True, nogil=True, inline="always")
def _add_pair(inter_row, fi, fj, coef, value, node, k_only):
    if k_only >= 0:
        inter_row[fi, fj, k_only] += coef * value[node, k_only]
        inter_row[fj, fi, k_only] += coef * value[node, k_only]
    else:
        for k in range(value.shape[1]):
            inter_row[fi, fj, k] += coef * value[node, k]
            inter_row[fj, fi, k] += coef * value[node, k]


@njit(cache=True, nogil=True, inline="always")
def _leaf_interactions(phi_row, inter_row, node, d, ones, value, k_only, paths, w1, w2, poly, quotient):
    path_start, path_feature, path_zero = paths[2], paths[3], paths[4]
    start = path_start[node]
    a, zc = _path_poly(ones, path_zero, start, d, poly)
    w1d = w1[d]
    w2d = w2[d]
    g1_all = 0.0
    g2_all = 0.0
    for u in range(a + 1):
        g1_all += w1d[u] * poly[u]
        g2_all += w2d[u] * poly[u]
    for s in range(d):
        fs = path_feature[start + s]
        if not ones[s]:
            _add(phi_row, fs, -zc * g1_all, value, node, k_only)
            for r in range(s + 1, d):
                if not ones[r]:
                    _add_pair(inter_row, fs, path_feature[start + r], zc * g2_all, value, node, k_only)
            continue
        zs = path_zero[start + s]
        # quotient = poly / (z_s + t), degree a-1
        quotient[a - 1] = poly[a]
        for u in range(a - 1, 0, -1):
            quotient[u - 1] = poly[u] - zs * quotient[u]
        g1 = 0.0
        g2 = 0.0
        for u in range(a):
            g1 += w1d[u] * quotient[u]
            g2 += w2d[u] * quotient[u]
        _add(phi_row, fs, (1.0 - zs) * zc * g1, value, node, k_only)
        for r in range(d):
            if r == s:
                continue
            fr = path_feature[start + r]
            if not ones[r]:
                _add_pair(inter_row, fs, fr, -(1.0 - zs) * zc * g2, value, node, k_only)
            elif r > s:
                zr = path_zero[start + r]
                g2_pair = _weighted_quotient(quotient, a - 1, zr, w2d)
                _add_pair(inter_row, fs, fr, (1.0 - zs) * (1.0 - zr) * zc * g2_pair, value, node, k_only)


@njit(cache=True, nogil=True, inline="always")
def _leaf(phi_row, inter_row, node, d, pattern, use_pattern, value, k_only, paths, tables, w1, w2, scratch,
          interactions):
    ones, poly, quotient = scratch[0], scratch[5], scratch[6]
    if use_pattern:
        if not interactions and tables[1][node] != 0:
            _leaf_from_table(phi_row, node, d, pattern, value, k_only, paths, tables)
            return
        for s in range(d):
            ones[s] = (pattern >> s) & 1
    if interactions:
        _leaf_interactions(phi_row, inter_row, node, d, ones, value, k_only, paths, w1, w2, poly, quotient)
    else:
        _leaf_direct(phi_row, node, d, ones, value, k_only, paths, w1, poly)


# ---------------------------------------------------------------------------------------------- tree walks
@njit(cache=True, nogil=True, inline="always")
def _tree_scan(x, phi_row, inter_row, t, first, k_only, nodes, value, paths, tables, w1, w2, scratch, interactions):
    """One tree: internal nodes in index order (parents first) carry each node's bit pattern of o flags down,
    then each leaf is explained from its pattern. Valid when every path has at most 62 distinct features.
    """
    children_left, children_right, feature, threshold, flags, cat_start, cat_len, cat_bits = nodes
    slot_code, leaf_d = paths[0], paths[1]
    internal, internal_start, leaves, leaf_start = paths[5], paths[6], paths[7], paths[8]
    patterns = scratch[1]
    patterns[0] = 0
    for j in range(internal_start[t], internal_start[t + 1]):
        node = internal[j]
        pattern = patterns[node - first]
        code = slot_code[node]
        bit = np.int64(1) << (code >> 1)
        # branch-free: the split direction is data, not control flow (it is unpredictable);
        # a new feature's bit starts at 1 on the row's side, a repeated one keeps its value there
        go = -np.int64(goes_left(x[feature[node]], node, threshold, flags, cat_start, cat_len, cat_bits))
        on = pattern | (bit & -np.int64(code & 1))
        off = pattern & ~bit
        patterns[children_left[node] - first] = (on & go) | (off & ~go)
        patterns[children_right[node] - first] = (off & go) | (on & ~go)
    for j in range(leaf_start[t], leaf_start[t + 1]):
        node = leaves[j]
        _leaf(phi_row, inter_row, node, leaf_d[node], patterns[node - first], True, value, k_only, paths, tables,
              w1, w2, scratch, interactions)


@njit(cache=True, nogil=True, inline="always")
def _tree_walk(x, phi_row, inter_row, root, k_only, nodes, value, paths, tables, w1, w2, scratch, interactions):
    """One tree, depth first with an explicit stack that restores o flags on leaving a subtree (any depth)."""
    children_left, children_right, feature, threshold, flags, cat_start, cat_len, cat_bits = nodes
    slot_code, leaf_d = paths[0], paths[1]
    ones, stack_node, stack_slot, stack_val = scratch[0], scratch[2], scratch[3], scratch[4]
    sp = 1
    stack_node[0] = root
    stack_slot[0] = -1
    stack_val[0] = 0
    while sp > 0:
        sp -= 1
        node = stack_node[sp]
        s = stack_slot[sp]
        val = stack_val[sp]
        if node == _EXIT:
            ones[s] = val
            continue
        if s >= 0 and ones[s] != val:
            stack_node[sp] = _EXIT
            stack_slot[sp] = s
            stack_val[sp] = ones[s]
            sp += 1
            ones[s] = val
        left = children_left[node]
        if left < 0:
            d = leaf_d[node]
            if d > 0:
                _leaf(phi_row, inter_row, node, d, 0, False, value, k_only, paths, tables, w1, w2, scratch,
                      interactions)
            continue
        code = slot_code[node]
        slot = code >> 1
        gl = goes_left(x[feature[node]], node, threshold, flags, cat_start, cat_len, cat_bits)
        if code & 1:
            left_val = 1 if gl else 0
            right_val = 1 - left_val
        else:
            current = ones[slot]
            left_val = current if gl else 0
            right_val = 0 if gl else current
        stack_node[sp] = children_right[node]
        stack_slot[sp] = slot
        stack_val[sp] = right_val
        stack_node[sp + 1] = left
        stack_slot[sp + 1] = slot
        stack_val[sp + 1] = left_val
        sp += 2


@njit(cache=True, nogil=True, inline="always")
def _explain_rows(X, phi, inter, lo, hi, nodes, value, tree_start, tree_output, tree_max_d, paths, tables, w1, w2,
                  sizes, interactions):
    """Rows lo..hi in blocks; within a block, tree by tree, so each tree's nodes and tables stay in cache."""
    max_depth, max_d, max_tree_nodes, block = sizes
    n_trees = len(tree_start) - 1
    cap = 3 * max_depth + 6
    scratch = (np.zeros(max_d + 2, np.int8), np.zeros(max_tree_nodes, np.int64), np.zeros(cap, np.int64),
               np.zeros(cap, np.int64), np.zeros(cap, np.int8), np.zeros(max_d + 3), np.zeros(max_d + 3))
    for block_start in range(lo, hi, block):
        block_end = min(block_start + block, hi)
        for t in range(n_trees):
            first = tree_start[t]
            k_only = tree_output[t]
            scan = tree_max_d[t] <= 62
            for row in range(block_start, block_end):
                inter_row = inter[row if interactions else 0]
                if scan:
                    _tree_scan(X[row], phi[row], inter_row, t, first, k_only, nodes, value, paths, tables, w1, w2,
                               scratch, interactions)
                else:
                    _tree_walk(X[row], phi[row], inter_row, first, k_only, nodes, value, paths, tables, w1, w2,
                               scratch, interactions)
        if interactions:
            n_features = phi.shape[1]
            for row in range(block_start, block_end):
                for i in range(n_features):
                    for k in range(phi.shape[2]):
                        off = 0.0
                        for j in range(n_features):
                            if j != i:
                                off += inter[row, i, j, k]
                        inter[row, i, i, k] = phi[row, i, k] - off


@njit(cache=True, nogil=True, parallel=True)
def shap_path_dependent(X, phi, n_chunks, nodes, value, tree_start, tree_output, tree_max_d, paths, tables, w1,
                        sizes):
    """Add path-dependent SHAP values of each row of X into phi (n_rows, n_features, n_outputs).

    ``nodes``, ``paths`` and ``tables`` are the tuples described above; ``sizes`` is
    ``(max_depth, max_d, max_tree_nodes, rows_per_block)``. Rows are split into ``n_chunks`` chunks run in
    parallel.
    """
    n_rows = X.shape[0]
    no_inter = np.zeros((1, 1, 1, 1))
    for c in prange(n_chunks):
        _explain_rows(X, phi, no_inter, c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks, nodes, value,
                      tree_start, tree_output, tree_max_d, paths, tables, w1, w1, sizes, False)


@njit(cache=True, nogil=True, parallel=True)
def shap_interactions(X, phi, inter, n_chunks, nodes, value, tree_start, tree_output, tree_max_d, paths, w1, w2,
                      sizes):
    """Path-dependent SHAP values (phi) and SHAP interaction values (inter) of each row of X.

    ``inter`` has shape (n_rows, n_features, n_features, n_outputs); its diagonal holds the main effects
    ``phi_i - sum_{j != i} inter_ij``, so each row of ``inter`` sums to ``phi``.
    """
    n_rows = X.shape[0]
    n_nodes = len(nodes[0])
    no_tables = (np.full(n_nodes, -1, np.int64), np.zeros(n_nodes, np.int8), np.zeros(1),
                 np.full(n_nodes, -1, np.int32))
    for c in prange(n_chunks):
        _explain_rows(X, phi, inter, c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks, nodes, value, tree_start,
                      tree_output, tree_max_d, paths, no_tables, w1, w2, sizes, True)
