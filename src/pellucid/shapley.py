"""Shared Shapley arithmetic: kernel weights, coalitions, and the constrained weighted least squares.

Kernel SHAP writes the Shapley values of a game ``v`` over ``M`` players as the solution of

    minimise  sum_S k(S) (v(S) - v(empty) - sum_{i in S} phi_i)^2   subject to   sum_i phi_i = v(all) - v(empty)

over the proper, non-empty coalitions ``S``, with the Shapley kernel ``k(S) = (M - 1) / (C(M, |S|) |S| (M - |S|))``.
Summed over all coalitions the solution is exactly the Shapley values; over a weighted sample of coalitions it
is an estimate. This module holds the pieces every Shapley-based explainer shares:

* :func:`kernel_mass` and :func:`kernel_weights`: the kernel, per coalition size and per coalition;
* :func:`all_coalitions`, :func:`coalitions_of_size`: exact enumeration as boolean masks;
* :class:`CoalitionPlan`: which coalitions to evaluate for a budget. Coalition sizes are grouped in *strata*
  ``t = min(s, M - s)``; a stratum whose every coalition fits the budget is enumerated, the others are
  sampled in complementary pairs (``S`` and its complement), without replacement, with a fixed number of
  pairs per stratum (stratified sampling), and can be extended round by round;
* :func:`solve_shapley_regression`: the constrained weighted least squares for many rows and outputs at
  once, with one factorisation per distinct set of active players, and a standard error per value from the
  linearised estimator (the sampled pairs' influence, stratum by stratum).

All functions are vectorised over coalitions, rows and outputs; loops run over coalition sizes only.
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass, field
from itertools import chain, combinations

import numpy as np

from pellucid.errors import ArgumentError

__all__ = [
    "kernel_mass",
    "kernel_weights",
    "all_coalitions",
    "coalitions_of_size",
    "CoalitionPlan",
    "ShapleyRegression",
    "solve_shapley_regression",
    "allocate",
    "fill_synthetic",
    "enumerated_coalitions",
    "ALLOCATIONS",
]

#: How the sampled budget is spread over strata: ``"kernel"`` in proportion to the kernel's mass (like shap),
#: ``"uniform"`` the same for every coalition size (the leverage scores of the regression, Musco & Witter 2024),
#: ``"sqrt"`` in proportion to the square root of the kernel mass (between the two).
ALLOCATIONS = ("kernel", "uniform", "sqrt")

# Above this many players exact enumeration is never attempted (2**M coalitions would not fit in memory).
MAX_ENUMERATED_PLAYERS = 30


def kernel_mass(n_players: int) -> np.ndarray:
    """Total Shapley-kernel weight of all coalitions of each size.

    Parameters
    ----------
    n_players : int
        Number of players ``M``.

    Returns
    -------
    ndarray of shape (M + 1,)
        ``(M - 1) / (s (M - s))`` for sizes ``s = 1 .. M-1``; 0 for the empty and the full coalition.
    """
    sizes = np.arange(n_players + 1, dtype=np.float64)
    mass = np.zeros(n_players + 1)
    inner = slice(1, n_players)
    mass[inner] = (n_players - 1) / (sizes[inner] * (n_players - sizes[inner]))
    return mass


def kernel_weights(n_players: int, sizes: np.ndarray) -> np.ndarray:
    """Shapley-kernel weight of single coalitions of the given sizes, ``k(S) = mass(|S|) / C(M, |S|)``.

    Parameters
    ----------
    n_players : int
        Number of players ``M``.
    sizes : ndarray of int, shape (n_coalitions,)
        Coalition sizes, each in ``1 .. M-1``.

    Returns
    -------
    ndarray of shape (n_coalitions,)
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    counts = np.array([math.comb(n_players, int(s)) for s in range(n_players + 1)], dtype=np.float64)
    return kernel_mass(n_players)[sizes] / counts[sizes]


def all_coalitions(n_players: int, *, proper: bool = True) -> np.ndarray:
    """Every coalition of ``n_players`` as a boolean mask, in binary counting order.

    Parameters
    ----------
    n_players : int
        Number of players ``M`` (at most 30).
    proper : bool, default True
        Leave out the empty and the full coalition.

    Returns
    -------
    ndarray of bool, shape (2**M - 2, M) or (2**M, M)
        Row ``r`` holds coalition ``r`` (``r + 1`` when ``proper``): player ``j`` is in it when bit ``j`` is set.
    """
    if n_players > MAX_ENUMERATED_PLAYERS:
        raise ArgumentError(
            f"enumerating all coalitions needs at most {MAX_ENUMERATED_PLAYERS} players; found {n_players}"
        )
    codes = np.arange(1, 2**n_players - 1) if proper else np.arange(2**n_players)
    return ((codes[:, None] >> np.arange(n_players)) & 1).astype(bool)


