"""Tests that catch silently wrong values (issue 16, mutation testing).

Each would fail on one deliberate bug no other test caught: background row weights ignored (Linear, Tree,
Kernel), k-means summary weights made uniform, ``explain_subset`` values misaligned with their names, LIME's
locality kernel replaced by uniform weights. Every oracle is computed here, independently of pellucid.
"""

from __future__ import annotations

from itertools import combinations
from math import factorial

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge

from pellucid.data import as_dataset, summarize
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explainers.tree import TreeExplainer

RNG = np.random.default_rng(11)
X = RNG.normal(size=(200, 4)) * [1.0, 2.0, 0.5, 3.0]
Y = X[:, 0] * 2 - X[:, 1] + np.sin(X[:, 2]) * 3 + 0.2 * X[:, 3] * X[:, 0]


class WeightedBackground:
    """DenseData-like background: rows, their names and their weights (shap's old summary type)."""

    def __init__(self, data: np.ndarray, weights: np.ndarray) -> None:
        self.data, self.weights = data, weights
        self.group_names = [f"x{j}" for j in range(data.shape[1])]


# Strongly unequal weights, computed here: a uniform mean gives clearly different values.
BACKGROUND = X[:6]
WEIGHTS = np.array([1.0, 2.0, 3.0, 5.0, 8.0, 13.0]) / 32.0


