"""Shared Shapley arithmetic, checked against the brute-force oracle and first principles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pellucid.errors import ArgumentError
from pellucid.shapley import (
    CoalitionPlan,
    all_coalitions,
    allocate,
    coalitions_of_size,
    enumerated_coalitions,
    fill_synthetic,
    kernel_mass,
    kernel_weights,
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


# ---------------------------------------------------------------------------------------------- plans
def test_plan_enumerates_everything_when_it_fits():
    plan = CoalitionPlan(6)
    masks = plan.start(1000)
    assert plan.is_exact and masks.shape == (62, 6)
    assert len({tuple(r) for r in masks}) == 62
    np.testing.assert_array_equal(masks[0::2], ~masks[1::2])  # complementary pairs
    np.testing.assert_allclose(plan.weights(), kernel_weights(6, masks.sum(axis=1)))
    assert enumerated_coalitions(6, 1000) == 62


@pytest.mark.parametrize("allocation", ["kernel", "uniform", "sqrt"])
def test_plan_samples_pairs_without_replacement(allocation):
    plan = CoalitionPlan(12, allocation=allocation, seed=3)
    masks = plan.start(400)
    assert masks.shape[0] == 400
    np.testing.assert_array_equal(masks[0::2], ~masks[1::2])
    assert plan.enumerated[0]  # the 24 coalitions of sizes 1 and 11 fit
    for _ in range(3):
        new = plan.extend(150)
        assert new.shape[0] == 300
    keys = {tuple(r) for r in plan.masks}
    assert len(keys) == plan.n_coalitions  # no coalition twice
    # Weights keep each stratum's exact share of the kernel.
    sizes = plan.masks.sum(axis=1)
    strata = np.minimum(sizes, 12 - sizes)
    weights = plan.weights()
    mass = kernel_mass(12)
    for t in range(1, 7):
        expected = mass[t] if 2 * t == 12 else 2 * mass[t]
        assert weights[strata == t].sum() == pytest.approx(expected)
    assert enumerated_coalitions(12, 400, allocation) == 24


def test_balanced_sampling_spreads_players_evenly():
    plan = CoalitionPlan(30, allocation="uniform", seed=0)
    plan.start(2000)
    third = plan.masks[plan.stratum == 2][0::2]  # the size-3 members of stratum 3
    counts = third.sum(axis=0)
    assert counts.max() - counts.min() <= 3  # random sampling would spread them much wider


def test_plan_extends_small_strata_to_exhaustion():
    plan = CoalitionPlan(8, allocation="uniform", seed=1)
    plan.start(100)
    plan.extend(np.array([0, 1000, 0, 0]))  # more than the 28 pairs of stratum 2
    assert plan.enumerated[1] and plan.pairs_sampled[1] == 28
    assert len({tuple(r) for r in plan.masks}) == plan.n_coalitions


def test_plan_rejects_bad_arguments():
    with pytest.raises(ArgumentError):
        CoalitionPlan(1)
    with pytest.raises(ArgumentError):
        CoalitionPlan(5, allocation="nope").start(10)
    plan = CoalitionPlan(5)
    plan.start(10)
    with pytest.raises(ArgumentError):
        plan.start(10)


# ---------------------------------------------------------------------------------------------- regression
def test_full_enumeration_regression_equals_the_oracle():
    predict, rows, background, weights = _game(8)
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    plan = CoalitionPlan(8)
    masks = plan.start(10**6)
    gains, totals = _gains_for(predict, rows, background, weights, masks)
    solution = solve_shapley_regression(masks, plan.weights(), gains, totals, plan=plan)
    values = solution.values.reshape(3, 2, 8).transpose(0, 2, 1)
    np.testing.assert_allclose(values, exact, atol=1e-10)
    assert np.all(solution.standard_errors == 0)


def test_unpaired_masks_give_the_same_solution():
    predict, rows, background, weights = _game(6, seed=2)
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    masks = all_coalitions(6)  # binary order, not in complementary pairs
    gains, totals = _gains_for(predict, rows, background, weights, masks)
    solution = solve_shapley_regression(masks, kernel_weights(6, masks.sum(axis=1)), gains, totals)
    np.testing.assert_allclose(solution.values.reshape(3, 2, 6).transpose(0, 2, 1), exact, atol=1e-10)


def test_inactive_players_get_zero_and_the_rest_stay_exact():
    n = 7
    rng = np.random.default_rng(4)
    rows = rng.normal(size=(2, n))
    background = rng.normal(size=(3, n))
    background[:, 3] = rows[0, 3]  # feature 3 of row 0 equals every background value: a null player
    background[:, 5] = rows[1, 5]

    def predict(X):
        return X[:, 3] * X[:, 0] + X[:, 5] ** 2 * X[:, 1] + np.cos(X[:, 2] * X[:, 6])

    exact, _ = exact_shapley_values(predict, rows, background)
    plan = CoalitionPlan(n)
    masks = plan.start(10**4)
    gains, totals = _gains_for(predict, rows, background, None, masks)
    active = np.ones((2, n), dtype=bool)
    active[0, 3] = active[1, 5] = False
    solution = solve_shapley_regression(masks, plan.weights(), gains, totals, active=active)
    assert solution.values[0, 3] == 0.0 and solution.values[1, 5] == 0.0
    np.testing.assert_allclose(solution.values, exact[:, :, 0], atol=1e-10)


def test_sampled_values_are_additive_and_errors_are_calibrated():
    n = 12
    predict, rows, background, weights = _game(n, seed=5)
    exact, _ = exact_shapley_values(predict, rows, background, weights)
    z_scores = []
    for seed in range(12):
        plan = CoalitionPlan(n, allocation="uniform", seed=seed)
        masks = plan.start(300)
        gains, totals = _gains_for(predict, rows, background, weights, masks)
        solution = solve_shapley_regression(masks, plan.weights(), gains, totals, plan=plan)
        np.testing.assert_allclose(solution.values.sum(axis=1), totals, atol=1e-10)
        errors = solution.values.reshape(3, 2, n).transpose(0, 2, 1) - exact
        standard_errors = solution.standard_errors.reshape(3, 2, n).transpose(0, 2, 1)
        assert (standard_errors > 0).all()
        z_scores.append(np.abs(errors) / standard_errors)
    z_scores = np.concatenate([z.ravel() for z in z_scores])
    assert np.mean(z_scores < 4) >= 0.97
    assert 0.85 <= np.mean(z_scores < 2) <= 0.995  # roughly the normal 95%


def test_more_samples_reduce_the_error():
    n = 12
    predict, rows, background, weights = _game(n, seed=6)
    exact, _ = exact_shapley_values(predict, rows, background, weights)

    def rmse(budget):
        errors = []
        for seed in range(5):
            plan = CoalitionPlan(n, allocation="uniform", seed=seed)
            masks = plan.start(budget)
            gains, totals = _gains_for(predict, rows, background, weights, masks)
            values = solve_shapley_regression(masks, plan.weights(), gains, totals).values
            errors.append(values.reshape(3, 2, n).transpose(0, 2, 1) - exact)
        return np.sqrt(np.mean(np.square(errors)))

    assert rmse(1600) < 0.6 * rmse(200)


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
