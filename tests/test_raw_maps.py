"""The SDK's ``get_raw_explanation`` / ``get_raw_feature_importances`` on user maps (its raw-explanation tests).

The SDK's tests map an explanation of n features through ``np.eye(n - 1, n)``: the last engineered feature maps
to no raw feature. A global explanation's raw importances come back in the global layout (``[raw features]``),
a local explanation's in the local one. Oracles: the engineered values of the mapped columns (an identity map
keeps them), sums of engineered columns for a grouping map, the mean absolute raw local value.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression

from pellucid.errors import TransformationError
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explanation import Explanation


@pytest.fixture(scope="module")
def iris_global():
    X, y = load_iris(return_X_y=True)
    names = ["sepal length", "sepal width", "petal length", "petal width"]
    model = LogisticRegression(max_iter=2000).fit(X, y)
    explainer = TabularExplainer(model, X[:100], features=names, classes=["setosa", "versicolor", "virginica"])
    return explainer, X


def test_eye_map_leaving_the_last_feature_unmapped(iris_global):
    explainer, X = iris_global
    overall = explainer.explain_global(X[100:130])
    feature_map = np.eye(3, 4)
    raw = overall.get_raw_explanation([feature_map], raw_feature_names=["0", "1", "2"])
    assert raw.features == ["0", "1", "2"] and raw.is_raw
    np.testing.assert_array_equal(raw.local_values, overall.local_values[:, :3])
    np.testing.assert_array_equal(raw.expected_values_array, overall.expected_values_array)
    np.testing.assert_allclose(raw.global_values, np.abs(raw.local_values).mean(axis=0), rtol=0, atol=0)
    assert np.asarray(raw.get_ranked_per_class_values()).shape == (3, 3)
    assert any("map to no raw feature" in note for note in raw.meta["notes"])
    # the engineered explanation's last column (its importance left out) is what raw additivity lacks
    gap = overall.local_values.sum(axis=1) - raw.local_values.sum(axis=1)
    np.testing.assert_allclose(gap, overall.local_values[:, 3], rtol=0, atol=1e-12)


def test_a_global_explanation_gives_raw_importances_in_the_global_layout(iris_global):
    explainer, X = iris_global
    overall = explainer.explain_global(X[100:130])
    importances = overall.get_raw_feature_importances([np.eye(3, 4)])
    assert np.asarray(importances).shape == (3,)
    np.testing.assert_allclose(importances, overall.global_importance_values[:3], rtol=0, atol=1e-15)
    # a grouping map: raw importance = mean over classes of the mean |sum of the group's local values|
    grouping = np.array([[1, 1, 0, 0], [0, 0, 1, 1]])
    grouped = np.stack([overall.local_values[:, :2].sum(axis=1), overall.local_values[:, 2:].sum(axis=1)], axis=1)
    np.testing.assert_allclose(overall.get_raw_feature_importances([grouping]), np.abs(grouped).mean(axis=0).mean(axis=1),
                               rtol=0, atol=1e-12)
    # so does a global explanation saved and loaded, and one without local values
    loaded = Explanation.from_json(overall.to_json())
    assert np.asarray(loaded.get_raw_feature_importances([np.eye(3, 4)])).shape == (3,)
    global_only = explainer.explain_global(X[100:130], include_local=False)
    np.testing.assert_allclose(global_only.get_raw_feature_importances([np.eye(3, 4)]), importances, rtol=0, atol=1e-15)


def test_a_local_explanation_gives_raw_importances_in_the_local_layout(iris_global):
    explainer, X = iris_global
    local = explainer.explain_local(X[100:105])
    importances = np.asarray(local.get_raw_feature_importances([np.eye(3, 4)]))
    assert importances.shape == (3, 5, 3)  # [classes][rows][raw features]
    np.testing.assert_array_equal(importances, np.moveaxis(local.local_values[:, :3], 2, 0))


def test_regression_and_bad_maps():
    X, y = load_diabetes(return_X_y=True)
    model = RandomForestRegressor(n_estimators=10, max_depth=3, random_state=0).fit(X, y)
    overall = TabularExplainer(model, X[:50]).explain_global(X[50:70])
    feature_map = np.eye(X.shape[1] - 1, X.shape[1])
    raw = overall.get_raw_explanation([feature_map])
    assert np.asarray(raw.local_importance_values).shape == (20, X.shape[1] - 1)
    assert np.asarray(raw.global_importance_values).shape == (X.shape[1] - 1,)
    assert np.asarray(overall.get_raw_feature_importances([feature_map])).shape == (X.shape[1] - 1,)
    negative = feature_map.copy()
    negative[0, 0] = -1.0
    with pytest.raises(TransformationError, match="non-negative"):
        overall.get_raw_explanation([negative])
    with pytest.raises(ValueError, match="engineered features"):
        overall.get_raw_explanation([np.eye(3, 4)])