def _exact_interventional(f, rows: np.ndarray, background: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum_b w_b phi_b with phi_b the exact Shapley values of v_b(S) = f(x_S, b_notS), by enumeration."""
    n_rows, m = rows.shape
    phi = np.zeros((n_rows, m))
    for w, b in zip(weights, background):
        for j in range(m):
            others = [k for k in range(m) if k != j]
            for size in range(m):
                for subset in combinations(others, size):
                    weight = factorial(size) * factorial(m - size - 1) / factorial(m)
                    without = np.tile(b, (n_rows, 1))
                    without[:, list(subset)] = rows[:, list(subset)]
                    with_j = without.copy()
                    with_j[:, j] = rows[:, j]
                    phi[:, j] += w * weight * (f(with_j) - f(without))
    return phi


def test_linear_explainer_uses_background_row_weights():
    model = Ridge().fit(X, Y)
    explanation = LinearExplainer(model, WeightedBackground(BACKGROUND, WEIGHTS)).explain_local(X[10:20])
    weighted_mean = (WEIGHTS[:, None] * BACKGROUND).sum(axis=0)
    expected = (X[10:20] - weighted_mean) * model.coef_
    np.testing.assert_allclose(explanation.local_values[:, :, 0], expected, atol=1e-10)
    np.testing.assert_allclose(explanation.expected_values_array, [model.predict(weighted_mean[None])[0]], atol=1e-10)
    uniform = (X[10:20] - BACKGROUND.mean(axis=0)) * model.coef_
    assert np.abs(uniform - expected).max() > 0.1  # the oracle tells weighted from uniform apart


def test_linear_classifier_uses_background_row_weights():
    labels = (Y > np.median(Y)).astype(int)
    model = LogisticRegression(max_iter=1000).fit(X, labels)
    explanation = LinearExplainer(model, WeightedBackground(BACKGROUND, WEIGHTS)).explain_local(X[:5])
    expected = (X[:5] - (WEIGHTS[:, None] * BACKGROUND).sum(axis=0)) * model.coef_[0]
    np.testing.assert_allclose(explanation.local_values[:, :, 1], expected, atol=1e-10)


@pytest.mark.parametrize("model", [GradientBoostingRegressor(n_estimators=15, max_depth=3, random_state=0),
                                   RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0)],
                         ids=["gbm", "forest"])
def test_interventional_tree_shap_uses_background_row_weights(model):
    model.fit(X, Y)
    explainer = TreeExplainer(model, WeightedBackground(BACKGROUND, WEIGHTS), feature_perturbation="interventional")
    explanation = explainer.explain_local(X[20:26])
    oracle = _exact_interventional(model.predict, X[20:26], BACKGROUND, WEIGHTS)
    np.testing.assert_allclose(explanation.local_values[:, :, 0], oracle, atol=1e-8)
    np.testing.assert_allclose(explanation.expected_values_array, [WEIGHTS @ model.predict(BACKGROUND)], atol=1e-8)
    uniform = _exact_interventional(model.predict, X[20:26], BACKGROUND, np.full(6, 1 / 6))
    assert np.abs(uniform - oracle).max() > 0.05


def test_kernel_explainer_uses_background_row_weights():
    model = GradientBoostingRegressor(n_estimators=15, max_depth=3, random_state=0).fit(X, Y)
    explainer = KernelExplainer(model, WeightedBackground(BACKGROUND, WEIGHTS), nclusters=None)
    explanation = explainer.explain_local(X[30:34])  # 4 features: every coalition is enumerated, values are exact
    oracle = _exact_interventional(model.predict, X[30:34], BACKGROUND, WEIGHTS)
    np.testing.assert_allclose(explanation.local_values[:, :, 0], oracle, atol=1e-8)
    np.testing.assert_allclose(explanation.expected_values_array, [WEIGHTS @ model.predict(BACKGROUND)], atol=1e-10)


def test_kmeans_summary_weights_are_cluster_sizes():
    sizes = np.array([5, 15, 30, 50])
    data, labels = make_blobs(n_samples=sizes, centers=[[0, 0], [40, 0], [0, 40], [40, 40]], cluster_std=0.5,
                              random_state=0)
    summary = summarize(as_dataset(data), 4, seed=0)
    assert summary.n_rows == 4
    # each summary row sits in one blob; its weight must be that blob's share of the rows
    blob = np.argmin(((summary.values[:, None, :] - np.array([[0, 0], [40, 0], [0, 40], [40, 40]])) ** 2).sum(2), 1)
    assert sorted(blob.tolist()) == [0, 1, 2, 3]
    np.testing.assert_allclose(summary.weights, sizes[blob] / sizes.sum(), atol=1e-12)
    # and the summary's weighted mean is the data's mean, up to snapping centres to observed values
    np.testing.assert_allclose(summary.weights @ summary.values, data.mean(axis=0), atol=1.0)


@pytest.mark.parametrize("subset", [[3, 0, 2], [1], [2, 3]])
def test_explain_subset_equals_the_matching_slice_of_the_full_explanation(subset):
    model = RandomForestRegressor(n_estimators=8, max_depth=4, random_state=0).fit(X, Y)
    names = ["alpha", "beta", "gamma", "delta"]
    full = TabularExplainer(model, X[:50], features=names).explain_local(X[50:60])
    part = TabularExplainer(model, X[:50], features=names, explain_subset=subset).explain_local(X[50:60])
    assert part.features == [names[i] for i in subset]
    np.testing.assert_array_equal(part.local_values, full.local_values[:, subset, :])
    np.testing.assert_array_equal(part.eval_data, full.eval_data[:, subset])
    for row in range(3):
        ranked = dict(zip(part.get_ranked_local_names()[row], part.get_ranked_local_values()[row]))
        for name, value in ranked.items():
            assert value == full.local_values[row, names.index(name), 0]


def test_lime_weights_equal_a_ridge_fit_with_lime_kernel_weights():
    def model(Z):
        Z = np.asarray(Z, dtype=np.float64)
        return np.tanh(Z @ np.array([1.0, -0.5, 2.0, 0.1])) + 0.3 * Z[:, 0] * Z[:, 3]

    explainer = LIMEExplainer(model, X, model_task="regression", num_samples=600, seed=4)
    designs, calls = [], []
    design = explainer.sampler_.design

    def record_design(*args, **kwargs):
        designs.append(design(*args, **kwargs))
        return designs[-1]

    predict = explainer._predict

    def record_predict(values):
        calls.append(predict(values))
        return calls[-1]

    explainer.sampler_.design = record_design
    explainer._predict = record_predict
    row = X[123:124]
    values = explainer.explain_local(row).local_values[0, :, 0]
    interpretable = designs[0][0]                       # (num_samples, M): the row itself first
    targets = next(c for c in calls if c.shape[0] == 600)[:, 0]
    distances_sq = ((interpretable - interpretable[0]) ** 2).sum(axis=1)
    width = 0.75 * np.sqrt(X.shape[1])                  # lime's default kernel width
    kernel = np.sqrt(np.exp(-distances_sq / width**2))  # lime_tabular's kernel
    oracle = Ridge(alpha=1.0).fit(interpretable, targets, sample_weight=kernel).coef_
    np.testing.assert_allclose(values, oracle, rtol=0, atol=1e-8)
    uniform = Ridge(alpha=1.0).fit(interpretable, targets).coef_
    assert np.abs(uniform - oracle).max() > 1e-3      # a uniform kernel would give other weights
