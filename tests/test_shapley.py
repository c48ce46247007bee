"""Shared Shapley arithmetic, checked against the brute-force oracle and first principles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pellucid.errors import ArgumentError
from pellucid.shapley import (
    CoalitionDesigns,
    CoalitionPlan,
    all_coalitions,
    allocate,
    coalitions_of_size,
    enumerated_coalitions,
    fill_synthetic,
    kernel_mass,
    kernel_weights,
    solve_designs,
    solve_shapley_regression,
)
from pellucid.testing.oracles import coalition_values, exact_expected_value, exact_shapley_values

RNG = np.random.default_rng(0)


def _game(n_players: int, seed: int = 0):
    """A model with interactions up to order 4 over a small weighted background."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(2, n_players))

    def predict(X):
        first = np.tanh(X @ weights[0]) + X[:, 0] * X[:, 1] * X[:, 2] * X[:, -1]
        return np.stack([first, np.sin(X @ weights[1]) * X[:, 1]], axis=1)

    rows = rng.normal(size=(3, n_players))
    background = rng.normal(size=(4, n_players))
    background_weights = rng.random(4) + 0.1
    return predict, rows, background, background_weights


def _gains_for(predict, rows, background, background_weights, masks):
    """v(S) - v(empty) for the planned coalitions, from the oracle's table of all coalitions."""
    n_players = rows.shape[1]
    codes = masks.astype(np.int64) @ (1 << np.arange(n_players))
    tables = [coalition_values(predict, row, background, background_weights) for row in rows]
    gains = np.stack([table[codes] - table[0] for table in tables], axis=1)  # (C, rows, K)
    totals = np.stack([table[-1] - table[0] for table in tables])  # (rows, K)
    return gains.reshape(len(masks), -1), totals.reshape(-1)


# ---------------------------------------------------------------------------------------------- kernel
def test_kernel_mass_and_weights_follow_the_shapley_kernel():
    m = 7
    mass = kernel_mass(m)
    assert mass[0] == 0 and mass[m] == 0
    for s in range(1, m):
        assert mass[s] == pytest.approx((m - 1) / (s * (m - s)))
        assert kernel_weights(m, np.array([s]))[0] == pytest.approx((m - 1) / (math.comb(m, s) * s * (m - s)))
    # The kernel is symmetric in s and M - s.
    np.testing.assert_allclose(mass[1:m], mass[1:m][::-1])


def test_coalition_enumeration():
    masks = all_coalitions(5)
    assert masks.shape == (30, 5) and len({tuple(r) for r in masks}) == 30
    assert not masks.all(axis=1).any() and masks.any(axis=1).all()
    size_two = coalitions_of_size(6, 2)
    assert size_two.shape == (15, 6) and (size_two.sum(axis=1) == 2).all()
    assert len({tuple(r) for r in size_two}) == 15
    with pytest.raises(ArgumentError):
        all_coalitions(40)


def test_allocate_splits_in_proportion_within_capacity():
    counts = allocate(10, np.array([1.0, 1.0, 2.0]))
    assert counts.tolist() == [3, 2, 5]  # largest remainders, ties to the first
    capped = allocate(10, np.array([1.0, 1.0, 2.0]), np.array([1, 100, 2]))
    assert capped.tolist() == [1, 7, 2]
    assert allocate(100, np.array([1.0, 1.0]), np.array([3, 4])).tolist() == [3, 4]
    grid = allocate(12, np.ones((2, 3)))
    assert grid.shape == (2, 3) and grid.sum() == 12


# ---------------------------------------------------------------------------------------------- designs
def _paired(members):
    masks = np.empty((2 * len(members), members.shape[1]), dtype=bool)
    masks[0::2], masks[1::2] = members, ~members
    return masks


def test_designs_enumerate_everything_when_it_fits():
    designs = CoalitionDesigns(6)
    designs.start(1000)
    masks = designs.masks()
    assert designs.is_exact and masks.shape == (62, 6)
    assert len({tuple(r) for r in masks}) == 62
    np.testing.assert_array_equal(masks[0::2], ~masks[1::2])  # complementary pairs
    np.testing.assert_allclose(designs.weights(), kernel_weights(6, masks.sum(axis=1)))
    assert enumerated_coalitions(6, 1000) == 62


