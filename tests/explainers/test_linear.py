import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge

from pellucid.errors import ArgumentError, DataShapeError, DataValueError, ModelInterfaceError
from pellucid.explainers.linear import LinearExplainer

shap = pytest.importorskip("shap")


def _additive(explanation):
    total = explanation.local_values.sum(axis=1) + explanation.expected_values_array
    return np.abs(total - explanation.model_output).max()


def test_regression_matches_shap_and_is_additive():
    X, y = load_diabetes(return_X_y=True)
    model = Ridge(alpha=0.1).fit(X, y)
    explanation = LinearExplainer(model, X[:200]).explain_local(X[200:230])
    reference = shap.LinearExplainer(model, shap.maskers.Independent(X[:200], max_samples=200)).shap_values(X[200:230])
    assert np.allclose(explanation.local_values[:, :, 0], reference, atol=1e-9)
    assert np.allclose(explanation.model_output[:, 0], model.predict(X[200:230]))
    assert _additive(explanation) < 1e-9
    assert explanation.meta["output_space"] == "raw"


def test_binary_logistic_is_in_log_odds_for_both_classes():
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(X, y == 2)
    explanation = LinearExplainer(model, X, classes=["other", "virginica"]).explain_local(X[:10])
    reference = shap.LinearExplainer(model, shap.maskers.Independent(X, max_samples=len(X))).shap_values(X[:10])
    assert explanation.local_values.shape == (10, 4, 2)
    assert np.allclose(explanation.local_values[:, :, 1], reference, atol=1e-9)
    assert np.allclose(explanation.local_values[:, :, 0], -reference, atol=1e-9)
    assert np.allclose(explanation.model_output[:, 1], model.decision_function(X[:10]))
    assert explanation.meta["output_space"] == "log_odds" and explanation.classes == ["other", "virginica"]
    assert _additive(explanation) < 1e-9


def test_multiclass_values_per_class_logit():
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    explanation = LinearExplainer(model, X).explain_local(X[:5])
    assert explanation.local_values.shape == (5, 4, 3)
    assert np.allclose(explanation.model_output, model.decision_function(X[:5]))
    assert _additive(explanation) < 1e-9


def test_pandas_and_sparse_and_one_row():
    X, y = load_diabetes(return_X_y=True)
    model = Ridge().fit(X, y)
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    from_frame = LinearExplainer(model, frame).explain_local(frame.iloc[:3])
    assert from_frame.features[0] == "c0"
    from_sparse = LinearExplainer(model, sp.csr_matrix(X)).explain_local(sp.csr_matrix(X[:3]))
    assert np.allclose(from_frame.local_values, from_sparse.local_values)
    single = LinearExplainer(model, X).explain_local(X[0])
    assert single.local_values.shape == (1, 10, 1)


def test_bad_input():
    X, y = load_diabetes(return_X_y=True)
    model = Ridge().fit(X, y)
    with pytest.raises(ModelInterfaceError, match="linear model"):
        LinearExplainer(RandomForestClassifier(n_estimators=2).fit(X, y > 100), X)
    explainer = LinearExplainer(model, X)
    with pytest.raises(DataShapeError, match="must have 10 features"):
        explainer.explain_local(X[:2, :5])
    bad = X[:2].copy()
    bad[0, 3] = np.nan
    with pytest.raises(DataValueError, match=r"first at row 0, feature 3\)"):
        explainer.explain_local(bad)
    with pytest.raises(ArgumentError, match="needs initialization_examples"):
        LinearExplainer(model, None)
    classifier = LogisticRegression(max_iter=1000).fit(X, y > 100)
    with pytest.raises(ArgumentError, match="classes lists 3 labels"):
        LinearExplainer(classifier, X, classes=["a", "b", "c"])
