"""LinearScoringExplainer: values against LinearExplainer and the model itself, inputs, predictions."""



import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from pellucid.errors import ArgumentError, DataShapeError, DataValueError
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.scoring import LinearScoringExplainer, create_scoring_explainer


def _sdk_to_array(values, task):
    """SDK layout -> ndarray (n_rows, n_features, n_outputs)."""
    array = np.asarray(values)
    return np.moveaxis(array, 0, 2) if task == "classification" else array[:, :, None]


def test_linear_regression_matches_explainer_and_model(diabetes_ridge):
    model, X = diabetes_ridge
    explainer = LinearExplainer(model, X[:300])
    scoring = create_scoring_explainer(explainer)
    assert isinstance(scoring, LinearScoringExplainer)
    values = scoring.explain(X[300:340])
    assert np.asarray(values).shape == (40, X.shape[1])  # regression: [rows][features]
    reference = explainer.explain_local(X[300:340])
    assert np.allclose(_sdk_to_array(values, "regression"), reference.local_values, rtol=0, atol=1e-12)
    # additivity against the model itself
    explained = np.asarray(values).sum(axis=1) + scoring.expected_values[0]
    assert np.allclose(explained, model.predict(X[300:340]), atol=1e-9)
    assert np.allclose(scoring.predict(X[300:340]), model.predict(X[300:340]), atol=1e-9)


def test_binary_classifier_values_are_log_odds_for_both_classes():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    scoring = LinearExplainer(model, X, classes=["malignant", "benign"]).create_scoring_explainer()
    values = np.asarray(scoring.explain(X[:25]))
    assert values.shape == (2, 25, X.shape[1])  # classification: [classes][rows][features]
    margin = model.decision_function(X[:25])
    assert np.allclose(values[1].sum(axis=1) + scoring.expected_values[1], margin, atol=1e-8)
    assert np.allclose(values[0], -values[1])
    assert scoring.output_space == "log_odds"
    assert scoring.predict(X[:25]).tolist() == np.asarray(["malignant", "benign"])[model.predict(X[:25])].tolist()


def test_multiclass_matches_explainer_and_predict(iris_logistic):
    model, X = iris_logistic
    explainer = LinearExplainer(model, X)
    scoring = explainer.create_scoring_explainer()
    local = _sdk_to_array(scoring.explain(X[::10]), "classification")
    assert np.allclose(local, explainer.explain_local(X[::10]).local_values, rtol=0, atol=1e-12)
    assert np.allclose(local.sum(axis=1) + scoring.expected_values, model.decision_function(X[::10]), atol=1e-9)
    assert np.array_equal(scoring.predict(X), model.predict(X))


def test_reference_from_given_rows(diabetes_ridge):
    model, X = diabetes_ridge
    scoring = create_scoring_explainer(LinearExplainer(model, X[:300]), X[300:320])
    assert np.allclose(scoring.expected_values, model.predict(X[300:320]).mean(), atol=1e-9)
    assert any("reference mean" in note for note in scoring.notes)


def test_through_tabular_explainer_and_its_forwarded_method(iris_logistic):
    model, X = iris_logistic
    tabular = TabularExplainer(model, X, features=["sl", "sw", "pl", "pw"])
    for scoring in (create_scoring_explainer(tabular), tabular.create_scoring_explainer()):
        assert scoring.kind == "linear" and scoring.features == ["sl", "sw", "pl", "pw"]


def test_inputs_records_frames_and_bad_rows(iris_logistic):
    model, X = iris_logistic
    names = ["sl", "sw", "pl", "pw"]
    scoring = LinearExplainer(model, X, features=names).create_scoring_explainer()
    expected = np.asarray(scoring.explain(X[:3]))
    records = [dict(zip(names, row)) for row in X[:3].tolist()]
    assert np.array_equal(np.asarray(scoring.explain(records)), expected)
    shuffled = pd.DataFrame(X[:3], columns=names)[["pw", "sl", "pl", "sw"]]
    assert np.array_equal(np.asarray(scoring.explain(shuffled)), expected)
    assert np.asarray(scoring.explain(X[0])).shape == (3, 1, 4)  # one 1-D row
    with pytest.raises(DataShapeError, match="4 features"):
        scoring.explain(X[:2, :3])
    with pytest.raises(DataShapeError, match="unknown feature names \\['petal'\\]"):
        scoring.explain([{"sl": 1.0, "sw": 1.0, "pl": 1.0, "petal": 1.0}])
    with pytest.raises(DataValueError, match="missing \\(NaN\\)"):
        scoring.explain([[1.0, np.nan, 1.0, 1.0]])
    with pytest.raises(DataValueError, match="infinite"):
        scoring.predict([[1.0, np.inf, 1.0, 1.0]])
    with pytest.raises(DataValueError, match="numbers"):
        scoring.explain(np.array([["a", "b", "c", "d"]], dtype=object))


def test_get_raw_without_transformations_returns_the_same_values(iris_logistic):
    model, X = iris_logistic
    scoring = LinearExplainer(model, X).create_scoring_explainer()
    raw = scoring.explain_local(X[:2], get_raw=True)
    assert raw.is_raw and np.array_equal(raw.local_values, scoring.explain_local(X[:2]).local_values)


def test_unsupported_explainer_is_refused():
    with pytest.raises(ArgumentError, match="no scoring explainer for str"):
        create_scoring_explainer("not an explainer")




def test_mimic_explainer_scores_through_its_linear_surrogate(diabetes_ridge):
    from pellucid.explainers import mimic
    from pellucid.mimic.models import LinearExplainableModel

    model, X = diabetes_ridge
    explainer = mimic.MimicExplainer(model, X[:300], LinearExplainableModel)
    scoring = create_scoring_explainer(explainer)
    assert scoring.kind == "linear" and any("surrogate" in note for note in scoring.notes)
    assert np.allclose(_sdk_to_array(scoring.explain(X[300:310]), "regression"),
                       explainer.explain_local(X[300:310]).local_values, atol=1e-10)