@pytest.mark.parametrize("allocation", ["kernel", "uniform", "sqrt"])
def test_designs_sample_pairs_without_replacement(allocation):
    designs = CoalitionDesigns(12, n_designs=3, allocation=allocation, seed=3)
    designs.start(400)
    assert designs.coalitions().tolist() == [400, 400, 400]
    assert designs.enumerated[0] and designs.shared.shape[0] == 12  # the 24 coalitions of sizes 1 and 11
    for _ in range(3):
        new = designs.extend(75)
        assert new.stop - new.start == 3 * 75
    mass = kernel_mass(12)
    for d in range(3):
        masks = designs.masks(d)
        np.testing.assert_array_equal(masks[0::2], ~masks[1::2])
        assert len({tuple(r) for r in masks}) == masks.shape[0]  # no coalition twice within a design
        # The weights keep each stratum's exact share of the kernel.
        sizes = masks.sum(axis=1)
        strata = np.minimum(sizes, 12 - sizes)
        weights = designs.weights(d)
        for t in range(1, 7):
            expected = mass[t] if 2 * t == 12 else 2 * mass[t]
            assert weights[strata == t].sum() == pytest.approx(expected)
    assert not np.array_equal(designs.masks(0), designs.masks(1))  # independent designs
    assert enumerated_coalitions(12, 400, allocation) == 24


def test_balanced_sampling_spreads_players_evenly():
    designs = CoalitionDesigns(30, seed=0)
    designs.start(2000)
    third = designs.first[designs.stratum == 2]  # the size-3 members of stratum 3
    counts = third.sum(axis=0)
    assert counts.max() - counts.min() <= 3  # independent draws would spread them much wider


def test_designs_extend_small_strata_to_exhaustion():
    designs = CoalitionDesigns(8, n_designs=2, seed=1)
    designs.start(100)
    designs.extend(np.array([[0, 1000, 0, 0], [0, 5, 0, 0]]))  # more than the 28 pairs of stratum 2
    assert designs.pairs_sampled[0, 1] == 28 and designs.capacity()[0, 1] == 0
    assert designs.finite_population_correction()[0, 1] == 0
    for d in range(2):
        masks = designs.masks(d)
        assert len({tuple(r) for r in masks}) == masks.shape[0]


def test_designs_reject_bad_arguments():
    with pytest.raises(ArgumentError):
        CoalitionDesigns(1)
    with pytest.raises(ArgumentError):
        CoalitionDesigns(5, allocation="nope").start(10)
    designs = CoalitionDesigns(5)
    designs.start(10)
    with pytest.raises(ArgumentError):
        designs.start(10)


# ---------------------------------------------------------------------------------------------- regression
def _design_gains(games, designs):
    """Gains of the shared and sampled coalitions, design d playing games[d] (from the oracle's tables)."""
    n_players = designs.n_players
    weights_of_code = 1 << np.arange(n_players)
    shared_masks = _paired(designs.shared)
    shared, totals = [], []
    for table in games:  # table: (2^M, T) coalition values of one design's game
        shared.append(table[shared_masks.astype(np.int64) @ weights_of_code] - table[0])
        totals.append(table[-1] - table[0])
    sampled_masks = _paired(designs.first)
    owner = np.repeat(designs.design, 2)
    codes = sampled_masks.astype(np.int64) @ weights_of_code
    sampled = np.zeros((len(codes), games[0].shape[1]))
    for d, table in enumerate(games):  # a loop over designs
        sampled[owner == d] = table[codes[owner == d]] - table[0]
    return np.stack(shared), sampled, np.stack(totals)


def _tables(predict, rows, background, weights):
    """Per-design game tables: design b plays the game against background row b alone."""
    tables = []
    for b in range(background.shape[0]):
        per_row = [coalition_values(predict, row, background[b:b + 1]) for row in rows]
        tables.append(np.concatenate(per_row, axis=1))  # (2^M, rows * K), target = row-major
    return tables


