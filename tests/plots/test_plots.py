"""Every plot, rendered with the Agg backend, draws the explanation's own numbers.

The oracle is numpy on the explanation's arrays (and, for interactions, TreeSHAP's interaction values, whose
rows sum to the SHAP values): bar widths, point positions, waterfall ends and image cells are read back from
the matplotlib artists and compared with it.
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402

from pellucid.errors import ArgumentError, DataShapeError, MissingDependencyError  # noqa: E402
from pellucid.explainers.tree import TreeExplainer  # noqa: E402
from pellucid.explanation import Explanation  # noqa: E402
from pellucid.plots import strongest_interaction  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def multiclass(seed: int = 0, n_rows: int = 60, n_features: int = 7) -> Explanation:
    rng = np.random.default_rng(seed)
    local = rng.normal(size=(n_rows, n_features, 3)) * np.linspace(2.0, 0.2, n_features)[None, :, None]
    expected = np.array([0.2, 0.3, 0.5])
    return Explanation(method="random", task="classification", features=[f"f{j}" for j in range(n_features)],
                       classes=["x", "y", "z"], local_values=local, expected_values=expected,
                       eval_data=rng.normal(size=(n_rows, n_features)),
                       model_output=expected + local.sum(axis=1), meta={"output_space": "log_odds"})


def regression(seed: int = 1, n_rows: int = 80, n_features: int = 12) -> Explanation:
    rng = np.random.default_rng(seed)
    local = rng.normal(size=(n_rows, n_features, 1)) * rng.uniform(0.1, 3.0, size=(1, n_features, 1))
    return Explanation(method="random", task="regression", features=[f"r{j}" for j in range(n_features)],
                       local_values=local, expected_values=np.array([10.0]),
                       eval_data=rng.normal(size=(n_rows, n_features)), meta={"output_space": "raw"})


def categorical(seed: int = 2, n_rows: int = 90) -> Explanation:
    rng = np.random.default_rng(seed)
    data = np.empty((n_rows, 3), dtype=object)
    data[:, 0] = rng.normal(size=n_rows)
    data[:, 1] = rng.choice(["red", "green", "blue"], size=n_rows)
    data[:, 2] = rng.integers(18, 80, size=n_rows)
    local = rng.normal(size=(n_rows, 3, 2))
    local[:, :, 0] = -local[:, :, 1]
    return Explanation(method="random", task="classification", features=["income", "colour", "age"],
                       classes=["no", "yes"], local_values=local, expected_values=np.array([0.4, 0.6]),
                       eval_data=data, is_raw=True)


def _bars(ax):
    """(y, left, width) of every bar patch."""
    return np.array([(p.get_y() + p.get_height() / 2.0, p.get_x(), p.get_width()) for p in ax.patches])


def _labels(ax):
    """The y tick labels from the top of the axes down."""
    ticks = sorted(((t.get_position()[1], t.get_text()) for t in ax.get_yticklabels()), reverse=True)
    return [text for _, text in ticks]


# ---------------------------------------------------------------------- bar
def test_bar_regression_widths_are_the_top_k_global_values_in_order():
    e = regression()
    ax = e.plot_bar(top_k=5)
    overall = e.global_values[:, 0]
    top = np.argsort(-overall)[:5]
    bars = _bars(ax)
    bars = bars[np.argsort(-bars[:, 0])]  # top bar first
    np.testing.assert_allclose(bars[:, 2], overall[top])
    np.testing.assert_allclose(bars[:, 1], 0.0)
    assert _labels(ax) == [e.features[j] for j in top]


def test_bar_stacks_classes_and_selects_one():
    e = multiclass()
    ax = e.plot_bar(top_k=4)
    values = e.global_values
    top = np.argsort(-values.sum(axis=1))[:4]
    bars = _bars(ax)  # class 0 segments for the 4 features, then class 1, then class 2
    assert bars.shape == (12, 3)
    for k in range(3):
        segment = bars[4 * k : 4 * (k + 1)]
        segment = segment[np.argsort(-segment[:, 0])]
        np.testing.assert_allclose(segment[:, 2], values[top, k])
        np.testing.assert_allclose(segment[:, 1], values[top, :k].sum(axis=1))
    one = _bars(e.plot_bar(top_k=3, output="z"))
    one = one[np.argsort(-one[:, 0])]
    np.testing.assert_allclose(one[:, 2], np.sort(values[:, 2])[::-1][:3])


def test_bar_of_a_global_only_explanation():
    rng = np.random.default_rng(3)
    e = Explanation(method="permutation_importance", task="regression", features=list("abcd"),
                    global_values=rng.uniform(size=(4, 1)))
    bars = _bars(e.plot_bar())
    np.testing.assert_allclose(np.sort(bars[:, 2]), np.sort(e.global_values[:, 0]))
    with pytest.raises(ArgumentError, match="global-only"):
        e.plot_beeswarm()


# ---------------------------------------------------------------------- beeswarm
def test_beeswarm_points_are_the_local_values_of_each_top_feature():
    e = multiclass()
    ax = e.plot_beeswarm(top_k=5, output="y")
    k = 1
    top = np.argsort(-np.abs(e.local_values[:, :, k]).mean(axis=0))[:5]
    assert len(ax.collections) == 5
    for position, (collection, j) in enumerate(zip(ax.collections, top)):
        offsets = np.asarray(collection.get_offsets())
        np.testing.assert_allclose(offsets[:, 0], e.local_values[:, j, k])
        line = 4 - position
        assert np.all(np.abs(offsets[:, 1] - line) <= 0.4 + 1e-12)
        # points close in x are spread apart: no two points of the swarm sit on top of each other
        assert len({(round(x, 9), round(y, 9)) for x, y in offsets}) == offsets.shape[0]
        # colour follows the feature value: the reddest point has a higher value than the bluest
        colours = collection.get_facecolors()
        assert e.eval_data[np.argmax(colours[:, 0] - colours[:, 2]), j] > e.eval_data[np.argmin(colours[:, 0] - colours[:, 2]), j]
    assert _labels(ax) == [e.features[j] for j in top]


def test_beeswarm_colours_a_categorical_feature_by_category():
    e = categorical()
    ax = e.plot_beeswarm(top_k=3)
    j = e.features.index("colour")
    labels = _labels(ax)
    collection = ax.collections[labels.index("colour")]
    colours = [tuple(c) for c in collection.get_facecolors()]
    by_category: dict = {}
    for value, colour in zip(e.eval_data[:, j], colours):
        by_category.setdefault(value, set()).add(colour)
    assert all(len(c) == 1 for c in by_category.values())  # one colour per category
    assert len({next(iter(c)) for c in by_category.values()}) == 3  # three different colours
    np.testing.assert_allclose(np.asarray(collection.get_offsets())[:, 0], e.local_values[:, j, 1])


# ---------------------------------------------------------------------- dependence
def test_dependence_points_and_the_strongest_interaction():
    rng = np.random.default_rng(4)
    n = 300
    data = rng.normal(size=(n, 3))
    local = np.zeros((n, 3, 1))
    local[:, 0, 0] = data[:, 0] * data[:, 1]  # f0's effect depends on f1, not on f2
    local[:, 1, 0] = 0.5 * data[:, 1]
    local[:, 2, 0] = 0.1 * rng.normal(size=n)
    e = Explanation(method="synthetic", task="regression", features=["f0", "f1", "f2"], local_values=local,
                    expected_values=np.array([0.0]), eval_data=data)
    assert strongest_interaction(e, "f0") == 1
    ax = e.plot_dependence("f0")
    offsets = np.asarray(ax.collections[0].get_offsets())
    np.testing.assert_allclose(offsets[:, 0], data[:, 0])
    np.testing.assert_allclose(offsets[:, 1], local[:, 0, 0])
    colours = ax.collections[0].get_facecolors()
    warmth = colours[:, 0] - colours[:, 2]
    assert np.corrcoef(warmth, data[:, 1])[0, 1] > 0.8  # coloured by f1
    ax = e.plot_dependence(0, interaction="f2")
    warmth = ax.collections[0].get_facecolors()[:, 0] - ax.collections[0].get_facecolors()[:, 2]
    assert np.corrcoef(warmth, data[:, 2])[0, 1] > 0.8


def test_dependence_of_a_categorical_feature_places_categories_on_integer_positions():
    e = categorical()
    ax = e.plot_dependence("colour", interaction=None, output="no")
    offsets = np.asarray(ax.collections[0].get_offsets())
    codes = {"blue": 0, "green": 1, "red": 2}
    expected_x = np.array([codes[v] for v in e.eval_data[:, 1]])
    assert np.all(np.abs(offsets[:, 0] - expected_x) <= 0.2)
    np.testing.assert_allclose(offsets[:, 1], e.local_values[:, 1, 0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["blue", "green", "red"]


# ---------------------------------------------------------------------- waterfall and force
@pytest.mark.parametrize("row", [0, 7, -1])
def test_waterfall_runs_from_expected_value_to_the_output(row):
    e = regression()
    ax = e.plot_waterfall(row, top_k=6)
    values = e.local_values[row, :, 0]
    base = e.expected_values_array[0]
    bars = _bars(ax)
    bars = bars[np.argsort(bars[:, 0])]  # bottom to top
    assert bars.shape[0] == 6
    np.testing.assert_allclose(bars[0, 1], base)
    ends = bars[:, 1] + bars[:, 2]
    np.testing.assert_allclose(bars[1:, 1], ends[:-1])  # each bar starts where the one below ended
    np.testing.assert_allclose(ends[-1], base + values.sum())
    top = np.argsort(-np.abs(values))[:5]
    np.testing.assert_allclose(bars[1:, 2][::-1], values[top])  # largest |value| on top
    np.testing.assert_allclose(bars[0, 2], np.delete(values, top).sum())  # the "other features" bar
    assert _labels(ax)[-1] == f"{e.n_features - 5} other features"


def test_waterfall_of_a_classifier_uses_the_class_output():
    e = multiclass()
    ax = e.plot_waterfall(3, output="x", top_k=100)
    bars = _bars(ax)
    assert bars.shape[0] == e.n_features  # every feature shown, no "other" bar
    top_bar = bars[np.argmax(bars[:, 0])]
    np.testing.assert_allclose(top_bar[1] + top_bar[2], e.model_output[3, 0])
    np.testing.assert_allclose(bars[np.argmin(bars[:, 0]), 1], e.expected_values_array[0])
    with pytest.raises(ArgumentError, match="classes"):
        e.plot_waterfall(0, output="nope")
    with pytest.raises(ArgumentError, match="row"):
        e.plot_waterfall(e.n_rows)


def test_force_stacks_positive_values_below_and_negative_values_above_the_output():
    e = regression()
    row = 5
    values = e.local_values[row, :, 0]
    fx = e.expected_values_array[0] + values.sum()
    ax = e.plot_force(row)
    bars = _bars(ax)
    positive, negative = values[values > 0], values[values < 0]
    pos_bars, neg_bars = bars[: positive.size], bars[positive.size :]
    np.testing.assert_allclose(pos_bars[:, 2], np.sort(positive)[::-1])  # largest nearest f(x)
    np.testing.assert_allclose(neg_bars[:, 2], np.sort(-negative)[::-1])
    np.testing.assert_allclose(pos_bars[:, 1].min(), fx - positive.sum())
    np.testing.assert_allclose((pos_bars[:, 1] + pos_bars[:, 2]).max(), fx)
    np.testing.assert_allclose(neg_bars[:, 1].min(), fx)
    np.testing.assert_allclose((neg_bars[:, 1] + neg_bars[:, 2]).max(), fx - negative.sum())
    lines = [line.get_xdata()[0] for line in ax.get_lines()]
    np.testing.assert_allclose(lines, [e.expected_values_array[0]])


# ---------------------------------------------------------------------- heatmap and interactions
def test_heatmap_image_is_the_local_values_sorted_by_output():
    e = multiclass()
    ax = e.plot_heatmap(top_k=4, output="z")
    values = e.local_values[:, :, 2]
    top = np.argsort(-np.abs(values).mean(axis=0))[:4]
    rows = np.argsort(values.sum(axis=1), kind="stable")
    np.testing.assert_allclose(ax.images[0].get_array(), values[np.ix_(rows, top)].T)
    ax = e.plot_heatmap(top_k=2, output="z", order="none")
    np.testing.assert_allclose(ax.images[0].get_array(), values[:, top[:2]].T)


def test_interactions_matrix_of_tree_shap_interaction_values():
    data = load_diabetes()
    X, y = data.data[:120], data.target[:120]
    model = RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
    explainer = TreeExplainer(model, X, features=list(data.feature_names))
    e = explainer.explain_local(X)
    inter = explainer.shap_interaction_values(X)
    np.testing.assert_allclose(inter.sum(axis=2), e.local_values, atol=1e-8)  # the oracle is consistent
    ax = e.plot_interactions(inter, top_k=4)
    top = np.argsort(-np.abs(e.local_values[:, :, 0]).mean(axis=0))[:4]
    np.testing.assert_allclose(ax.images[0].get_array(), np.abs(inter[..., 0]).mean(axis=0)[np.ix_(top, top)])
    assert _labels(ax)[::-1] == [e.features[j] for j in top]  # image rows run top to bottom
    # the strongest partner of the top feature by interaction values
    j = top[0]
    partner = strongest_interaction(e, int(j), interaction_values=inter)
    strength = np.abs(inter[:, j, :, 0]).mean(axis=0)
    strength[j] = -1
    assert partner == int(np.argmax(strength))
    with pytest.raises(DataShapeError, match="interaction_values"):
        e.plot_interactions(inter[:, :3])


# ---------------------------------------------------------------------- axes and dependencies
def test_every_plot_draws_on_the_given_axes_and_returns_it():
    e = multiclass()
    _, axes = plt.subplots(2, 3)
    calls = [e.plot_bar, e.plot_beeswarm, e.plot_heatmap, e.plot_waterfall, e.plot_force,
             lambda ax: e.plot_dependence("f0", ax=ax)]
    for call, ax in zip(calls, axes.ravel()):
        assert call(ax=ax) is ax if call.__name__ != "<lambda>" else call(ax) is ax
        assert ax.has_data()


def test_a_missing_matplotlib_names_the_plots_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependencyError, match=r"pellucid\[plots\]"):
        regression().plot_bar()


def test_beeswarm_legend_names_the_categories_of_a_categorical_feature():
    ax = categorical().plot_beeswarm(top_k=3)
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "colour"
    assert [t.get_text() for t in legend.get_texts()] == ["blue", "green", "red"]
