"""The local-explanation sample notebooks of the SDK, with only the imports changed.

interpret-community ``notebooks/explain-binary-classification-local``, ``explain-multiclass-classification-local``
and ``explain-regression-local`` (the same flows as Azure/MachineLearningNotebooks
``how-to-use-azureml/explain-model/tabular-data/``): train a scikit-learn model, explain it with
``TabularExplainer`` (also ``MimicExplainer`` and ``PFIExplainer``, the notebooks' alternatives), print the ranked
global importances and the ranked local importances of the predicted class.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import svm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

# was: from interpret.ext.blackbox import TabularExplainer, MimicExplainer, PFIExplainer
# was: from interpret.ext.glassbox import LGBMExplainableModel, LinearExplainableModel, ...
from pellucid import (
    DecisionTreeExplainableModel,
    ExplanationDashboard,
    LGBMExplainableModel,
    LinearExplainableModel,
    MimicExplainer,
    PFIExplainer,
    SGDExplainableModel,
    TabularExplainer,
)
from tests.compat._helpers import assert_global_ranking, assert_ranking_consistent, assert_sorted_desc


@pytest.fixture(scope="module")
def breast_cancer():
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.2, random_state=0)
    # the notebook's model; the test explains fewer rows to stay fast
    clf = svm.SVC(gamma=0.001, C=100.0, probability=True, random_state=0)
    model = clf.fit(x_train, y_train)
    return data, x_train[:20], x_test[:4], y_test[:4], clf, model


def test_binary_classification_tabular(breast_cancer):
    data, x_train, x_test, _, clf, model = breast_cancer
    classes = data.target_names.tolist()
    explainer = TabularExplainer(model, x_train, features=data.feature_names, classes=classes)
    global_explanation = explainer.explain_global(x_test)

    features = list(data.feature_names)
    assert global_explanation.features == features
    assert_global_ranking(global_explanation, features)
    per_class_names = global_explanation.get_ranked_per_class_names()
    per_class_values = global_explanation.get_ranked_per_class_values()
    assert len(per_class_names) == 2 and all(sorted(names) == sorted(features) for names in per_class_names)
    assert_sorted_desc(per_class_values)

    local = np.asarray(global_explanation.local_importance_values)
    assert local.shape == (2, len(x_test), len(features))  # [class][row][feature]
    expected = global_explanation.expected_values
    assert isinstance(expected, list) and len(expected) == 2
    # additivity on probabilities (the SVC falls back to kernel SHAP): sum + expected = predict_proba
    proba = model.predict_proba(x_test)
    np.testing.assert_allclose(local.sum(axis=2).T + np.asarray(expected), proba, atol=1e-6)

    instance_num = 0
    local_explanation = explainer.explain_local(x_test[instance_num, :])
    prediction_value = clf.predict(x_test)[instance_num]
    sorted_values = local_explanation.get_ranked_local_values()[prediction_value]
    sorted_names = local_explanation.get_ranked_local_names()[prediction_value]
    # one 1-D row: [class][feature], no row axis
    row_values = np.asarray(local_explanation.local_importance_values)
    assert row_values.shape == (2, len(features))
    assert len(sorted_names) == len(features) and isinstance(sorted_names[0], str)
    assert_sorted_desc(sorted_values)
    assert_ranking_consistent(sorted_names, sorted_values, features, row_values[prediction_value])
    one_row = np.asarray(local_explanation.expected_values) + row_values.sum(axis=1)
    np.testing.assert_allclose(one_row, proba[instance_num], atol=1e-6)

    # was: from interpret_community.widget import ExplanationDashboard
    page = ExplanationDashboard(global_explanation, model, datasetX=x_test).to_html()
    assert "worst area" in page


@pytest.mark.parametrize(
    "surrogate", [LGBMExplainableModel, LinearExplainableModel, SGDExplainableModel, DecisionTreeExplainableModel]
)
def test_binary_classification_mimic(breast_cancer, surrogate):
    data, x_train, x_test, _, clf, model = breast_cancer
    classes = data.target_names.tolist()
    explainer = MimicExplainer(
        model,
        x_train,
        surrogate,
        augment_data=True,
        max_num_of_augmentations=10,
        features=data.feature_names,
        classes=classes,
    )
    global_explanation = explainer.explain_global(x_test)
    features = list(data.feature_names)
    assert_global_ranking(global_explanation, features)
    assert np.asarray(global_explanation.local_importance_values).shape == (2, len(x_test), len(features))
    assert global_explanation.method.startswith("mimic.")

    local_explanation = explainer.explain_local(x_test[0, :])
    prediction_value = clf.predict(x_test)[0]
    names = local_explanation.get_ranked_local_names()[prediction_value]
    values = local_explanation.get_ranked_local_values()[prediction_value]
    assert len(names) == len(features)
    assert_sorted_desc(values)


def test_binary_classification_pfi(breast_cancer):
    data, _, x_test, y_test, _, model = breast_cancer
    classes = data.target_names.tolist()
    explainer = PFIExplainer(model, features=data.feature_names, classes=classes)
    global_explanation = explainer.explain_global(x_test, true_labels=y_test)
    features = list(data.feature_names)
    assert_global_ranking(global_explanation, features)
    assert len(global_explanation.get_ranked_global_values()) == len(features)


def test_multiclass_classification_tabular():
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(iris.data, iris.target, test_size=0.2, random_state=0)
    clf = svm.SVC(gamma=0.001, C=100.0, probability=True, random_state=0)  # the notebook's model
    model = clf.fit(x_train, y_train)
    classes = iris.target_names.tolist()
    feature_names = iris.feature_names
    explainer = TabularExplainer(model, x_train, features=feature_names, classes=classes)
    global_explanation = explainer.explain_global(x_test)
    features = list(feature_names)
    assert_global_ranking(global_explanation, features)
    per_class = global_explanation.get_ranked_per_class_names()
    assert len(per_class) == 3 and all(sorted(names) == sorted(features) for names in per_class)
    assert_sorted_desc(global_explanation.get_ranked_per_class_values())
    local = np.asarray(global_explanation.local_importance_values)
    assert local.shape == (3, len(x_test), 4)
    expected = global_explanation.expected_values
    assert isinstance(expected, list) and len(expected) == 3
    # kernel SHAP on the probabilities (4 features: every coalition enumerated): sum + expected = predict_proba
    np.testing.assert_allclose(local.sum(axis=2).T + np.asarray(expected), model.predict_proba(x_test), atol=1e-6)

    instance_num = 0
    local_explanation = explainer.explain_local(x_test[instance_num, :])
    prediction_value = clf.predict(x_test)[instance_num]
    names = local_explanation.get_ranked_local_names()[prediction_value]
    values = local_explanation.get_ranked_local_values()[prediction_value]
    row = np.asarray(local_explanation.local_importance_values)
    assert row.shape == (3, 4)  # one 1-D row: [class][feature]
    assert_ranking_consistent(names, values, features, row[prediction_value])
    np.testing.assert_allclose(row, local[:, instance_num, :], atol=1e-8)  # exact: the same values as in the batch

    page = ExplanationDashboard(global_explanation, model, datasetX=x_test).to_html()
    assert "petal width (cm)" in page


def test_multiclass_classification_pfi_and_mimic():
    iris = load_iris()
    x_train, x_test, y_train, y_test = train_test_split(iris.data, iris.target, test_size=0.2, random_state=0)
    model = LogisticRegression(solver="lbfgs", max_iter=1000).fit(x_train, y_train)
    classes = iris.target_names.tolist()
    pfi = PFIExplainer(model, features=iris.feature_names, classes=classes)
    assert_global_ranking(pfi.explain_global(x_test, true_labels=y_test), list(iris.feature_names))
    mimic = MimicExplainer(model, x_train, LGBMExplainableModel, augment_data=True, max_num_of_augmentations=10,
                           features=iris.feature_names, classes=classes)
    explanation = mimic.explain_global(x_test)
    assert np.asarray(explanation.local_importance_values).shape == (3, len(x_test), 4)
    assert len(explanation.expected_values) == 3


def test_regression_tabular():
    diabetes = load_diabetes()
    x_train, x_test, y_train, y_test = train_test_split(diabetes.data, diabetes.target, test_size=0.2,
                                                        random_state=0)
    reg = GradientBoostingRegressor(n_estimators=50, max_depth=3, learning_rate=0.1, random_state=0)
    model = reg.fit(x_train, y_train)
    explainer = TabularExplainer(model, x_train, features=diabetes.feature_names)
    global_explanation = explainer.explain_global(x_test)
    features = list(diabetes.feature_names)
    assert_global_ranking(global_explanation, features)
    local = np.asarray(global_explanation.local_importance_values)
    assert local.shape == (len(x_test), len(features))  # [row][feature]
    expected = global_explanation.expected_values
    np.testing.assert_allclose(local.sum(axis=1) + np.ravel(expected)[0], model.predict(x_test), atol=1e-6)

    local_explanation = explainer.explain_local(x_test[0, :])
    values = local_explanation.get_ranked_local_values()
    names = local_explanation.get_ranked_local_names()
    row = np.asarray(local_explanation.local_importance_values)
    assert row.shape == (len(features),)  # one 1-D row: [feature]
    assert_ranking_consistent(names, values, features, row)
    np.testing.assert_allclose(row, local[0], atol=1e-9)

    pfi = PFIExplainer(model, features=diabetes.feature_names)
    assert_global_ranking(pfi.explain_global(x_test, true_labels=y_test), features)
    mimic = MimicExplainer(model, x_train, LGBMExplainableModel, augment_data=True, max_num_of_augmentations=10,
                           features=diabetes.feature_names)
    assert np.asarray(mimic.explain_global(x_test).local_importance_values).shape == (len(x_test), len(features))
