"""PFIExplainer: shapes, the permutation arithmetic, agreement with sklearn.inspection.permutation_importance.

Oracles: a model whose importances are known in closed form (a linear function of independent features,
scored by mean squared error: shuffling feature j adds ``2 * coef_j^2 * var_j`` to the MSE in expectation),
an exact recomputation of one repeat from the recorded meta, and scikit-learn's permutation importance
(different shuffles, so compared by ranking and closeness of the means).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pellucid.errors import ArgumentError, DataShapeError, DataValueError
from pellucid.explainers import pfi as pfi_module
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explanation import Explanation


@pytest.fixture(scope="module")
def iris_forest():
    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    return RandomForestClassifier(n_estimators=50, random_state=0).fit(X_train, y_train), X_test, y_test


@pytest.fixture(scope="module")
def diabetes_forest():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    return RandomForestRegressor(n_estimators=50, random_state=0).fit(X_train, y_train), X_test, y_test


def test_multiclass_global_only_shapes(iris_forest):
    model, X, y = iris_forest
    explanation = PFIExplainer(model, features=["sl", "sw", "pl", "pw"], n_repeats=4).explain_global(X, y)
    assert explanation.method == "permutation_importance"
    assert explanation.local_values is None and explanation.n_rows == 0
    assert explanation.global_values.shape == (4, 3)
    assert explanation.classes == [0, 1, 2] and explanation.features == ["sl", "sw", "pl", "pw"]
    # A model-level score: the same importance for every class column.
    np.testing.assert_array_equal(explanation.global_values, explanation.global_values[:, :1].repeat(3, axis=1))
    assert explanation.meta["metric"] == "accuracy"
    assert np.asarray(explanation.meta["importances"]).shape == (4, 4)
    assert len(explanation.meta["importances_std"]) == 4
    assert explanation.meta["baseline_score"] == pytest.approx((model.predict(X) == y).mean())
    assert explanation.get_ranked_global_names()[0] in ("pl", "pw")
    assert Explanation.from_json(explanation.to_json()).equals(explanation)


def test_binary_and_regression_shapes():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    binary = PFIExplainer(model, X, n_repeats=2, metric="roc_auc").explain_global(X[:200], y[:200])
    assert binary.global_values.shape == (30, 2) and binary.classes == [0, 1]
    X, y = load_diabetes(return_X_y=True)
    regression = PFIExplainer(LinearRegression().fit(X, y), n_repeats=2).explain_global(X, y)
    assert regression.global_values.shape == (10, 1) and regression.classes is None
    assert regression.meta["metric"] == "r2"


def test_closed_form_importance_of_a_linear_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 4)) * [1.0, 2.0, 0.5, 1.0]
    coef = np.array([3.0, -1.0, 4.0, 0.0])

    def model(rows):
        return rows @ coef

    explanation = PFIExplainer(model, model_task="regression", metric="neg_mean_squared_error",
                               n_repeats=8).explain_global(X, X @ coef)
    expected = 2 * coef**2 * X.var(axis=0)  # E[(c x - c x')^2] for independent copies x, x'
    np.testing.assert_allclose(explanation.global_values[:, 0], expected, rtol=0.05, atol=1e-12)
    assert explanation.global_values[3, 0] == 0.0


def test_one_repeat_recomputed_by_hand(diabetes_forest):
    model, X, y = diabetes_forest
    explanation = PFIExplainer(model, n_repeats=3, seed=7, metric="neg_mean_absolute_error").explain_global(X, y)
    rng = np.random.default_rng(7)
    orders = rng.permuted(np.broadcast_to(np.arange(len(X)), (10 * 3, len(X))), axis=1)
    shuffled = X.copy()
    shuffled[:, 4] = X[orders[4 * 3 + 1], 4]  # feature 4, repeat 1
    baseline = -np.abs(model.predict(X) - y).mean()
    drop = baseline + np.abs(model.predict(shuffled) - y).mean()
    assert explanation.meta["importances"][4][1] == pytest.approx(drop, rel=1e-12)
    assert explanation.meta["baseline_score"] == pytest.approx(baseline, rel=1e-12)


def test_agrees_with_sklearn_regression(diabetes_forest):
    model, X, y = diabetes_forest
    ours = PFIExplainer(model, n_repeats=20).explain_global(X, y).global_values[:, 0]
    theirs = permutation_importance(model, X, y, scoring="r2", n_repeats=20, random_state=0)
    clearly = theirs.importances_mean > 0.05
    assert clearly.sum() >= 2
    assert set(np.argsort(-ours)[: clearly.sum()]) == set(np.flatnonzero(clearly))
    np.testing.assert_allclose(ours, theirs.importances_mean, atol=3 * theirs.importances_std.max() / np.sqrt(20) + 0.01)
    assert np.corrcoef(ours, theirs.importances_mean)[0, 1] > 0.95


@pytest.mark.parametrize("metric", ["accuracy", "neg_log_loss", "f1_macro"])
def test_agrees_with_sklearn_classification(iris_forest, metric):
    model, X, y = iris_forest
    ours = PFIExplainer(model, metric=metric, n_repeats=20).explain_global(X, y).global_values[:, 0]
    theirs = permutation_importance(model, X, y, scoring=metric, n_repeats=20, random_state=0)
    assert np.argmax(ours) == np.argmax(theirs.importances_mean)
    np.testing.assert_allclose(ours, theirs.importances_mean, atol=4 * theirs.importances_std.max() / np.sqrt(20) + 0.02)


def test_callable_metric_gets_labels(iris_forest):
    model, X, y = iris_forest
    seen = []

    def errors(y_true, y_pred):
        seen.append(set(np.unique(y_pred)))
        return -float((y_true != y_pred).sum())

    explanation = PFIExplainer(model, metric=errors, n_repeats=2).explain_global(X, y)
    accuracy = PFIExplainer(model, metric="accuracy", n_repeats=2).explain_global(X, y)
    assert all(s <= {0, 1, 2} for s in seen)
    np.testing.assert_allclose(explanation.global_values, accuracy.global_values * len(y))
    assert explanation.meta["metric"] == "errors"


@pytest.mark.filterwarnings("ignore:X has feature names")
def test_pandas_sparse_and_string_labels_agree():
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])
    model = LogisticRegression(max_iter=1000).fit(X, names[y])
    dense = PFIExplainer(model, n_repeats=3).explain_global(X, names[y])
    frame = PFIExplainer(model, n_repeats=3).explain_global(pd.DataFrame(X, columns=list("abcd")),
                                                             pd.Series(names[y]))
    sparse = PFIExplainer(model, sp.csr_matrix(X), n_repeats=3).explain_global(sp.csr_matrix(X), names[y])
    np.testing.assert_allclose(frame.global_values, dense.global_values)
    np.testing.assert_allclose(sparse.global_values, dense.global_values)
    assert frame.features == list("abcd") and dense.classes == ["setosa", "versicolor", "virginica"]


def test_pandas_categorical_columns():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "group": rng.choice(["a", "b"], size=300)})
    target = frame["x"] * 2 + (frame["group"] == "a") * 3.0

    def model(rows):
        return rows["x"].to_numpy() * 2 + (rows["group"].to_numpy() == "a") * 3.0

    explanation = PFIExplainer(model, model_task="regression", n_repeats=3).explain_global(frame, target)
    assert explanation.features == ["x", "group"]
    assert (explanation.global_values[:, 0] > 0.5).all()


def test_calls_are_batched_and_bounded(iris_forest, monkeypatch):
    model, X, y = iris_forest
    reference = PFIExplainer(model, n_repeats=5).explain_global(X, y).global_values
    sizes = []

    def counting(rows):
        sizes.append(len(rows))
        return model.predict_proba(rows)

    explanation = PFIExplainer(counting, model_task="classification", n_repeats=5).explain_global(X, y)
    assert len(sizes) <= 3  # probe, baseline, and every permuted copy in one call
    np.testing.assert_allclose(explanation.global_values, reference)
    sizes.clear()
    monkeypatch.setattr(pfi_module, "CELL_BUDGET", len(X) * 4 * 3)
    chunked = PFIExplainer(counting, model_task="classification", n_repeats=5).explain_global(X, y)
    np.testing.assert_allclose(chunked.global_values, reference)
    assert max(sizes) <= len(X) * 3 and len(sizes) > 5


# ---------------------------------------------------------------------- bad input
def test_explain_local_is_refused(iris_forest):
    model, X, _ = iris_forest
    with pytest.raises(ArgumentError, match="global"):
        PFIExplainer(model).explain_local(X)


def test_metric_the_task_cannot_use(iris_forest, diabetes_forest):
    classifier, X, y = iris_forest
    with pytest.raises(ArgumentError, match="accuracy"):
        PFIExplainer(classifier, metric="r2").explain_global(X, y)
    with pytest.raises(ArgumentError, match="f1_macro"):
        PFIExplainer(classifier, metric="f1").explain_global(X, y)
    with pytest.raises(ArgumentError, match="r2"):
        PFIExplainer(diabetes_forest[0], diabetes_forest[1], metric="accuracy")
    with pytest.raises(ArgumentError, match="known"):
        PFIExplainer(classifier, metric="precision_at_7").explain_global(X, y)


def test_bad_arguments_and_shapes(iris_forest):
    model, X, y = iris_forest
    for options in ({"n_repeats": 0}, {"n_repeats": 1.5}, {"seed": None}, {"metric": 3}):
        with pytest.raises(ArgumentError):
            PFIExplainer(model, **options)
    explainer = PFIExplainer(model)
    with pytest.raises(DataShapeError, match="one label per evaluation row"):
        explainer.explain_global(X, y[:-1])
    with pytest.raises(ArgumentError, match="true_labels"):
        explainer.explain_global(X)
    with pytest.raises(DataShapeError):
        PFIExplainer(model, X).explain_global(X[:, :3], y)
    with pytest.raises(DataValueError, match="classes are"):
        explainer.explain_global(X, y + 5)