def coalitions_of_size(n_players: int, size: int) -> np.ndarray:
    """Every coalition of exactly ``size`` players, as boolean masks of shape (C(M, size), M)."""
    count = math.comb(n_players, size)
    members = np.fromiter(chain.from_iterable(combinations(range(n_players), size)), dtype=np.int64,
                          count=count * size).reshape(count, size)
    masks = np.zeros((count, n_players), dtype=bool)
    np.put_along_axis(masks, members, True, axis=1)
    return masks


def fill_synthetic(
    masks: np.ndarray, owner: np.ndarray, rows: np.ndarray, background: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Synthetic rows: each row's values inside each coalition, its background row's values outside.

    ``out[q * n_rows + r] = where(masks[q], rows[r], background[owner[q]])`` (coalition-major, so the model's
    outputs reshape to (n_coalitions, n_rows, n_outputs) without a copy).

    Parameters
    ----------
    masks : ndarray of bool, shape (n_coalitions, M)
    owner : ndarray of int, shape (n_coalitions,)
        Background row of each coalition.
    rows : ndarray of shape (n_rows, M)
        Explained rows (float64 or object).
    background : ndarray of shape (n_background, M)
    out : ndarray of shape (n_coalitions * n_rows, M), optional
        Buffer to fill (float64 data only).

    Returns
    -------
    ndarray of shape (n_coalitions * n_rows, M)
    """
    n_coalitions, n_players = masks.shape
    if rows.dtype == object or background.dtype == object:
        synthetic = np.where(masks[:, None, :], rows[None, :, :], background[owner][:, None, :])
        return synthetic.astype(object, copy=False).reshape(-1, n_players)
    if out is None:
        out = np.empty((rows.shape[0] * n_coalitions, n_players))
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    background = np.ascontiguousarray(background, dtype=np.float64)
    # A bitwise select on the float bits is exact for every value (NaN and inf included) and vectorises.
    _select_kernel()(
        np.ascontiguousarray(masks).view(np.uint8), np.ascontiguousarray(owner, dtype=np.int64),
        rows.view(np.int64), background.view(np.int64), out.view(np.int64),
    )
    return out


def _select_rows(masks, owner, rows, background, out):  # pragma: no cover - compiled by numba
    n_rows, n_players = rows.shape
    n_coalitions = masks.shape[0]
    for q in range(n_coalitions):
        base = background[owner[q]]
        inside = masks[q]
        for r in range(n_rows):
            x = rows[r]
            target = out[q * n_rows + r]
            for j in range(n_players):
                bits = -np.int64(inside[j])
                target[j] = (x[j] & bits) | (base[j] & ~bits)


@functools.cache
def _select_kernel():  # numba is imported (and the kernel compiled, or read from its cache) on first use
    numba = importlib.import_module("numba")
    return numba.njit(cache=True, nogil=True)(_select_rows)


def _coalition_keys(masks: np.ndarray) -> np.ndarray:
    """One sortable key per coalition: an int64 code (M <= 62) or rows of uint64 words."""
    n_players = masks.shape[1]
    if n_players <= 62:
        return masks.astype(np.int64) @ (np.int64(1) << np.arange(n_players, dtype=np.int64))
    packed = np.packbits(masks, axis=1)
    padded = np.zeros((masks.shape[0], -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(np.uint64)


def _stratum_sizes(n_players: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strata ``t = 1 .. floor(M/2)``: their kernel mass, number of distinct pairs, and coalitions per pair."""
    strata = np.arange(1, n_players // 2 + 1)
    mass = kernel_mass(n_players)
    middle = 2 * strata == n_players
    stratum_mass = np.where(middle, mass[strata], 2 * mass[strata])
    combos = np.array([math.comb(n_players, int(t)) for t in strata], dtype=np.float64)
    n_pairs = np.where(middle, combos / 2, combos)
    return stratum_mass, n_pairs, np.full(len(strata), 2)


@dataclass
class CoalitionPlan:
    """The coalitions to evaluate for a game of ``n_players``, built and extended round by round.

    Strata ``t = 1 .. floor(M/2)`` hold the coalitions of sizes ``t`` and ``M - t``. A stratum is either
    enumerated (all its coalitions, exact kernel weights) or sampled in complementary pairs without
    replacement; a sampled coalition of stratum ``t`` weighs ``mass_t / (2 n_t)`` for ``n_t`` sampled pairs,
    so every stratum keeps its exact share of the kernel (stratified sampling). When all ``2**M - 2``
    coalitions fit the budget, all are enumerated and the regression gives exact Shapley values.

    Parameters
    ----------
    n_players : int
        Number of players ``M`` (at least 2).
    allocation : {"kernel", "uniform", "sqrt"} or ndarray of shape (floor(M/2),)
        Share of the sampled budget each stratum gets (see :data:`ALLOCATIONS`), or explicit shares.
    seed : int or numpy Generator
        Randomness of the sampled pairs.

    Attributes
    ----------
    masks : ndarray of bool, shape (n_coalitions, M)
        The planned coalitions, in adjacent complementary pairs: row ``2i + 1`` is the complement of row
        ``2i`` (both have the same kernel weight).
    stratum : ndarray of int, shape (n_coalitions,)
        Stratum index (``t - 1``) of each coalition.
    enumerated : ndarray of bool, shape (floor(M/2),)
        Strata that are fully enumerated.
    pairs_sampled : ndarray of int, shape (floor(M/2),)
        Number of sampled pairs per stratum.
    """

    n_players: int
    allocation: str | np.ndarray = "kernel"
    seed: int | np.random.Generator = 0
    masks: np.ndarray = field(init=False)
    stratum: np.ndarray = field(init=False)
    enumerated: np.ndarray = field(init=False)
    pairs_sampled: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.n_players < 2:
            raise ArgumentError(f"a coalition plan needs at least 2 players; found {self.n_players}")
        self._rng = np.random.default_rng(self.seed)
        self._stratum_mass, self._stratum_pairs, _ = _stratum_sizes(self.n_players)
        n_strata = len(self._stratum_mass)
        self.masks = np.zeros((0, self.n_players), dtype=bool)
        self.stratum = np.zeros(0, dtype=np.int64)
        self.enumerated = np.zeros(n_strata, dtype=bool)
        self.pairs_sampled = np.zeros(n_strata, dtype=np.int64)
        self._keys = _coalition_keys(np.zeros((0, self.n_players), dtype=bool))

    # ------------------------------------------------------------------ sizes
    @property
    def n_coalitions(self) -> int:
        """Number of planned coalitions."""
        return self.masks.shape[0]

    @property
    def total_coalitions(self) -> float:
        """Number of proper non-empty coalitions, ``2**M - 2``."""
        return 2.0**self.n_players - 2

    @property
    def is_exact(self) -> bool:
        """True when every stratum is enumerated (the regression then gives exact Shapley values)."""
        return bool(self.enumerated.all())

    def shares(self) -> np.ndarray:
        """Share of the sampled budget per stratum, before rounding (sums to 1 over all strata)."""
        if isinstance(self.allocation, np.ndarray):
            shares = np.asarray(self.allocation, dtype=np.float64)
            if shares.shape != self._stratum_mass.shape or (shares < 0).any() or shares.sum() <= 0:
                raise ArgumentError(
                    f"allocation must hold {len(self._stratum_mass)} non-negative shares, one per stratum; "
                    f"found shape {shares.shape}"
                )
        elif self.allocation == "kernel":
            shares = self._stratum_mass.copy()
        elif self.allocation == "uniform":
            # Each size gets the same share; the middle stratum holds one size, the others two.
            shares = np.where(2 * np.arange(1, len(self._stratum_mass) + 1) == self.n_players, 1.0, 2.0)
        elif self.allocation == "sqrt":
            shares = np.sqrt(self._stratum_mass)
        else:
            raise ArgumentError(f"allocation must be one of {ALLOCATIONS} or an array of shares; found "
                                f"{self.allocation!r}")
        return shares / shares.sum()

    # ------------------------------------------------------------------ building
    def start(
        self, budget: int, *, enumeration_budget: int | None = None, max_enumerated: int | None = None
    ) -> np.ndarray:
        """Plan the first ``budget`` coalitions (at most ``2**M - 2``); returns their masks.

        Enumerates strata in order of size while the budget they would get under the allocation covers
        all their coalitions (so a small budget goes to the sizes whose few coalitions carry the most
        kernel weight), then samples pairs from the other strata.

        Parameters
        ----------
        budget : int
            Coalitions to plan now.
        enumeration_budget : int, optional
            The budget that decides which strata are enumerated (default ``budget``); pass the final budget
            when starting with a first round of a larger plan.
        max_enumerated : int, optional
            Enumerate at most this many strata.
        """
        if self.n_coalitions:
            raise ArgumentError("this plan has already started; use extend() to add coalitions")
        budget = int(budget)
        if budget >= self.total_coalitions:
            # Coalition c (binary code) and its complement 2**M - 1 - c, for c without the last player.
            first = all_coalitions(self.n_players)[: 2 ** (self.n_players - 1) - 1]
            block = np.empty((2 * first.shape[0], self.n_players), dtype=bool)
            block[0::2], block[1::2] = first, ~first
            self._append(block, exact=True)
            self.enumerated[:] = True
            return self.masks
        for index in self._strata_to_enumerate(enumeration_budget or budget, max_enumerated):
            small = self._canonical(coalitions_of_size(self.n_players, index + 1))
            if 2 * (index + 1) == self.n_players:
                small = small[small[:, 0]]  # each middle pair once: the member holding player 0
            block = np.empty((2 * small.shape[0], self.n_players), dtype=bool)
            block[0::2], block[1::2] = small, ~small
            self._append(block, exact=True, strata=index)
            self.enumerated[index] = True
        self.extend(max(budget - self.n_coalitions, 0) // 2)
        return self.masks

    def enumeration_cost(self, budget: int, max_enumerated: int | None = None) -> int:
        """Coalitions :meth:`start` would spend on enumerated strata for ``budget``."""
        strata = self._strata_to_enumerate(int(budget), max_enumerated)
        return int(sum(2 * self._stratum_pairs[i] for i in strata))

    def _strata_to_enumerate(self, budget: int, max_enumerated: int | None) -> list[int]:
        shares = self.shares()
        cost = 2 * self._stratum_pairs
        left, chosen = float(budget), []
        last = len(shares) if max_enumerated is None else min(max_enumerated, len(shares))
        for index in range(last):  # a loop over coalition sizes
            remaining_share = shares[index:].sum()
            if remaining_share <= 0 or left * shares[index] / remaining_share < cost[index] - 1e-9:
                break
            chosen.append(index)
            left -= cost[index]
        return chosen

    def extend(self, n_pairs: int | np.ndarray) -> np.ndarray:
        """Sample more complementary pairs; returns the masks of the new coalitions only.

        Parameters
        ----------
        n_pairs : int or ndarray of int, shape (floor(M/2),)
            Total new pairs, spread over the open strata by the allocation's shares, or a count per stratum
            (capped by the pairs a stratum has left).
        """
        capacity = self.open_pairs()
        if np.ndim(n_pairs) == 1:
            counts = np.minimum(np.asarray(n_pairs, dtype=np.float64), capacity).astype(np.int64)
        else:
            counts = allocate(int(n_pairs), np.where(capacity > 0, self.shares(), 0.0), capacity)
        first_new = self.n_coalitions
        # Strata asked for a large part of their few remaining pairs are enumerated and drawn from; the
        # others are sampled all at once.
        small = (counts > 0) & (4 * counts >= capacity) & (self._stratum_pairs <= 4_000_000)
        for index in np.flatnonzero(small):  # a loop over coalition sizes
            self._draw_from_enumeration(index, int(counts[index]))
        counts = np.where(small, 0, counts)
        if counts.sum():
            pair_strata = np.repeat(np.arange(len(counts)), counts)
            chosen = self._balanced_draws(counts)
            repeated = self._repeats(chosen)
            while repeated.any():  # replaces the rare duplicate draws; a handful of passes at most
                redo = np.bincount(pair_strata[repeated], minlength=len(counts))
                chosen[repeated] = self._balanced_draws(redo)
                repeated = self._repeats(chosen)
            block = np.empty((2 * chosen.shape[0], self.n_players), dtype=bool)
            block[0::2], block[1::2] = chosen, ~chosen
            self._append(block, exact=False, strata=np.repeat(pair_strata, 2))
            self._record_sampled(counts)
        return self.masks[first_new:]

    def open_pairs(self) -> np.ndarray:
        """Pairs not yet drawn per stratum (0 for enumerated strata), float ndarray of shape (floor(M/2),)."""
        return np.where(self.enumerated, 0.0, self._stratum_pairs - self.pairs_sampled)

    def _record_sampled(self, counts: np.ndarray) -> None:
        self.pairs_sampled += counts
        self.enumerated |= self.pairs_sampled >= self._stratum_pairs

    def _draw_from_enumeration(self, index: int, n_new: int) -> None:
        candidates = self._canonical(coalitions_of_size(self.n_players, index + 1))
        candidates = candidates[~self._repeats(candidates)]
        n_new = min(n_new, candidates.shape[0])
        chosen = candidates[self._rng.choice(candidates.shape[0], size=n_new, replace=False)]
        block = np.empty((2 * n_new, self.n_players), dtype=bool)
        block[0::2], block[1::2] = chosen, ~chosen
        self._append(block, exact=False, strata=np.full(2 * n_new, index))
        counts = np.zeros(len(self.pairs_sampled), dtype=np.int64)
        counts[index] = n_new
        self._record_sampled(counts)

    def _balanced_draws(self, counts: np.ndarray) -> np.ndarray:
        """Random coalitions, ``counts[t - 1]`` of size t, in which every player appears equally often.

        Each random permutation of the players is cut into ``M // t`` disjoint blocks of t players, so over
        the draws of a stratum every player is in (almost) the same number of coalitions, which keeps the
        sampled design close to the full one (a Latin-style stratified sample). In the middle stratum a
        permutation's two halves are complements (the same pair), so one block per permutation is used.
        Returns canonical pair members (see :meth:`_canonical`), ndarray of bool (counts.sum(), M).
        """
        n_players = self.n_players
        sizes = np.arange(1, len(counts) + 1)
        blocks = np.where(2 * sizes == n_players, 1, n_players // sizes)
        permutations = -(-counts // blocks)
        ranks = self._rng.random((int(permutations.sum()), n_players)).argsort(axis=1).argsort(axis=1)
        pair_stratum = np.repeat(np.arange(len(counts)), counts)
        within = np.arange(pair_stratum.size) - np.repeat(np.cumsum(counts) - counts, counts)
        permutation = np.repeat(np.cumsum(permutations) - permutations, counts) + within // blocks[pair_stratum]
        low = (within % blocks[pair_stratum]) * sizes[pair_stratum]
        rank = ranks[permutation]
        masks = (rank >= low[:, None]) & (rank < (low + sizes[pair_stratum])[:, None])
        return self._canonical(masks)

    def _canonical(self, masks: np.ndarray) -> np.ndarray:
        # A pair {S, complement} is stored as its member of size t < M/2; in the middle stratum both have
        # size M/2, so the one holding player 0.
        middle = 2 * masks.sum(axis=1) == self.n_players
        return np.where((middle & ~masks[:, 0])[:, None], ~masks, masks)

    def _repeats(self, masks: np.ndarray) -> np.ndarray:
        """Rows of ``masks`` already sampled before or equal to an earlier row of ``masks``."""
        keys = _coalition_keys(masks)
        pool = np.concatenate([self._keys, keys])
        if pool.ndim == 1:
            _, first = np.unique(pool, return_index=True)
        else:
            _, first = np.unique(pool, axis=0, return_index=True)
        is_first = np.zeros(pool.shape[0], dtype=bool)
        is_first[first] = True
        return ~is_first[self._keys.shape[0]:]

    def _append(self, block: np.ndarray, *, exact: bool, strata: np.ndarray | int | None = None) -> None:
        if strata is None:
            sizes = block.sum(axis=1)
            strata = np.minimum(sizes, self.n_players - sizes) - 1
        self.masks = np.concatenate([self.masks, block])
        self.stratum = np.concatenate([self.stratum, np.broadcast_to(strata, (len(block),)).astype(np.int64)])
        if not exact:
            self._keys = np.concatenate([self._keys, _coalition_keys(block[0::2])])

    # ------------------------------------------------------------------ weights
    def weights(self) -> np.ndarray:
        """Regression weight of each planned coalition, ndarray of shape (n_coalitions,).

        Enumerated strata get the exact kernel weight; a sampled stratum's mass is shared equally by its
        sampled coalitions. The mass of strata with no sample yet goes to the sampled strata in proportion
        to theirs, so the weights always sum to the kernel's total mass.
        """
        sampled = ~self.enumerated & (self.pairs_sampled > 0)
        covered = self.enumerated | sampled
        scale = self._stratum_mass.sum() / self._stratum_mass[covered].sum() if covered.any() else 1.0
        per_coalition = np.zeros(len(self._stratum_mass))
        exact_sizes = kernel_weights(self.n_players, np.arange(1, len(self._stratum_mass) + 1))
        per_coalition[self.enumerated] = exact_sizes[self.enumerated]
        per_coalition[sampled] = self._stratum_mass[sampled] / (2.0 * self.pairs_sampled[sampled]) * scale
        return per_coalition[self.stratum]

    def sampled_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Coalitions drawn at random, as pairs: the first member's row index and the pair's stratum.

        Returns
        -------
        (ndarray of shape (n_pairs,), ndarray of shape (n_pairs,))
            Row index of each pair's first coalition (the second is the next row) and its stratum; pairs of
            strata that ended up fully enumerated are left out (they carry no sampling variance).
        """
        if self.is_exact:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        random_rows = np.flatnonzero(~self.enumerated[self.stratum])
        first = random_rows[0::2]
        return first, self.stratum[first]

    def finite_population_correction(self) -> np.ndarray:
        """Per stratum, ``1 - n_t / N_t``: sampling without replacement shrinks the variance by this factor."""
        return np.clip(1.0 - self.pairs_sampled / self._stratum_pairs, 0.0, 1.0)

    def stratum_mass(self) -> np.ndarray:
        """Kernel mass of each stratum, ndarray of shape (floor(M/2),)."""
        return self._stratum_mass.copy()


def allocate(total: int, shares: np.ndarray, capacity: np.ndarray | None = None) -> np.ndarray:
    """Split ``total`` items in proportion to ``shares``, in integers, without exceeding ``capacity``.

    Largest-remainder rounding, repeated while some cells are full, so the counts sum to
    ``min(total, capacity.sum())``.

    Parameters
    ----------
    total : int
        Items to split.
    shares : ndarray of float, any shape
        Non-negative weights; cells with share 0 get nothing.
    capacity : ndarray of float, same shape, optional
        Most items per cell (default unbounded).

    Returns
    -------
    ndarray of int64, same shape as ``shares``
    """
    shape = np.shape(shares)
    shares = np.asarray(shares, dtype=np.float64).ravel().copy()
    capacity = np.full(shares.shape, np.inf) if capacity is None else np.asarray(capacity, np.float64).ravel()
    shares[~(capacity > 0)] = 0.0
    counts = np.zeros(shares.shape, dtype=np.int64)
    left = int(min(total, capacity.sum()))
    while left > 0 and shares.sum() > 0:  # at most one pass per cell that fills up
        ideal = left * shares / shares.sum()
        step = np.floor(ideal)
        remainder = left - int(step.sum())
        if remainder:
            step[np.argsort(-(ideal - step), kind="stable")[:remainder]] += 1
        step = np.minimum(step, capacity - counts).astype(np.int64)
        counts += step
        left -= int(step.sum())
        shares[counts >= capacity] = 0.0
        if step.sum() == 0:
            break
    return counts.reshape(shape)


def enumerated_coalitions(n_players: int, budget: int, allocation: str | np.ndarray = "uniform") -> int:
    """How many of ``budget`` coalitions :meth:`CoalitionPlan.start` spends on enumerated strata."""
    if budget >= 2.0**n_players - 2:
        return int(2**n_players - 2)
    plan = CoalitionPlan(n_players, allocation=allocation)
    return plan.enumeration_cost(budget)


@dataclass
class ShapleyRegression:
    """Solution of the constrained weighted least squares for many targets (rows x outputs).

    Attributes
    ----------
    values : ndarray of shape (n_targets, M)
        Estimated Shapley values; each row sums to its ``total``.
    standard_errors : ndarray of shape (n_targets, M) or None
        Standard error of each value (0 for exact enumeration and inactive players).
    variance_by_stratum : ndarray of shape (n_targets, M, n_strata) or None
        The sampling variance each stratum contributes (used to allocate further samples).
    """

    values: np.ndarray
    standard_errors: np.ndarray | None = None
    variance_by_stratum: np.ndarray | None = None


def solve_shapley_regression(
    masks: np.ndarray,
    weights: np.ndarray,
    gains: np.ndarray,
    totals: np.ndarray,
    *,
    active: np.ndarray | None = None,
    plan: CoalitionPlan | None = None,
    variance_targets: np.ndarray | None = None,
    max_cells: int = 4_000_000,
) -> ShapleyRegression:
    """Solve the Kernel SHAP regression for many targets at once.

    For each target (a row and an output) it solves
    ``min sum_c w_c (gain_c - z_c . phi)^2  s.t.  sum_i phi_i = total`` with ``phi_i = 0`` for inactive
    players, through the KKT system, factorised once per distinct set of active players. When the coalitions
    come in adjacent complementary pairs of equal weight (as every :class:`CoalitionPlan` lays them out), a
    pair's two rows are folded into one (``z (g - g') + g'``), which halves the work.

    Parameters
    ----------
    masks : ndarray of bool, shape (n_coalitions, M)
        Coalition masks ``z_c``.
    weights : ndarray of shape (n_coalitions,)
        Regression weights ``w_c``.
    gains : ndarray of shape (n_coalitions, n_targets)
        ``v(S_c) - v(empty)`` per coalition and target.
    totals : ndarray of shape (n_targets,)
        ``v(all) - v(empty)`` per target.
    active : ndarray of bool, shape (n_targets, M), optional
        Players allowed a non-zero value per target (default all).
    plan : CoalitionPlan, optional
        The plan the coalitions came from; when given and not exact, standard errors are computed.
    variance_targets : ndarray of int, optional
        Compute the variance for these targets only (default all); the others get NaN standard errors.
    max_cells : int
        Memory bound (array elements) of the intermediate arrays of the standard errors.

    Returns
    -------
    ShapleyRegression
    """
    masks = np.asarray(masks, dtype=bool)
    n_coalitions, n_players = masks.shape
    gains = np.asarray(gains, dtype=np.float64).reshape(n_coalitions, -1)
    totals = np.asarray(totals, dtype=np.float64).reshape(-1)
    weights = np.asarray(weights, dtype=np.float64)
    n_targets = gains.shape[1]
    if active is None:
        active = np.ones((n_targets, n_players), dtype=bool)
    scale = weights.sum() if weights.sum() > 0 else 1.0
    paired = plan is not None or (
        n_coalitions % 2 == 0 and np.array_equal(masks[0::2], ~masks[1::2])
        and np.array_equal(weights[0::2], weights[1::2])
    )
    if paired:
        first = masks[0::2].astype(np.float64)
        pair_weights = weights[0::2] / scale
        gap = gains[0::2] - gains[1::2]  # g - g'
        weighted_t = np.ascontiguousarray((first * pair_weights[:, None]).T)  # (M, P)
        in_first = weighted_t.sum(axis=1)
        # sum over both members of w z z^T, with the second member's z = 1 - z.
        gram = 2 * (weighted_t @ first) - in_first[:, None] - in_first[None, :] + pair_weights.sum()
        moments = weighted_t @ gap + (pair_weights @ gains[1::2])[None, :]
    else:
        design = masks.astype(np.float64)
        weighted_t = np.ascontiguousarray((design * (weights / scale)[:, None]).T)  # (M, C)
        gram = weighted_t @ design
        moments = weighted_t @ gains  # (M, n_targets)

    if active.all():
        patterns, group = np.ones((1, n_players), dtype=bool), np.zeros(n_targets, dtype=np.int64)
    else:
        packed = np.packbits(active, axis=1)
        _, first_seen, group = np.unique(packed, axis=0, return_index=True, return_inverse=True)
        patterns, group = active[first_seen], group.reshape(-1)
    inverses = _kkt_inverses(gram, patterns)  # (n_patterns, M + 1, M + 1)
    if patterns.shape[0] == 1:
        values = (inverses[0, :n_players, :n_players] @ (moments * patterns[0][:, None])).T
        values += totals[:, None] * inverses[0, :n_players, n_players]
    else:
        values = np.empty((n_targets, n_players))
        for g in range(patterns.shape[0]):  # one factorisation per distinct active set
            targets = np.flatnonzero(group == g)
            rhs = np.concatenate([moments[:, targets] * patterns[g][:, None], totals[None, targets]])
            values[targets] = (inverses[g] @ rhs)[:n_players].T
    values[~active] = 0.0

    if plan is None or plan.is_exact:
        zeros = np.zeros_like(values) if plan is not None else None
        return ShapleyRegression(values=values, standard_errors=zeros)
    targets = np.arange(n_targets) if variance_targets is None else np.asarray(variance_targets)
    variance = np.full((n_targets, n_players, len(plan.enumerated)), np.nan)
    variance[targets] = _stratified_variance(
        first, pair_weights, gap[:, targets], totals[targets], values[targets], inverses, group[targets],
        plan, max_cells,
    ) * active[targets][:, :, None]
    return ShapleyRegression(
        values=values, standard_errors=np.sqrt(variance.sum(axis=2)), variance_by_stratum=variance
    )


def _kkt_inverses(gram: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Inverse (pseudo-inverse when singular) of the KKT matrix ``[[A_a, a], [a^T, 0]]`` per active pattern."""
    n_patterns, n_players = patterns.shape
    active = patterns.astype(np.float64)
    kkt = np.zeros((n_patterns, n_players + 1, n_players + 1))
    kkt[:, :n_players, :n_players] = gram[None] * active[:, :, None] * active[:, None, :]
    diagonal = np.arange(n_players)
    kkt[:, diagonal, diagonal] += 1.0 - active  # inactive player j: phi_j = 0
    kkt[:, :n_players, n_players] = active
    kkt[:, n_players, :n_players] = active
    try:
        inverses = np.linalg.inv(kkt)
        if np.isfinite(inverses).all() and np.all(np.linalg.cond(kkt) < 1e12):
            return inverses
    except np.linalg.LinAlgError:
        pass
    return np.linalg.pinv(kkt, hermitian=True)


def _stratified_variance(
    first: np.ndarray,
    pair_weights: np.ndarray,
    gap: np.ndarray,
    totals: np.ndarray,
    values: np.ndarray,
    inverses: np.ndarray,
    group: np.ndarray,
    plan: CoalitionPlan,
    max_cells: int,
) -> np.ndarray:
    """Sampling variance of each value, per stratum, from the influence of each sampled pair.

    Linearised, the estimate moves by ``G sum_c w_c r_c z_c`` (``G`` the KKT inverse's player block,
    ``r_c`` the residual of coalition c). For a pair ``(z, 1 - z)`` of weight ``w`` that is
    ``w (r - r') G z + w r' G 1``, and ``G 1 = 0`` on the active players (the constraint's direction), so a
    pair's term is ``a_p G z_p`` with ``a_p = w (r - r') = w ((g - g') - (2 z - 1) . phi)``. Sampled pairs are
    independent within a stratum: the variance of a stratum's sum is its number of pairs times the sample
    variance of the terms, times the finite-population correction of sampling without replacement. The
    per-stratum sums of terms and squared terms are two batched matrix products.

    Parameters
    ----------
    first : ndarray of shape (n_pairs_all, M)
        First member of every pair (float 0/1).
    pair_weights, gap : ndarrays of shape (n_pairs_all,) and (n_pairs_all, T)
        Pair weight and ``g - g'`` per pair and target.
    totals, values : ndarrays of shape (T,) and (T, M)
    inverses, group : KKT inverses per active pattern, and each target's pattern.

    Returns
    -------
    ndarray of shape (T, M, n_strata)
    """
    n_players = first.shape[1]
    n_targets = gap.shape[1]
    first_rows, pair_stratum = plan.sampled_pairs()
    pair_index = first_rows // 2
    n_strata = len(plan.enumerated)
    variance = np.zeros((n_targets, n_players, n_strata))
    if pair_index.size == 0:
        return variance
    counts = np.bincount(pair_stratum, minlength=n_strata).astype(np.float64)
    pooled = _pool_small_strata(counts)  # strata with one pair give no variance alone: pool them
    pools, pair_pool = np.unique(pooled[pair_stratum], return_inverse=True)
    pool_counts = np.bincount(pair_pool).astype(np.float64)
    # Pairs laid out pool by pool in a padded (pools x most pairs) block, so the per-pool sums are batched
    # matrix products; padding rows are zero and add nothing.
    order = np.argsort(pair_pool, kind="stable")
    position = np.arange(order.size) - np.repeat(np.cumsum(pool_counts) - pool_counts, pool_counts.astype(np.int64))
    width = int(pool_counts.max())
    slot = pair_pool[order] * width + position.astype(np.int64)
    sorted_pairs = pair_index[order]
    share = counts / np.maximum(pool_counts[np.searchsorted(pools, pooled)], 1) * plan.finite_population_correction()
    bessel = pool_counts / np.maximum(pool_counts - 1, 1)
    masks = first[sorted_pairs]  # (P, M)
    # a_p = w ((g - g') - (2 z - 1) . phi) = w ((g - g') - 2 z . phi + total)
    slope = gap[sorted_pairs] - 2 * (masks @ np.ascontiguousarray(values.T)) + totals[None, :]
    slope *= pair_weights[sorted_pairs][:, None]
    chunk = max(1, max_cells // max(1, pools.size * max(width, n_players)))
    for g in np.unique(group):
        block_of_group = np.flatnonzero(group == g)
        player_block = inverses[g][:n_players, :n_players]
        spread = np.zeros((pools.size * width, n_players))
        spread[slot] = masks @ np.ascontiguousarray(player_block.T)  # G z_p
        spread_t = np.ascontiguousarray(spread.reshape(pools.size, width, n_players).transpose(0, 2, 1))
        spread_sq_t = spread_t * spread_t
        for start in range(0, block_of_group.size, chunk):
            targets = block_of_group[start:start + chunk]
            a = np.zeros((pools.size * width, targets.size))
            a[slot] = slope[:, targets] if targets.size < n_targets else slope
            a = a.reshape(pools.size, width, targets.size)
            sums = spread_t @ a  # (pools, M, T)
            squares = spread_sq_t @ (a * a)
            spread_sq = squares - sums * sums / pool_counts[:, None, None]
            per_pool = np.maximum(spread_sq, 0.0) * bessel[:, None, None]
            per_stratum = per_pool[np.searchsorted(pools, pooled)] * share[:, None, None]  # (strata, M, T)
            variance[targets] = per_stratum.transpose(2, 1, 0)
    return variance


def _pool_small_strata(counts: np.ndarray) -> np.ndarray:
    """Map each stratum to a pool of strata holding at least two sampled pairs (collapsed strata)."""
    pooled = np.arange(len(counts))
    sampled = np.flatnonzero(counts > 0)
    if sampled.size == 0:
        return pooled
    current, running = sampled[0], 0.0
    pools = []
    for s in sampled:  # a loop over coalition sizes, not coalitions
        if running >= 2:
            current, running = s, 0.0
        pooled[s] = current
        running += counts[s]
        pools.append(current)
    if running < 2 and len(set(pools)) > 1:  # the last pool is too small: join it to the previous one
        last = pooled[sampled[-1]]
        previous = max(p for p in pools if p != last)
        pooled[pooled == last] = previous
    return pooled