def test_full_enumeration_regression_equals_the_oracle():
    predict, rows, background, weights = _game(8)
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    designs = CoalitionDesigns(8, n_designs=4)
    designs.start(10**6)
    shared, sampled, totals = _design_gains(_tables(predict, rows, background, weights), designs)
    solution = solve_designs(designs, shared, sampled, totals, weights / weights.sum())
    np.testing.assert_allclose(solution.values.reshape(3, 2, 8).transpose(0, 2, 1), exact, atol=1e-10)
    assert np.all(solution.standard_errors == 0)


def test_generic_solver_on_unpaired_masks():
    predict, rows, background, weights = _game(6, seed=2)
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    masks = all_coalitions(6)  # binary order, not in complementary pairs
    tables = [coalition_values(predict, row, background, weights) for row in rows]
    codes = masks.astype(np.int64) @ (1 << np.arange(6))
    gains = np.concatenate([t[codes] - t[0] for t in tables], axis=1)
    totals = np.concatenate([t[-1] - t[0] for t in tables])
    solution = solve_shapley_regression(masks, kernel_weights(6, masks.sum(axis=1)), gains, totals)
    np.testing.assert_allclose(solution.values.reshape(3, 2, 6).transpose(0, 2, 1), exact, atol=1e-10)


def test_null_players_get_zero_and_the_rest_stay_exact():
    n = 7
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(2, n))
    background = rng.normal(size=(3, n))
    background[:, 3] = rows[0, 3]  # feature 3 of row 0 equals every background value: a null player
    background[1, 5] = rows[1, 5]  # feature 5 of row 1 is null against background row 1 only

    def predict(X):
        return X[:, 3] * X[:, 0] + X[:, 5] ** 2 * X[:, 1] + np.cos(X[:, 2] * X[:, 6])

    exact, _ = exact_shapley_values(predict, rows, background)
    designs = CoalitionDesigns(n, n_designs=3)
    designs.start(10**4)
    shared, sampled, totals = _design_gains(_tables(predict, rows, background, None), designs)
    active = (rows[None, :, :] != background[:, None, :])  # (D, rows, M): null where equal
    solution = solve_designs(designs, shared, sampled, totals, np.full(3, 1 / 3), active=active)
    assert solution.values[0, 3] == 0.0
    np.testing.assert_allclose(solution.values, exact[:, :, 0], atol=1e-10)


def test_sampled_values_are_additive_and_errors_are_calibrated():
    n = 12
    predict, rows, background, weights = _game(n, seed=5)
    weights = weights / weights.sum()
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    tables = _tables(predict, rows, background, weights)
    z_scores = []
    for seed in range(10):
        designs = CoalitionDesigns(n, n_designs=4, seed=seed)
        designs.start(300)
        shared, sampled, totals = _design_gains(tables, designs)
        solution = solve_designs(designs, shared, sampled, totals, weights)
        np.testing.assert_allclose(solution.values.sum(axis=1), weights @ totals, atol=1e-10)
        errors = solution.values.reshape(3, 2, n).transpose(0, 2, 1) - exact
        standard_errors = solution.standard_errors.reshape(3, 2, n).transpose(0, 2, 1)
        assert (standard_errors > 0).all()
        z_scores.append(np.abs(errors) / standard_errors)
    z_scores = np.concatenate([z.ravel() for z in z_scores])
    assert np.mean(z_scores < 4) >= 0.97
    assert 0.85 <= np.mean(z_scores < 2) <= 0.995  # roughly the normal 95%


def test_more_samples_reduce_the_error_and_independent_designs_beat_a_shared_one():
    n = 12
    predict, rows, background, weights = _game(n, seed=6)
    weights = weights / weights.sum()
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    tables = _tables(predict, rows, background, weights)

    def rmse(budget, shared_design):
        errors = []
        for seed in range(6):
            designs = CoalitionDesigns(n, n_designs=4, seed=seed)
            designs.start(budget)
            if shared_design:  # every background row plays design 0's coalitions
                keep = designs.design == 0
                designs.first = np.tile(designs.first[keep], (4, 1))
                designs.design = np.repeat(np.arange(4), keep.sum())
                designs.stratum = np.tile(designs.stratum[keep], 4)
            shared, sampled, totals = _design_gains(tables, designs)
            values = solve_designs(designs, shared, sampled, totals, weights).values
            errors.append(values.reshape(3, 2, n).transpose(0, 2, 1) - exact)
        return np.sqrt(np.mean(np.square(errors)))

    assert rmse(1600, False) < 0.6 * rmse(200, False)
    assert rmse(400, False) < rmse(400, True)


