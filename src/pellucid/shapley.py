"""Shared Shapley arithmetic: kernel weights, coalitions, and the constrained weighted least squares.

Kernel SHAP writes the Shapley values of a game ``v`` over ``M`` players as the solution of

    minimise  sum_S k(S) (v(S) - v(empty) - sum_{i in S} phi_i)^2   subject to   sum_i phi_i = v(all) - v(empty)

over the proper, non-empty coalitions ``S``, with the Shapley kernel ``k(S) = (M - 1) / (C(M, |S|) |S| (M - |S|))``.
Summed over all coalitions the solution is exactly the Shapley values; over a weighted sample of coalitions it
is an estimate. This module holds the pieces every Shapley-based explainer shares:

* :func:`kernel_mass` and :func:`kernel_weights`: the kernel, per coalition size and per coalition;
* :func:`all_coalitions`, :func:`coalitions_of_size`: exact enumeration as boolean masks;
* :class:`CoalitionDesigns`: which coalitions to evaluate for a budget, for one or several independent
  estimates (designs). Coalition sizes are grouped in *strata* ``t = min(s, M - s)``; a stratum whose every
  coalition fits the budget is enumerated, the others are sampled in complementary pairs (``S`` and its
  complement), without replacement, with a fixed number of pairs per stratum (stratified sampling) and every
  player equally often, and can be extended round by round;
* :func:`solve_designs`: the constrained weighted least squares of every design for many rows and outputs at
  once (batched factorisations), combined over designs, with a standard error per value from the linearised
  estimator (the sampled pairs' influence, stratum by stratum);
* :class:`CoalitionPlan` and :func:`solve_shapley_regression`: one game's coalitions as a plain list, and
  the regression for any weighted set of coalitions (with standard errors when given the plan);
* :func:`fill_synthetic`: the synthetic rows (explained values inside a coalition, background outside), by a
  compiled exact select.

All functions are vectorised over coalitions, rows and outputs; loops run over coalition sizes, designs or
blocks of distinct sets of null players only.
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
    "CoalitionDesigns",
    "CoalitionPlan",
    "ShapleyRegression",
    "solve_shapley_regression",
    "solve_designs",
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
        packed = np.zeros((masks.shape[0], 8), dtype=np.uint8)
        packed[:, : (n_players + 7) // 8] = np.packbits(masks, axis=1, bitorder="little")
        return packed.view("<i8").reshape(-1)
    packed = np.packbits(masks, axis=1)
    padded = np.zeros((masks.shape[0], -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(np.uint64)


def _count(n: int, k: int) -> float:
    """``C(n, k)`` as a float (inf beyond float range)."""
    count = math.comb(n, k)
    return float(count) if count < 10**300 else math.inf


def _stratum_sizes(n_players: int) -> tuple[np.ndarray, np.ndarray]:
    """Strata ``t = 1 .. floor(M/2)``: their kernel mass and their number of distinct complementary pairs."""
    strata = np.arange(1, n_players // 2 + 1)
    mass = kernel_mass(n_players)
    middle = 2 * strata == n_players
    stratum_mass = np.where(middle, mass[strata], 2 * mass[strata])
    combos = np.array([_count(n_players, int(t)) for t in strata], dtype=np.float64)
    return stratum_mass, np.where(middle, combos / 2, combos)


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


@dataclass
class CoalitionDesigns:
    """Coalitions to evaluate for ``n_designs`` independent estimates of games over ``n_players``.

    Coalition sizes are grouped in strata ``t = 1 .. floor(M/2)`` (sizes ``t`` and ``M - t``). Strata whose
    every coalition fits the budget are enumerated once and shared by all designs (exact kernel weights).
    In the other strata each design draws its own complementary pairs ``(S, complement)``, without
    replacement, a fixed number per stratum (stratified sampling), with every player appearing equally often
    (each random permutation of the players is cut into blocks of ``t``). A sampled coalition of stratum t in
    a design with ``n`` pairs there weighs ``mass_t / (2 n)``, so each stratum keeps its exact share of the
    kernel. When all ``2**M - 2`` coalitions fit, everything is enumerated and the regression is exact.

    Parameters
    ----------
    n_players : int
        Number of players ``M`` (at least 2).
    n_designs : int, default 1
        Number of independent designs (KernelExplainer uses one per background row).
    allocation : {"kernel", "uniform", "sqrt"} or ndarray of shape (floor(M/2),)
        Prior share of the sampled budget per stratum (see :data:`ALLOCATIONS`), or explicit shares.
    seed : int, sequence of int or numpy Generator
        Randomness of the sampled pairs.

    Attributes
    ----------
    shared : ndarray of bool, shape (n_shared_pairs, M)
        First members of the enumerated pairs (the second member is the complement).
    shared_stratum : ndarray of int, shape (n_shared_pairs,)
    first : ndarray of bool, shape (n_pairs, M)
        First members of the sampled pairs (the member of size ``t``; in the middle stratum the one holding
        player 0).
    design, stratum : ndarrays of int, shape (n_pairs,)
        Each sampled pair's design and stratum index (``t - 1``).
    enumerated : ndarray of bool, shape (floor(M/2),)
        Strata enumerated for every design.
    pairs_sampled : ndarray of int, shape (n_designs, floor(M/2))
        Sampled pairs per design and stratum.

    Examples
    --------
    >>> designs = CoalitionDesigns(10, n_designs=2, seed=0)
    >>> designs.start(100)
    >>> designs.coalitions().tolist()
    [100, 100]
    """

    n_players: int
    n_designs: int = 1
    allocation: str | np.ndarray = "uniform"
    seed: object = 0
    shared: np.ndarray = field(init=False)
    shared_stratum: np.ndarray = field(init=False)
    first: np.ndarray = field(init=False)
    design: np.ndarray = field(init=False)
    stratum: np.ndarray = field(init=False)
    enumerated: np.ndarray = field(init=False)
    pairs_sampled: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.n_players < 2:
            raise ArgumentError(f"coalition designs need at least 2 players; found {self.n_players}")
        if self.n_designs < 1:
            raise ArgumentError(f"n_designs must be at least 1; found {self.n_designs}")
        self._rng = self.seed if isinstance(self.seed, np.random.Generator) else np.random.default_rng(self.seed)
        self.stratum_mass, self.population = _stratum_sizes(self.n_players)
        n_strata, n_players = len(self.stratum_mass), self.n_players
        self.shared = np.zeros((0, n_players), dtype=bool)
        self.shared_stratum = np.zeros(0, dtype=np.int64)
        self.first = np.zeros((0, n_players), dtype=bool)
        self.design = np.zeros(0, dtype=np.int64)
        self.stratum = np.zeros(0, dtype=np.int64)
        self.enumerated = np.zeros(n_strata, dtype=bool)
        self.pairs_sampled = np.zeros((self.n_designs, n_strata), dtype=np.int64)
        self._keys = self._pair_keys(self.first, self.design)
        self._started = False

    # ------------------------------------------------------------------ sizes
    @property
    def n_strata(self) -> int:
        """Number of strata, ``floor(M/2)``."""
        return len(self.stratum_mass)

    @property
    def total_coalitions(self) -> float:
        """Number of proper non-empty coalitions, ``2**M - 2``."""
        return 2.0**self.n_players - 2

    @property
    def is_exact(self) -> bool:
        """True when every coalition is evaluated in every design (the regression is then exact)."""
        return bool(np.all(self.enumerated[None] | (self.pairs_sampled >= self.population[None])))

    def coalitions(self) -> np.ndarray:
        """Coalitions per design, ndarray of int of shape (n_designs,)."""
        return 2 * (self.shared.shape[0] + self.pairs_sampled.sum(axis=1))

    def capacity(self) -> np.ndarray:
        """Pairs not drawn yet per design and stratum (0 for enumerated strata), float (n_designs, n_strata)."""
        return np.where(self.enumerated[None], 0.0, self.population[None] - self.pairs_sampled)

    def shares(self) -> np.ndarray:
        """Prior share of the sampled budget per stratum (sums to 1), ndarray of shape (n_strata,)."""
        if isinstance(self.allocation, np.ndarray):
            shares = np.asarray(self.allocation, dtype=np.float64)
            if shares.shape != self.stratum_mass.shape or (shares < 0).any() or shares.sum() <= 0:
                raise ArgumentError(
                    f"allocation must hold {self.n_strata} non-negative shares, one per stratum; "
                    f"found shape {shares.shape}"
                )
        elif self.allocation == "kernel":
            shares = self.stratum_mass.copy()
        elif self.allocation == "uniform":
            # Each size gets the same share; the middle stratum holds one size, the others two.
            shares = np.where(2 * np.arange(1, self.n_strata + 1) == self.n_players, 1.0, 2.0)
        elif self.allocation == "sqrt":
            shares = np.sqrt(self.stratum_mass)
        else:
            raise ArgumentError(
                f"allocation must be one of {ALLOCATIONS} or an array of shares; found {self.allocation!r}"
            )
        return shares / shares.sum()

    # ------------------------------------------------------------------ building
    def start(self, budget: int, *, enumeration_budget: int | None = None) -> None:
        """Plan ``budget`` coalitions per design (at most ``2**M - 2``).

        Strata are enumerated in order of size while the budget they would get under the allocation covers
        all their coalitions (so a small budget goes to the sizes whose few coalitions carry the most kernel
        weight); the rest of the budget is sampled in pairs from the other strata.

        Parameters
        ----------
        budget : int
            Coalitions per design to plan now.
        enumeration_budget : int, optional
            The budget that decides which strata are enumerated (default ``budget``); pass the final budget
            when this is the first round of a larger plan.
        """
        if self._started:
            raise ArgumentError("these designs have already started; use extend() to add coalitions")
        self._started = True
        budget = int(budget)
        if budget >= self.total_coalitions:
            # Coalition c (binary code) with its complement 2**M - 1 - c, for every c without the last player.
            self._add_shared(all_coalitions(self.n_players)[: 2 ** (self.n_players - 1) - 1])
            self.enumerated[:] = True
            return
        for index in self._strata_to_enumerate(enumeration_budget or budget):
            members = coalitions_of_size(self.n_players, index + 1)
            if 2 * (index + 1) == self.n_players:
                members = members[members[:, 0]]  # each middle pair once: the member holding player 0
            self._add_shared(members)
            self.enumerated[index] = True
        self.extend(max(budget - 2 * self.shared.shape[0], 0) // 2)

    def enumeration_cost(self, budget: int) -> int:
        """Coalitions :meth:`start` spends on enumerated strata for ``budget``."""
        if budget >= self.total_coalitions:
            return int(self.total_coalitions)
        return int(sum(2 * self.population[i] for i in self._strata_to_enumerate(int(budget))))

    def _strata_to_enumerate(self, budget: int) -> list[int]:
        shares = self.shares()
        cost = 2 * self.population
        left, chosen = float(budget), []
        for index in range(self.n_strata):  # a loop over coalition sizes
            remaining_share = shares[index:].sum()
            if remaining_share <= 0 or left * shares[index] / remaining_share < cost[index] - 1e-9:
                break
            chosen.append(index)
            left -= cost[index]
        return chosen

    def extend(self, n_pairs: int | np.ndarray) -> slice:
        """Sample more complementary pairs; returns the slice of the new pairs in :attr:`first`.

        Parameters
        ----------
        n_pairs : int or ndarray of int, shape (n_designs, n_strata)
            New pairs per design, spread over the open strata by the allocation's shares, or a count per
            design and stratum (capped by the pairs each has left).
        """
        start = self.first.shape[0]
        capacity = self.capacity()
        if np.ndim(n_pairs) == 0:
            shares = self.shares()
            per_design = {}  # designs with the same capacity get the same split
            counts = np.zeros(capacity.shape, dtype=np.int64)
            for d in range(self.n_designs):  # a loop over designs, not coalitions
                key = capacity[d].tobytes()
                if key not in per_design:
                    per_design[key] = allocate(int(n_pairs), np.where(capacity[d] > 0, shares, 0.0), capacity[d])
                counts[d] = per_design[key]
        else:
            counts = np.minimum(np.asarray(n_pairs, dtype=np.float64), capacity).astype(np.int64)
        # Cells asked for a large part of their few remaining pairs: enumerate them and draw from the rest.
        small = (counts > 0) & (4 * counts >= capacity) & (self.population <= 4_000_000)[None]
        for d, index in zip(*np.nonzero(small)):  # rare: only strata with few pairs left
            self._draw_from_enumeration(int(d), int(index), int(counts[d, index]))
        counts[small] = 0
        if counts.sum():
            cell_design, cell_stratum = np.nonzero(counts)
            chosen, pair_cell = self._balanced_draws(counts[cell_design, cell_stratum], cell_stratum + 1)
            pair_design, pair_stratum = cell_design[pair_cell], cell_stratum[pair_cell]
            keys = self._pair_keys(chosen, pair_design)
            repeated = self._repeats(keys)
            while repeated.any():  # replaces the rare duplicate draws; a handful of passes at most
                chosen[repeated] = self._random_draws(pair_stratum[repeated] + 1)
                keys[repeated] = self._pair_keys(chosen[repeated], pair_design[repeated])
                repeated = self._repeats(keys)
            self._add_sampled(chosen, pair_design, pair_stratum, keys)
            self.pairs_sampled += counts
        return slice(start, self.first.shape[0])

    def _draw_from_enumeration(self, d: int, index: int, n_new: int) -> None:
        members = coalitions_of_size(self.n_players, index + 1)
        candidates = self._canonical(members)
        if 2 * (index + 1) == self.n_players:
            candidates = members[members[:, 0]]
        owner = np.full(candidates.shape[0], d)
        candidates = candidates[~self._repeats(self._pair_keys(candidates, owner))]
        n_new = min(n_new, candidates.shape[0])
        chosen = candidates[self._rng.choice(candidates.shape[0], size=n_new, replace=False)]
        self._add_sampled(chosen, np.full(n_new, d), np.full(n_new, index))
        self.pairs_sampled[d, index] += n_new

    def _balanced_draws(self, counts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``counts[i]`` coalitions of ``sizes[i]`` players per cell, every player appearing equally often.

        Each random permutation of the players is cut into ``M // t`` disjoint blocks of t players (one
        block in the middle stratum, whose two halves would be the same pair), which keeps each sampled
        stratum close to the full one (a Latin-style stratified sample).

        Returns
        -------
        (ndarray of bool (counts.sum(), M), ndarray of int (counts.sum(),))
            Canonical pair members and the cell each belongs to.
        """
        n_players = self.n_players
        blocks = np.where(2 * sizes == n_players, 1, n_players // sizes)
        permutations = -(-counts // blocks)
        order = self._rng.random((int(permutations.sum()), n_players)).argsort(axis=1)
        ranks = np.empty_like(order)  # the position of each player in its random permutation
        np.put_along_axis(ranks, order, np.arange(n_players), axis=1)
        pair_cell = np.repeat(np.arange(counts.size), counts)
        within = np.arange(pair_cell.size) - np.repeat(np.cumsum(counts) - counts, counts)
        permutation = np.repeat(np.cumsum(permutations) - permutations, counts) + within // blocks[pair_cell]
        low = (within % blocks[pair_cell]) * sizes[pair_cell]
        rank = ranks[permutation]
        masks = (rank >= low[:, None]) & (rank < (low + sizes[pair_cell])[:, None])
        middle = 2 * sizes[pair_cell] == n_players
        if middle.any():
            masks[middle] = self._canonical(masks[middle])
        return masks, pair_cell

    def _random_draws(self, sizes: np.ndarray) -> np.ndarray:
        order = self._rng.random((sizes.size, self.n_players)).argsort(axis=1)
        masks = np.zeros(order.shape, dtype=bool)
        np.put_along_axis(masks, order, np.arange(self.n_players)[None] < sizes[:, None], axis=1)
        return self._canonical(masks)

    def _canonical(self, masks: np.ndarray) -> np.ndarray:
        # A pair {S, complement} is stored as its member of size t < M/2; in the middle stratum both have
        # size M/2, so the one holding player 0.
        middle = 2 * masks.sum(axis=1) == self.n_players
        return np.where((middle & ~masks[:, 0])[:, None], ~masks, masks)

    def _pair_keys(self, masks: np.ndarray, designs: np.ndarray) -> np.ndarray:
        """One sortable key per (design, coalition): an int64 when they fit in 63 bits, else rows of words."""
        designs = np.asarray(designs, dtype=np.int64)
        if self.n_players + max(1, int(self.n_designs - 1).bit_length()) <= 63:
            return (designs << self.n_players) | _coalition_keys(masks)
        words = _coalition_keys(masks)
        words = words[:, None] if words.ndim == 1 else words.view(np.int64)
        return np.concatenate([designs[:, None], words], axis=1)

    def _repeats(self, keys: np.ndarray) -> np.ndarray:
        """Pairs (by :meth:`_pair_keys`) drawn before in their design, or equal to an earlier one of ``keys``."""
        if keys.ndim == 1:  # sorted int64 keys: a binary search against the pairs drawn before
            _, first = np.unique(keys, return_index=True)
            repeated = np.ones(keys.size, dtype=bool)
            repeated[first] = False
            if self._keys.size:
                where = np.minimum(np.searchsorted(self._keys, keys), self._keys.size - 1)
                repeated |= self._keys[where] == keys
            return repeated
        pool = np.concatenate([self._keys, keys])
        _, first = np.unique(pool, axis=0, return_index=True)
        is_first = np.zeros(pool.shape[0], dtype=bool)
        is_first[first] = True
        return ~is_first[self._keys.shape[0]:]

    def _add_shared(self, members: np.ndarray) -> None:
        sizes = members.sum(axis=1)
        self.shared = np.concatenate([self.shared, members])
        self.shared_stratum = np.concatenate([self.shared_stratum, np.minimum(sizes, self.n_players - sizes) - 1])

    def _add_sampled(
        self, members: np.ndarray, designs: np.ndarray, strata: np.ndarray, keys: np.ndarray | None = None
    ) -> None:
        self.first = np.concatenate([self.first, members])
        self.design = np.concatenate([self.design, designs.astype(np.int64)])
        self.stratum = np.concatenate([self.stratum, strata.astype(np.int64)])
        keys = np.concatenate([self._keys, self._pair_keys(members, designs) if keys is None else keys])
        self._keys = np.sort(keys) if keys.ndim == 1 else keys

    # ------------------------------------------------------------------ weights
    def pair_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Regression weight of each member of each pair: (shared pairs, sampled pairs).

        Enumerated strata get the exact kernel weight; a design's sampled stratum mass is shared equally by
        its sampled coalitions. A design's strata with no sample yet give their mass to its sampled strata
        in proportion to theirs, so each design's weights sum to the kernel's total mass.

        Returns
        -------
        (ndarray of shape (n_shared_pairs,), ndarray of shape (n_pairs,))
        """
        shared = kernel_weights(self.n_players, self.shared_stratum + 1)
        covered = self.enumerated[None] | (self.pairs_sampled > 0)
        scale = self.stratum_mass.sum() / np.maximum((self.stratum_mass[None] * covered).sum(axis=1), 1e-300)
        per_cell = self.stratum_mass[None] / (2.0 * np.maximum(self.pairs_sampled, 1)) * scale[:, None]
        return shared, per_cell[self.design, self.stratum]

    def finite_population_correction(self) -> np.ndarray:
        """``1 - n / N`` per design and stratum: sampling without replacement shrinks the variance by it."""
        return np.clip(1.0 - self.pairs_sampled / self.population[None], 0.0, 1.0)

    def masks(self, design: int = 0) -> np.ndarray:
        """All coalitions of one design in complementary pairs (row ``2i + 1`` complements row ``2i``)."""
        members = np.concatenate([self.shared, self.first[self.design == design]])
        masks = np.empty((2 * members.shape[0], self.n_players), dtype=bool)
        masks[0::2], masks[1::2] = members, ~members
        return masks

    def weights(self, design: int = 0) -> np.ndarray:
        """Regression weight of each coalition of :meth:`masks` for one design."""
        shared, sampled = self.pair_weights()
        return np.repeat(np.concatenate([shared, sampled[self.design == design]]), 2)


class CoalitionPlan:
    """One design of :class:`CoalitionDesigns` seen as a list of coalitions, for a single game.

    Parameters
    ----------
    n_players : int
        Number of players ``M`` (at least 2).
    allocation : {"kernel", "uniform", "sqrt"} or ndarray, default "uniform"
    seed : int, sequence of int or numpy Generator

    Examples
    --------
    >>> plan = CoalitionPlan(8, seed=0)
    >>> plan.start(100).shape
    (100, 8)
    """

    def __init__(self, n_players: int, allocation: str | np.ndarray = "uniform", seed: object = 0) -> None:
        self.designs = CoalitionDesigns(n_players, 1, allocation=allocation, seed=seed)

    @property
    def n_players(self) -> int:
        """Number of players."""
        return self.designs.n_players

    @property
    def masks(self) -> np.ndarray:
        """All planned coalitions, ndarray of bool (n_coalitions, M), complementary pairs adjacent."""
        return self.designs.masks(0)

    @property
    def n_coalitions(self) -> int:
        """Number of planned coalitions."""
        return int(self.designs.coalitions()[0])

    @property
    def total_coalitions(self) -> float:
        """Number of proper non-empty coalitions, ``2**M - 2``."""
        return self.designs.total_coalitions

    @property
    def is_exact(self) -> bool:
        """True when every coalition is planned (the regression is then exact)."""
        return self.designs.is_exact

    @property
    def enumerated(self) -> np.ndarray:
        """Strata planned in full, ndarray of bool (floor(M/2),)."""
        return self.designs.enumerated | (self.designs.pairs_sampled[0] >= self.designs.population)

    @property
    def pairs_sampled(self) -> np.ndarray:
        """Sampled pairs per stratum, ndarray of int (floor(M/2),)."""
        return self.designs.pairs_sampled[0]

    def start(self, budget: int, *, enumeration_budget: int | None = None) -> np.ndarray:
        """Plan ``budget`` coalitions (see :meth:`CoalitionDesigns.start`); returns all their masks."""
        self.designs.start(budget, enumeration_budget=enumeration_budget)
        return self.masks

    def extend(self, n_pairs: int | np.ndarray) -> np.ndarray:
        """Sample more pairs (a total, or a count per stratum); returns the new coalitions' masks."""
        counts = n_pairs if np.ndim(n_pairs) == 0 else np.asarray(n_pairs)[None]
        new = self.designs.extend(counts)
        members = self.designs.first[new]
        masks = np.empty((2 * members.shape[0], self.n_players), dtype=bool)
        masks[0::2], masks[1::2] = members, ~members
        return masks

    def weights(self) -> np.ndarray:
        """Regression weight of each coalition of :attr:`masks`."""
        return self.designs.weights(0)


def enumerated_coalitions(n_players: int, budget: int, allocation: str | np.ndarray = "uniform") -> int:
    """How many of ``budget`` coalitions :meth:`CoalitionDesigns.start` spends on enumerated strata."""
    return CoalitionDesigns(n_players, allocation=allocation).enumeration_cost(budget)


# ---------------------------------------------------------------------------------------------- regression
@dataclass
class ShapleyRegression:
    """Solution of the constrained weighted least squares for many targets (rows x outputs).

    Attributes
    ----------
    values : ndarray of shape (n_targets, M)
        Estimated Shapley values (summed over designs with their weights); each row sums to its total.
    standard_errors : ndarray of shape (n_targets, M) or None
        Standard error of each value (0 for exact enumeration and inactive players; NaN for targets whose
        variance was not asked for).
    cell_variance : ndarray of shape (n_designs, n_strata) or None
        Sampling variance each design's stratum contributes, summed over players and the variance targets,
        before the design weights (used to allocate further samples).
    """

    values: np.ndarray
    standard_errors: np.ndarray | None = None
    cell_variance: np.ndarray | None = None


def solve_shapley_regression(
    masks: np.ndarray,
    weights: np.ndarray,
    gains: np.ndarray,
    totals: np.ndarray,
    *,
    active: np.ndarray | None = None,
    plan: CoalitionPlan | None = None,
) -> ShapleyRegression:
    """Solve the Kernel SHAP regression of one game for many targets, for any set of weighted coalitions.

    For each target (a row and an output) it solves
    ``min sum_c w_c (gain_c - z_c . phi)^2  s.t.  sum_i phi_i = total`` with ``phi_i = 0`` for inactive
    players, through the KKT system, factorised once per distinct set of active players.

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
        The plan ``masks`` and ``weights`` come from (``plan.masks``, ``plan.weights()``): then the values
        come with standard errors (see :func:`solve_designs`).

    Returns
    -------
    ShapleyRegression
        Values, and standard errors when ``plan`` is given.
    """
    if plan is not None:
        return _solve_plan(plan, gains, totals, active)
    masks = np.asarray(masks, dtype=bool)
    n_coalitions, n_players = masks.shape
    gains = np.asarray(gains, dtype=np.float64).reshape(n_coalitions, -1)
    totals = np.asarray(totals, dtype=np.float64).reshape(-1)
    weights = np.asarray(weights, dtype=np.float64)
    design = masks.astype(np.float64)
    weighted_t = np.ascontiguousarray((design * (weights / max(weights.sum(), 1e-300))[:, None]).T)  # (M, C)
    gram = weighted_t @ design
    moments = weighted_t @ gains  # (M, n_targets)
    values, _ = _design_solutions(gram[None], moments[None], totals[None], None if active is None else active[None])
    return ShapleyRegression(values=values[0].T)


def _solve_plan(
    plan: CoalitionPlan, gains: np.ndarray, totals: np.ndarray, active: np.ndarray | None
) -> ShapleyRegression:
    designs = plan.designs
    n_shared = 2 * designs.shared.shape[0]
    gains = np.asarray(gains, dtype=np.float64)
    if gains.shape[0] != plan.n_coalitions:
        raise ArgumentError(f"gains must have one row per planned coalition ({plan.n_coalitions}); "
                            f"found {gains.shape[0]}")
    gains = gains.reshape(plan.n_coalitions, -1)
    return solve_designs(
        designs, gains[None, :n_shared], gains[n_shared:], np.asarray(totals, dtype=np.float64).reshape(1, -1),
        np.ones(1), active=None if active is None else np.asarray(active, dtype=bool)[None],
    )


def _design_solutions(
    gram: np.ndarray, moments: np.ndarray, totals: np.ndarray, active: np.ndarray | None,
    max_cells: int = 4_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Constrained solutions per design, and the factorisations with every player active.

    All designs are solved in one batched factorisation with every player active; the targets with null
    players are then solved again, all at once, with one factorisation per design and distinct active set.

    Parameters
    ----------
    gram : ndarray (D, M, M); moments : ndarray (D, M, T); totals : ndarray (D, T)
    active : ndarray of bool (D, T, M) or None (all active)

    Returns
    -------
    (ndarray of shape (D, M, T), ndarray of shape (D, M + 1, M + 1))
    """
    n_designs, n_players, n_targets = moments.shape
    inverses = _kkt_inverses(gram, np.ones((n_designs, n_players), dtype=bool))
    values = inverses[:, :n_players, :n_players] @ moments
    values += inverses[:, :n_players, n_players][:, :, None] * totals[:, None, :]
    if active is None or active.all():
        return values, inverses
    design, target = np.nonzero(~active.all(axis=2))  # (design, target) pairs with null players
    keys = np.concatenate([design[:, None].astype(np.int64).view(np.uint8),
                           np.packbits(active[design, target], axis=1)], axis=1)
    _, first_seen, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    group = group.reshape(-1)
    patterns = active[design[first_seen], target[first_seen]]  # (G, M)
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(patterns.shape[0] + 1))
    chunk = max(1, max_cells // (n_players + 1) ** 2)
    for start in range(0, patterns.shape[0], chunk):  # memory-bounded blocks of active sets
        block_inverses = _kkt_inverses(gram[design[first_seen[start:start + chunk]]], patterns[start:start + chunk])
        pairs = order[bounds[start]:bounds[min(start + chunk, patterns.shape[0])]]
        for first in range(0, pairs.size, chunk):  # the gathered inverses stay within the memory bound
            d, t, g = (a[pairs[first:first + chunk]] for a in (design, target, group))
            rhs = np.concatenate([moments[d, :, t] * patterns[g], totals[d, t][:, None]], axis=1)
            solution = np.einsum("nij,nj->ni", block_inverses[g - start], rhs)
            values[d, :, t] = solution[:, :n_players] * patterns[g]
    return values, inverses


def _kkt_inverses(grams: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Inverse (pseudo-inverse when singular) of ``[[A_a, a], [a^T, 0]]`` per gram and active pattern.

    Parameters
    ----------
    grams : ndarray of shape (G, M, M)
    patterns : ndarray of bool, shape (G, M)

    Returns
    -------
    ndarray of shape (G, M + 1, M + 1)
    """
    n_groups, n_players = patterns.shape
    active = patterns.astype(np.float64)
    kkt = np.zeros((n_groups, n_players + 1, n_players + 1))
    kkt[:, :n_players, :n_players] = grams * active[:, :, None] * active[:, None, :]
    diagonal = np.arange(n_players)
    kkt[:, diagonal, diagonal] += 1.0 - active  # inactive player j: phi_j = 0
    kkt[:, :n_players, n_players] = active
    kkt[:, n_players, :n_players] = active
    try:
        inverses = np.linalg.inv(kkt)
        # The 1-norm condition number from the inverse itself (no extra factorisation).
        condition = np.abs(kkt).sum(axis=1).max(axis=1) * np.abs(inverses).sum(axis=1).max(axis=1)
        if np.isfinite(inverses).all() and np.all(condition < 1e12):
            return inverses
    except np.linalg.LinAlgError:
        pass
    return np.linalg.pinv(kkt, hermitian=True)


def solve_designs(
    designs: CoalitionDesigns,
    shared_gains: np.ndarray,
    sampled_gains: np.ndarray,
    totals: np.ndarray,
    design_weights: np.ndarray,
    *,
    active: np.ndarray | None = None,
    variance_targets: np.ndarray | None = None,
    pairs_per_cell: int = 32,
    max_cells: int = 4_000_000,
) -> ShapleyRegression:
    """Solve every design's regression for many targets at once and combine them, with standard errors.

    Each design d estimates the Shapley values of its own game; the result is ``sum_d w_d phi_d`` (Shapley
    values are linear in the game). A pair's two members (``z`` and ``1 - z``, same weight) are folded into
    one row (``z (g - g') + g'``), which halves the work; the designs are solved in one batched
    factorisation (one per distinct set of active players where some players are null).

    Standard errors: linearised, design d's estimate moves by ``G_d sum_c w_c r_c z_c`` (``G_d`` the player
    block of its KKT inverse, ``r_c`` the residuals). For a pair that is ``w (r - r') G z + w r' G 1`` and
    ``G 1 = 0`` on the active players, so a pair's term is ``a_p G z_p`` with
    ``a_p = w ((g - g') - (2 z - 1) . phi)``. Pairs are independent within a (design, stratum) cell: the
    variance of a cell's sum is its number of pairs times the sample variance of its terms, times the
    finite-population correction (estimated from at most ``pairs_per_cell`` pairs per cell); cells with a
    single pair are pooled with the next sampled stratum of their design. Designs are independent: variances
    add with weights ``w_d^2``.

    Parameters
    ----------
    designs : CoalitionDesigns
    shared_gains : ndarray of shape (D, 2 * n_shared_pairs, T)
        Gains of the shared coalitions in each design's game, pair members adjacent.
    sampled_gains : ndarray of shape (2 * n_pairs, T)
        Gains of the sampled coalitions, in the order of ``designs.first``, pair members adjacent.
    totals : ndarray of shape (D, T)
        ``v_d(all) - v_d(empty)`` per design and target.
    design_weights : ndarray of shape (D,)
    active : ndarray of bool, shape (D, T, M), optional
        Players allowed a non-zero value per design and target (default all).
    variance_targets : ndarray of int, optional
        Compute standard errors for these targets only (default all).
    pairs_per_cell : int, default 32
        Most pairs per (design, stratum) cell used to estimate that cell's variance.
    max_cells : int
        Memory bound (array elements) of the intermediate arrays of the standard errors.

    Returns
    -------
    ShapleyRegression
    """
    n_players, n_designs, n_strata = designs.n_players, designs.n_designs, designs.n_strata
    totals = np.asarray(totals, dtype=np.float64)
    n_targets = totals.shape[1]
    total_mass = designs.stratum_mass.sum()
    shared_weights, pair_weights = (w / total_mass for w in designs.pair_weights())

    # Shared pairs: one gram for all designs, moments from each design's gains.
    shared = designs.shared.astype(np.float64)
    shared_t = np.ascontiguousarray((shared * shared_weights[:, None]).T)  # (M, E)
    shared_gap = shared_gains[:, 0::2] - shared_gains[:, 1::2]  # (D, E, T)
    gram = np.repeat(_pair_gram(shared_t, shared, shared_weights.sum())[None], n_designs, axis=0)
    moments = (shared_t @ shared_gap.transpose(1, 0, 2).reshape(shared.shape[0], n_designs * n_targets)).reshape(
        n_players, n_designs, n_targets).transpose(1, 0, 2)
    moments = moments + np.einsum("e,det->dt", shared_weights, shared_gains[:, 1::2])[:, None, :]

    # Sampled pairs, design by design (a loop over designs, each a few matrix products over its pairs).
    pair_gap = sampled_gains[0::2] - sampled_gains[1::2]  # (N, T)
    order = np.argsort(designs.design, kind="stable")
    bounds = np.searchsorted(designs.design[order], np.arange(n_designs + 1))
    first = designs.first[order].astype(np.float64)
    weights, gap, second = pair_weights[order], pair_gap[order], sampled_gains[1::2][order]
    for d in range(n_designs):
        rows = slice(bounds[d], bounds[d + 1])
        weighted_t = np.ascontiguousarray((first[rows] * weights[rows, None]).T)  # (M, P_d)
        gram[d] += _pair_gram(weighted_t, first[rows], weights[rows].sum())
        moments[d] += weighted_t @ gap[rows] + (weights[rows] @ second[rows])[None, :]

    per_design, inverses = _design_solutions(gram, moments, totals, active, max_cells)
    values = np.einsum("d,dmt->tm", design_weights, per_design)
    if designs.first.shape[0] == 0:
        return ShapleyRegression(values, np.zeros_like(values), np.zeros((n_designs, n_strata)))

    chosen = np.arange(n_targets) if variance_targets is None else np.asarray(variance_targets)
    variance, cells = _design_variance(
        designs, pair_weights, pair_gap, per_design, totals, inverses, design_weights, chosen, max_cells,
        pairs_per_cell,
    )
    errors = np.full((n_targets, n_players), np.nan)
    errors[chosen] = np.sqrt(variance)
    if active is not None:
        errors[chosen] *= np.any(active[:, chosen], axis=0)  # null in every design: exactly 0
    return ShapleyRegression(values, errors, cells)


def _pair_gram(weighted_t: np.ndarray, first: np.ndarray, weight_sum: np.ndarray | float) -> np.ndarray:
    """``sum_p w_p (z z^T + (1 - z)(1 - z)^T)`` from first members: (..., M, P) and (..., P, M)."""
    inside = weighted_t.sum(axis=-1)  # sum_p w_p z_p
    weight_sum = np.asarray(weight_sum, dtype=np.float64)[..., None, None]
    return 2 * (weighted_t @ first) - inside[..., :, None] - inside[..., None, :] + weight_sum


class _Padding:
    """Rows grouped by an integer key, laid out in a zero-padded (n_groups, most rows, ...) block."""

    def __init__(self, keys: np.ndarray, n_groups: int) -> None:
        self.counts = np.bincount(keys, minlength=n_groups)
        self.order = np.argsort(keys, kind="stable")
        self.width = int(self.counts.max(initial=0))
        position = np.arange(keys.size) - np.repeat(np.cumsum(self.counts) - self.counts, self.counts)
        self.index = (keys[self.order], position)
        self.n_groups = n_groups

    def scatter(self, rows: np.ndarray) -> np.ndarray:
        padded = np.zeros((self.n_groups, self.width, *rows.shape[1:]))
        padded[self.index] = rows[self.order]
        return padded


def _design_variance(
    designs: CoalitionDesigns,
    pair_weights: np.ndarray,
    pair_gap: np.ndarray,
    per_design: np.ndarray,
    totals: np.ndarray,
    inverses: np.ndarray,
    design_weights: np.ndarray,
    chosen: np.ndarray,
    max_cells: int,
    pairs_per_cell: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Combined variance (len(chosen), M) and per-cell variance (D, n_strata) of the sampled pairs.

    The linearisation uses each design's factorisation with every player active, also for the few targets
    whose regression forces null players to 0 (their values are exact; their errors are this approximation,
    and exactly 0 for players null in every design).

    A cell's variance is estimated from at most ``pairs_per_cell`` of its pairs (the first drawn: the pairs
    of a cell are exchangeable), scaled to all of them: an unbiased estimate at a fraction of the cost. The
    combined variance of a value adds up a hundred or more cells, so its relative precision stays high.
    """
    n_players, n_designs, n_strata = designs.n_players, designs.n_designs, designs.n_strata
    counts = designs.pairs_sampled.astype(np.float64)
    cell = designs.design * n_strata + designs.stratum
    order = np.argsort(cell, kind="stable")
    sizes = np.bincount(cell, minlength=n_designs * n_strata)
    rank = np.empty(cell.size, dtype=np.int64)
    rank[order] = np.arange(cell.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    kept = np.flatnonzero(rank < pairs_per_cell)
    kept_counts = np.minimum(counts, pairs_per_cell)
    pooled = np.stack([_pool_small_strata(c) for c in kept_counts])  # (D, S): a loop over designs
    pool_of_cell = np.arange(n_designs)[:, None] * n_strata + pooled
    kept_in_pool = np.bincount(pool_of_cell.ravel(), weights=kept_counts.ravel(), minlength=n_designs * n_strata)
    # A pool's variance from its kept pairs is (kept pairs) x s^2; a cell's is (its pairs) x s^2, shrunk by
    # the finite-population correction.
    cell_share = counts / np.maximum(kept_in_pool[pool_of_cell], 1) * designs.finite_population_correction()
    layout = _Padding(designs.design[kept], n_designs)
    sampled = layout.scatter(designs.first[kept].astype(np.float64))  # (D, P', M)
    sampled_w = layout.scatter(pair_weights[kept])
    gap = layout.scatter(pair_gap[kept])
    present = np.zeros(sampled_w.shape, dtype=bool)
    present[layout.index] = True
    stratum = np.zeros(sampled_w.shape, dtype=np.int64)
    stratum[layout.index] = designs.stratum[kept][layout.order]
    pair_pool = pool_of_cell[np.arange(n_designs)[:, None], stratum]  # (D, P')

    position = chosen
    player_block = np.ascontiguousarray(np.swapaxes(inverses[:, :n_players, :n_players], 1, 2))
    spread = sampled @ player_block  # (D, P', M): G z_p
    slope = gap[:, :, position] - 2 * (sampled @ per_design[:, :, position]) + totals[:, None, position]
    slope *= sampled_w[:, :, None]  # (D, P', T')
    used, pool_index = np.unique(pair_pool[present], return_inverse=True)
    pool_variance = _pool_variance(spread[present], slope[present], pool_index.reshape(-1), used.size, max_cells)
    # Back to designs: each cell takes its share of its pool's variance; independent designs add up.
    cell_pool = np.minimum(np.searchsorted(used, pool_of_cell), used.size - 1)  # (D, S)
    share = np.where(used[cell_pool] == pool_of_cell, cell_share, 0.0)
    factor = np.zeros(used.size)
    np.add.at(factor, cell_pool.ravel(), (design_weights[:, None] ** 2 * share).ravel())
    variance = np.einsum("u,umt->tm", factor, pool_variance)
    cells = share * pool_variance.sum(axis=(1, 2))[cell_pool]
    return variance, cells


def _pool_variance(
    spread: np.ndarray, slope: np.ndarray, pool: np.ndarray, n_pools: int, max_cells: int
) -> np.ndarray:
    """Variance of the sum of pair terms ``slope_pt * spread_pj`` within each pool, (n_pools, M, T).

    Pairs are laid out pool by pool in a zero-padded block, so the sums of terms and of squared terms per
    pool are two batched matrix products; the variance of a pool's sum is
    ``(sum of squares - square of sum / n) * n / (n - 1)``.
    """
    layout = _Padding(pool, n_pools)
    spread_t = np.ascontiguousarray(layout.scatter(spread).transpose(0, 2, 1))  # (U, M, width)
    spread_sq_t = spread_t * spread_t
    n = layout.counts.astype(np.float64)[:, None, None]
    n_targets = slope.shape[1]
    result = np.empty((n_pools, spread.shape[1], n_targets))
    chunk = max(1, max_cells // max(1, n_pools * max(layout.width, spread.shape[1])))
    for start in range(0, n_targets, chunk):  # memory-bounded blocks of targets
        block = layout.scatter(slope[:, start:start + chunk])  # (U, width, T')
        sums = spread_t @ block
        squares = spread_sq_t @ (block * block)
        spread_sq = np.maximum(squares - sums * sums / np.maximum(n, 1), 0.0)
        result[:, :, start:start + chunk] = spread_sq * (n / np.maximum(n - 1, 1))
    return result


def _pool_small_strata(counts: np.ndarray) -> np.ndarray:
    """Map each stratum to a pool of strata holding at least two sampled pairs (collapsed strata)."""
    pooled = np.arange(len(counts))
    sampled = np.flatnonzero(counts > 0)
    if sampled.size == 0:
        return pooled
    current, running = sampled[0], 0.0
    leaders = []
    for s in sampled:  # a loop over coalition sizes, not coalitions
        if running >= 2:
            current, running = s, 0.0
        pooled[s] = current
        running += counts[s]
        leaders.append(current)
    if running < 2 and len(set(leaders)) > 1:  # the last pool is too small: join it to the previous one
        last = pooled[sampled[-1]]
        previous = max(p for p in leaders if p != last)
        pooled[pooled == last] = previous
    return pooled
