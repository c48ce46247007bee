"""The contract every direct explainer keeps: shapes fixed by the task, names, additivity, JSON, bad input.

Each case builds a small model and an explainer for it; the same checks run on all of them.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

from pellucid.errors import DataShapeError
from pellucid.explanation import Explanation

IRIS_X, IRIS_Y = load_iris(return_X_y=True)
DIABETES_X, DIABETES_Y = load_diabetes(return_X_y=True)
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]


def _explainer(module: str, name: str):
    # imported directly: a broken pellucid module must fail the test, never skip it
    return getattr(importlib.import_module(module), name)


def linear_classifier():
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y)
    return _explainer("pellucid.explainers.linear", "LinearExplainer")(model, IRIS_X, classes=IRIS_CLASSES), True


def linear_regressor():
    from sklearn.linear_model import Ridge

    model = Ridge().fit(DIABETES_X, DIABETES_Y)
    return _explainer("pellucid.explainers.linear", "LinearExplainer")(model, DIABETES_X), True


def tree_classifier():
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(IRIS_X, IRIS_Y)
    return _explainer("pellucid.explainers.tree", "TreeExplainer")(model, classes=IRIS_CLASSES), True


def tree_regressor():
    from sklearn.ensemble import GradientBoostingRegressor

    model = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(DIABETES_X, DIABETES_Y)
    return _explainer("pellucid.explainers.tree", "TreeExplainer")(model), True


def kernel_classifier():
    from sklearn.neighbors import KNeighborsClassifier

    model = KNeighborsClassifier().fit(IRIS_X, IRIS_Y)
    explainer = _explainer("pellucid.explainers.kernel", "KernelExplainer")
    return explainer(model, IRIS_X, classes=IRIS_CLASSES, nclusters=5), True


def kernel_regressor():
    from sklearn.svm import SVR

    model = SVR().fit(DIABETES_X, DIABETES_Y)
    explainer = _explainer("pellucid.explainers.kernel", "KernelExplainer")
    return explainer(model, DIABETES_X, nclusters=5, nsamples=200), True


def mimic_classifier():
    from sklearn.ensemble import RandomForestClassifier

    from pellucid.mimic.models import LGBMExplainableModel

    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(IRIS_X, IRIS_Y)
    explainer = _explainer("pellucid.explainers.mimic", "MimicExplainer")
    return explainer(model, IRIS_X, LGBMExplainableModel, classes=IRIS_CLASSES, augment_data=False), True


def lime_regressor():
    from sklearn.linear_model import Ridge

    model = Ridge().fit(DIABETES_X, DIABETES_Y)
    explainer = _explainer("pellucid.explainers.lime", "LIMEExplainer")
    return explainer(model, DIABETES_X, num_samples=500), False


def deep_classifier():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3)).double().eval()
    explainer = _explainer("pellucid.explainers.deep", "DeepExplainer")
    return explainer(network, IRIS_X[::5], classes=IRIS_CLASSES, model_task="classification"), True


def tabular_classifier():
    from sklearn.ensemble import ExtraTreesClassifier

    from pellucid.explainers.tabular import TabularExplainer

    model = ExtraTreesClassifier(n_estimators=5, max_depth=3, random_state=0).fit(IRIS_X, IRIS_Y)
    return TabularExplainer(model, IRIS_X, classes=IRIS_CLASSES), True


CASES = [linear_classifier, linear_regressor, tree_classifier, tree_regressor, kernel_classifier, kernel_regressor,
         mimic_classifier, lime_regressor, deep_classifier, tabular_classifier]


@pytest.fixture(params=CASES, ids=[case.__name__ for case in CASES])
def case(request):
    explainer, additive = request.param()
    classification = "classifier" in request.param.__name__
    X = IRIS_X if classification else DIABETES_X
    return explainer, additive, classification, X


def test_shapes_names_and_classes(case):
    explainer, _, classification, X = case
    explanation = explainer.explain_local(X[:4])
    k = 3 if classification else 1
    assert explanation.local_values.shape == (4, X.shape[1], k)
    assert explanation.expected_values_array.shape == (k,)
    assert explanation.task == ("classification" if classification else "regression")
    assert explanation.classes == (IRIS_CLASSES if classification else None)
    assert len(explanation.features) == X.shape[1]
    assert explanation.meta["output_space"] and explanation.meta["method"]
    ranked = explanation.get_ranked_local_names(top_k=2)
    assert np.array(ranked).shape == ((k, 4, 2) if classification else (4, 2))
    assert explainer.explain_local(X[0]).local_values.shape == (1, X.shape[1], k)


def test_additivity(case):
    explainer, additive, _, X = case
    if not additive:
        pytest.skip("this method's values are not additive by definition")
    explanation = explainer.explain_local(X[:6])
    total = explanation.local_values.sum(axis=1) + explanation.expected_values_array
    assert np.allclose(total, explanation.model_output, atol=1e-6)


def test_global_and_json_round_trip(case):
    explainer, _, _, X = case
    explanation = explainer.explain_global(X[:8])
    assert len(explanation.get_ranked_global_names()) == X.shape[1]
    back = Explanation.from_json(explanation.to_json())
    assert back.equals(explanation)


def test_wrong_feature_count_is_refused(case):
    explainer, _, _, X = case
    with pytest.raises(DataShapeError):
        explainer.explain_local(X[:3, :-1])