# ---------------------------------------------------------------------------------------------- synthetic rows
def test_fill_synthetic_is_an_exact_select_even_for_nan_and_inf():
    masks = RNG.random((40, 6)) < 0.5
    owner = RNG.integers(0, 3, 40)
    rows = RNG.normal(size=(5, 6))
    rows[0, 0], rows[1, 2] = np.nan, -np.inf
    background = RNG.normal(size=(3, 6)) * 1e300
    background[2, 4] = np.nan
    expected = np.where(masks[:, None, :], rows[None], background[owner][:, None, :]).reshape(-1, 6)
    out = fill_synthetic(masks, owner, rows, background)
    np.testing.assert_array_equal(out, expected)
    as_objects = fill_synthetic(masks, owner, rows.astype(object), background)
    assert as_objects.dtype == object
    np.testing.assert_array_equal(as_objects.astype(float), expected)


# ---------------------------------------------------------------------------------------------- the oracle itself
def test_oracle_on_games_with_known_values():
    # Linear model: phi_j = beta_j (x_j - E_w[b_j]) exactly.
    beta = np.array([1.0, -2.0, 0.5, 3.0])
    rows = RNG.normal(size=(2, 4))
    background = RNG.normal(size=(5, 4))
    weights = RNG.random(5)
    values, expected = exact_shapley_values(lambda X: X @ beta, rows, background, weights)
    mean = (weights / weights.sum()) @ background
    np.testing.assert_allclose(values[:, :, 0], beta * (rows - mean), atol=1e-12)
    np.testing.assert_allclose(expected, [mean @ beta])
    # A product of two features against a zero background splits equally.
    split, _ = exact_shapley_values(lambda X: X[:, 0] * X[:, 1], np.array([[2.0, 3.0, 7.0]]), np.zeros((1, 3)))
    np.testing.assert_allclose(split[0, :, 0], [3.0, 3.0, 0.0])
    assert exact_expected_value(lambda X: X[:, 0], background, weights)[0] == pytest.approx(mean[0])


def test_single_game_plan_and_solver_with_errors():
    n = 10
    predict, rows, background, weights = _game(n, seed=8)
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    tables = [coalition_values(predict, row, background, weights) for row in rows]
    z_scores = []
    for seed in range(8):
        plan = CoalitionPlan(n, seed=seed)
        masks = plan.start(150)
        extra = plan.extend(50)
        assert masks.shape == (150, n) and extra.shape == (100, n) and plan.n_coalitions == 250
        np.testing.assert_array_equal(plan.masks[150:], extra)
        assert plan.weights().sum() == pytest.approx(kernel_mass(n).sum())
        codes = plan.masks.astype(np.int64) @ (1 << np.arange(n))
        gains = np.concatenate([t[codes] - t[0] for t in tables], axis=1)
        totals = np.concatenate([t[-1] - t[0] for t in tables])
        solved = solve_shapley_regression(plan.masks, plan.weights(), gains, totals, plan=plan)
        generic = solve_shapley_regression(plan.masks, plan.weights(), gains, totals)
        np.testing.assert_allclose(solved.values, generic.values, atol=1e-10)
        errors = solved.values.reshape(3, 2, n).transpose(0, 2, 1) - exact
        z_scores.append(np.abs(errors) / solved.standard_errors.reshape(3, 2, n).transpose(0, 2, 1))
    assert np.mean(np.concatenate([z.ravel() for z in z_scores]) < 4) >= 0.97
    with pytest.raises(ArgumentError, match="one row per planned coalition"):
        solve_shapley_regression(plan.masks, plan.weights(), gains[:5], totals, plan=plan)
    exact_plan = CoalitionPlan(5)
    assert exact_plan.start(100).shape == (30, 5) and exact_plan.is_exact
