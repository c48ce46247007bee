"""to_shap / from_shap against shap's own objects: TreeExplainer values vs shap.TreeExplainer(model)(X)."""

from __future__ import annotations

import numpy as np
import pytest
import shap
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

from pellucid.errors import ArgumentError, DataShapeError
from pellucid.explainers.tree import TreeExplainer
from pellucid.explanation import Explanation


@pytest.fixture(scope="module")
def iris_forest():
    X, y = load_iris(return_X_y=True)
    model = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(X, y)
    return model, X[::3]


def test_to_shap_equals_shaps_own_tree_explanation_multiclass(iris_forest):
    model, X = iris_forest
    ours = TreeExplainer(model, X, features=["a", "b", "c", "d"]).explain_local(X)
    theirs = shap.TreeExplainer(model)(X)
    converted = ours.to_shap()
    assert isinstance(converted, shap.Explanation)
    assert converted.values.shape == theirs.values.shape == (X.shape[0], 4, 3)
    np.testing.assert_allclose(converted.values, theirs.values, atol=1e-10)
    np.testing.assert_allclose(converted.base_values, theirs.base_values, atol=1e-10)
    np.testing.assert_array_equal(converted.data, X)
    assert list(converted.feature_names) == ["a", "b", "c", "d"]
    one = ours.to_shap(output=2)
    np.testing.assert_allclose(one.values, theirs.values[:, :, 2], atol=1e-10)
    np.testing.assert_allclose(one.base_values, theirs.base_values[:, 2], atol=1e-10)


def test_from_shap_round_trip_multiclass(iris_forest):
    model, X = iris_forest
    theirs = shap.TreeExplainer(model)(X)
    back = Explanation.from_shap(theirs, classes=[0, 1, 2], output_space="probability")
    ours = TreeExplainer(model, X).explain_local(X)
    np.testing.assert_allclose(back.local_values, ours.local_values, atol=1e-10)
    np.testing.assert_allclose(back.expected_values_array, ours.expected_values_array, atol=1e-10)
    np.testing.assert_array_equal(back.eval_data, X)
    assert back.classes == [0, 1, 2] and back.meta["output_space"] == "probability"
    # and back to shap again: the same numbers
    again = back.to_shap()
    np.testing.assert_allclose(again.values, theirs.values)
    np.testing.assert_allclose(again.base_values, theirs.base_values)


def test_regression_round_trip_and_shap_plots_draw_it():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = load_diabetes()
    X, y = data.data[:60], data.target[:60]
    model = RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
    ours = TreeExplainer(model, X, features=list(data.feature_names)).explain_local(X)
    theirs = shap.TreeExplainer(model)(X)
    converted = ours.to_shap()
    assert converted.values.shape == (60, 10) and converted.base_values.shape == (60,)
    np.testing.assert_allclose(converted.values, theirs.values, atol=1e-9)
    back = Explanation.from_shap(theirs)
    assert back.task == "regression"
    np.testing.assert_allclose(back.local_values, ours.local_values, atol=1e-9)
    shap.plots.waterfall(converted[0], show=False)  # shap's own plots accept the converted object
    shap.plots.beeswarm(converted, show=False)
    plt.close("all")


def test_from_shap_binary_margin_and_bad_input():
    values = np.array([[1.0, -2.0], [0.5, 0.25]])
    single = shap.Explanation(values=values, base_values=np.array([0.3, 0.3]), feature_names=["u", "v"])
    binary = Explanation.from_shap(single, classes=["neg", "pos"], output_space="log_odds")
    np.testing.assert_array_equal(binary.local_values[:, :, 1], values)
    np.testing.assert_array_equal(binary.local_values[:, :, 0], -values)
    np.testing.assert_array_equal(binary.expected_values_array, [-0.3, 0.3])
    varying = shap.Explanation(values=values, base_values=np.array([0.3, 0.4]))
    with pytest.raises(DataShapeError, match="base values differ"):
        Explanation.from_shap(varying)
    global_only = Explanation(method="pfi", task="regression", features=["u"], global_values=np.ones((1, 1)))
    with pytest.raises(ArgumentError, match="global-only"):
        global_only.to_shap()
