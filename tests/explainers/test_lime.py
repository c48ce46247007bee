"""LIMEExplainer: shapes and names, the batched arithmetic against scikit-learn and lime, agreement with lime.

The oracle is the ``lime`` package 0.2.0.1 (LimeTabularExplainer) on the same model: its ridge fits and
feature selection (``LimeBase``), its perturbation distribution, and its explanations. LIME is a sampled
estimate, so explanations are compared by correlation and by top features, next to lime's own
seed-to-seed agreement where that is the honest yardstick.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pellucid.data import as_dataset
from pellucid.errors import ArgumentError, DataShapeError, DataValueError
from pellucid.explainers import lime as lime_module
from pellucid.explainers._lime_ridge import fit_ridge, weighted_moments
from pellucid.explainers._lime_sampling import NeighbourhoodSampler
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explanation import Explanation

lime_tabular = pytest.importorskip("lime.lime_tabular")
lime_base = pytest.importorskip("lime.lime_base")


# ---------------------------------------------------------------------- data, models and the lime oracle
@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=1000).fit(X, y)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y, RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, y, Ridge(alpha=0.1).fit(X, y)


def lime_values(training, predict, rows, *, label=1, num_features=None, mode="classification", seed=0, **options):
    """lime's weights as a dense (n_rows, n_features) array, 0 for features it did not select."""
    explainer = lime_tabular.LimeTabularExplainer(training, mode=mode, random_state=seed, **options)
    n_features = training.shape[1]
    values = np.zeros((len(rows), n_features))
    key = label if mode == "classification" else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, row in enumerate(rows):
            explanation = explainer.explain_instance(row, predict, labels=(label,),
                                                     num_features=num_features or n_features, num_samples=5000)
            for feature, weight in explanation.local_exp[key]:
                values[i, feature] = weight
    return values


def mean_row_correlation(a, b):
    return float(np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)]))


def top_overlap(a, b, k):
    """Per row, how many of the k features with the largest |value| the two explanations share."""
    top_a = np.argsort(-np.abs(a), axis=1, kind="stable")[:, :k]
    top_b = np.argsort(-np.abs(b), axis=1, kind="stable")[:, :k]
    return np.array([len(set(x) & set(y)) for x, y in zip(top_a, top_b)])


# ---------------------------------------------------------------------- shapes, names, outputs
def test_multiclass_shapes_names_and_outputs(iris):
    X, _, model = iris
    explanation = LIMEExplainer(model, X, features=["sl", "sw", "pl", "pw"], num_samples=500).explain_local(X[:7])
    assert explanation.method == "lime"
    assert explanation.local_values.shape == (7, 4, 3)
    assert explanation.features == ["sl", "sw", "pl", "pw"]
    assert explanation.classes == [0, 1, 2]
    assert explanation.meta["output_space"] == "probability"
    np.testing.assert_allclose(explanation.model_output, model.predict_proba(X[:7]))
    np.testing.assert_allclose(explanation.expected_values_array, model.predict_proba(X).mean(axis=0))
    assert np.asarray(explanation.meta["intercepts"]).shape == (7, 3)
    assert np.asarray(explanation.meta["scores"]).shape == (7, 3)
    assert set(explanation.meta["bins"]) == {"sl", "sw", "pl", "pw"}


def test_regression_shapes_and_raw_output(diabetes):
    X, _, model = diabetes
    explanation = LIMEExplainer(model, X, num_samples=500).explain_local(X[:5])
    assert explanation.task == "regression" and explanation.classes is None
    assert explanation.local_values.shape == (5, 10, 1)
    assert explanation.meta["output_space"] == "raw"
    np.testing.assert_allclose(explanation.model_output[:, 0], model.predict(X[:5]))
    np.testing.assert_allclose(explanation.expected_values_array, [model.predict(X).mean()])


def test_binary_has_both_classes_and_they_mirror(cancer):
    X, _, model = cancer
    explanation = LIMEExplainer(model, X, num_samples=800).explain_local(X[:4])
    assert explanation.local_values.shape == (4, 30, 2)
    # p0 = 1 - p1 and the ridge fit is linear in its targets: class 0's weights are class 1's negated.
    np.testing.assert_allclose(explanation.local_values[:, :, 0], -explanation.local_values[:, :, 1], atol=1e-10)


def test_intercept_plus_values_is_the_local_prediction(iris):
    X, _, model = iris
    explanation = LIMEExplainer(model, X, num_samples=600).explain_local(X[::30])
    # In discretised mode the row's interpretable features are all 1.
    np.testing.assert_allclose(
        np.asarray(explanation.meta["intercepts"]) + explanation.local_values.sum(axis=1),
        explanation.meta["local_predictions"],
    )


def test_num_features_keeps_at_most_that_many(cancer):
    X, _, model = cancer
    explanation = LIMEExplainer(model, X, num_features=7, num_samples=600).explain_local(X[:5])
    nonzero = (explanation.local_values != 0).sum(axis=1)
    assert nonzero.max() <= 7 and nonzero.min() >= 6
    assert explanation.meta["parameters"]["feature_selection"] == "highest_weights"


def test_same_seed_same_values_other_seed_other_values(iris):
    X, _, model = iris
    first = LIMEExplainer(model, X, num_samples=300, seed=3).explain_local(X[:3]).local_values
    again = LIMEExplainer(model, X, num_samples=300, seed=3).explain_local(X[:3]).local_values
    other = LIMEExplainer(model, X, num_samples=300, seed=4).explain_local(X[:3]).local_values
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_json_round_trip_and_global(iris):
    X, _, model = iris
    explainer = LIMEExplainer(model, X, num_samples=300)
    explanation = explainer.explain_local(X[:3])
    assert Explanation.from_json(explanation.to_json()).equals(explanation)
    overall = explainer.explain_global(X[:6], include_local=False)
    assert overall.global_values.shape == (4, 3) and overall.local_values is None


# ---------------------------------------------------------------------- the batched arithmetic against the oracles
def test_batched_ridge_matches_sklearn_and_lime_selection():
    rng = np.random.default_rng(0)
    design = (rng.random((3, 300, 8)) < 0.6).astype(float)
    design[:, 0] = 1.0
    weights = rng.random((3, 300))
    targets = rng.normal(size=(3, 300, 2)) + design[:, :, :2] * [2.0, -1.0]
    moments = weighted_moments(design, weights, targets)
    fit = fit_ridge(moments, design[:, 0])
    chooser = lime_base.LimeBase(kernel_fn=lambda d: d)
    for r in range(3):
        for k in range(2):
            reference = Ridge(alpha=1.0).fit(design[r], targets[r, :, k], sample_weight=weights[r])
            np.testing.assert_allclose(fit.coefficients[r, :, k], reference.coef_, rtol=1e-8, atol=1e-10)
            np.testing.assert_allclose(fit.intercepts[r, k], reference.intercept_, rtol=1e-8)
            np.testing.assert_allclose(
                fit.scores[r, k], reference.score(design[r], targets[r, :, k], sample_weight=weights[r]), rtol=1e-8
            )
    for method, count in (("forward_selection", 3), ("highest_weights", 4)):
        selected = fit_ridge(moments, design[:, 0], num_features=count, selection=method)
        for r in range(3):
            for k in range(2):
                expected = chooser.feature_selection(design[r], targets[r, :, k], weights[r], count, method)
                assert set(np.flatnonzero(selected.coefficients[r, :, k])) == set(expected)
                reference = Ridge(alpha=1.0).fit(design[r][:, expected], targets[r, :, k], sample_weight=weights[r])
                np.testing.assert_allclose(selected.coefficients[r, expected, k], reference.coef_, rtol=1e-8)


def test_kernel_is_limes_default_kernel():
    X, _ = load_iris(return_X_y=True)
    distances = np.linspace(0.0, 4.0, 41)
    reference = lime_tabular.LimeTabularExplainer(X).base.kernel_fn(distances)
    np.testing.assert_allclose(lime_module.kernel_weights(distances**2, 0.75 * np.sqrt(4)), reference, rtol=1e-12)
    assert LIMEExplainer(LogisticRegression().fit(X, X[:, 0] > 5.8), X).kernel_width == pytest.approx(1.5)


def test_perturbations_follow_limes_distribution():
    X, _ = load_breast_cancer(return_X_y=True)
    sampler = NeighbourhoodSampler.fit(as_dataset(X), set(), discretize=True, discretizer="quartile")
    rng = np.random.default_rng(0)
    perturbations = sampler.draw((20000,), rng)
    values = sampler.model_values(perturbations)
    codes, _ = sampler.encode(values, [str(j) for j in range(30)])
    np.testing.assert_array_equal(codes, perturbations.codes)  # each value lies in the bin it was drawn for
    explainer = lime_tabular.LimeTabularExplainer(X, random_state=0)
    _, reference = explainer._LimeTabularExplainer__data_inverse(X[0], 20000)
    scale = X.std(axis=0)
    assert np.max(np.abs(values.mean(axis=0) - reference.mean(axis=0)) / scale) < 0.06
    np.testing.assert_allclose(values.std(axis=0), reference.std(axis=0), rtol=0.06)
    bins = [np.searchsorted(explainer.discretizer.lambdas[j].__defaults__[0], X[:, j]) for j in range(30)]
    for j in (0, 7, 21):
        training_share = np.bincount(bins[j], minlength=4) / len(X)
        np.testing.assert_allclose(np.bincount(codes[:, j], minlength=4) / 20000, training_share, atol=0.02)


# ---------------------------------------------------------------------- agreement with lime
def test_agrees_with_lime_on_iris(iris):
    X, _, model = iris
    rows = X[::15]
    ours = LIMEExplainer(model, X).explain_local(rows).local_values[:, :, 2]
    theirs = lime_values(X, model.predict_proba, rows, label=2)
    assert mean_row_correlation(ours, theirs) > 0.98
    assert (top_overlap(ours, theirs, 2) == 2).all()


def test_agrees_with_lime_on_breast_cancer_top_features(cancer):
    X, _, model = cancer
    rows = X[:12]
    ours = LIMEExplainer(model, X, num_features=10).explain_local(rows).local_values[:, :, 1]
    theirs = lime_values(X, model.predict_proba, rows, num_features=10)
    overlap = top_overlap(ours, theirs, 5)
    assert np.mean(overlap >= 4) >= 0.8
    assert np.mean(overlap == 5) >= 0.5
    assert mean_row_correlation(ours, theirs) > 0.9


def test_agrees_with_lime_on_regression(diabetes):
    X, _, model = diabetes
    rows = X[:10]
    ours = LIMEExplainer(model, X).explain_local(rows).local_values[:, :, 0]
    theirs = lime_values(X, model.predict, rows, mode="regression")
    assert mean_row_correlation(ours, theirs) > 0.95


def test_forward_selection_picks_limes_features(iris):
    X, _, model = iris
    rows = X[::15]
    explanation = LIMEExplainer(model, X, num_features=2).explain_local(rows)
    assert explanation.meta["parameters"]["feature_selection"] == "forward_selection"
    ours = explanation.local_values[:, :, 2]
    theirs = lime_values(X, model.predict_proba, rows, label=2, num_features=2)
    same = [set(np.flatnonzero(a)) == set(np.flatnonzero(b)) for a, b in zip(ours, theirs)]
    assert np.mean(same) >= 0.9


@pytest.mark.parametrize("around", [False, True])
def test_agrees_with_lime_without_discretisation(iris, around):
    X, _, model = iris
    rows = X[::15]
    explanation = LIMEExplainer(model, X, discretize_continuous=False, sample_around_instance=around).explain_local(rows)
    assert explanation.meta["parameters"]["shared_samples"] is (not around)
    theirs = lime_values(X, model.predict_proba, rows, label=2, discretize_continuous=False,
                         sample_around_instance=around)
    assert mean_row_correlation(explanation.local_values[:, :, 2], theirs) > 0.95


def test_independent_neighbourhoods_also_agree(iris):
    X, _, model = iris
    rows = X[::15]
    shared = LIMEExplainer(model, X).explain_local(rows).local_values[:, :, 2]
    own = LIMEExplainer(model, X, shared_samples=False).explain_local(rows)
    assert not any("shared by the" in note for note in own.meta["notes"])
    assert not np.allclose(own.local_values[:, :, 2], shared)
    theirs = lime_values(X, model.predict_proba, rows, label=2)
    assert mean_row_correlation(own.local_values[:, :, 2], theirs) > 0.98


def test_categorical_column_in_pandas_agrees_with_lime():
    rng = np.random.default_rng(1)
    n = 600
    colour = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    size, weight = rng.normal(size=n), rng.normal(size=n)
    logit = 1.5 * size - 0.5 * weight + np.where(colour == "red", 2.0, np.where(colour == "green", -1.0, 0.0))
    label = (logit + rng.logistic(size=n) > 0).astype(int)
    frame = pd.DataFrame({"size": size, "colour": pd.Categorical(colour), "weight": weight})
    model = make_pipeline(
        ColumnTransformer([("colour", OneHotEncoder(), ["colour"])], remainder="passthrough"),
        LogisticRegression(),
    ).fit(frame, label)
    rows = frame.iloc[:10]
    explanation = LIMEExplainer(model, frame).explain_local(rows)
    assert explanation.meta["parameters"]["categorical_features"] == ["colour"]
    assert explanation.features == ["size", "colour", "weight"]

    levels = np.array(["blue", "green", "red"])
    coded = np.column_stack([size, np.searchsorted(levels, colour), weight]).astype(float)

    def predict_coded(array):
        return model.predict_proba(pd.DataFrame(
            {"size": array[:, 0], "colour": pd.Categorical(levels[array[:, 1].astype(int)]), "weight": array[:, 2]}
        ))

    theirs = lime_values(coded, predict_coded, coded[:10], categorical_features=[1])
    ours = explanation.local_values[:, :, 1]
    assert mean_row_correlation(ours, theirs) > 0.95
    np.testing.assert_array_equal(np.sign(ours[:, 1]), np.sign(theirs[:, 1]))


@pytest.mark.filterwarnings("ignore:X has feature names")
def test_numpy_pandas_sparse_and_dense_data_give_the_same_values():
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    names = ["a", "b", "c", "d"]

    class DenseData:  # shap's old background type
        def __init__(self, data, group_names):
            self.data, self.group_names = data, group_names

    dense = LIMEExplainer(model, X, num_samples=400).explain_local(X[:5]).local_values
    frame = pd.DataFrame(X, columns=names)
    from_frame = LIMEExplainer(model, frame, num_samples=400).explain_local(frame.iloc[:5]).local_values
    sparse = LIMEExplainer(model, sp.csr_matrix(X), num_samples=400).explain_local(sp.csr_matrix(X[:5])).local_values
    dense_data = LIMEExplainer(model, DenseData(X, names), num_samples=400).explain_local(X[:5]).local_values
    for other in (from_frame, sparse, dense_data):
        np.testing.assert_allclose(other, dense, rtol=1e-10, atol=1e-12)


def test_sparse_model_input_is_sparse():
    X, y = load_iris(return_X_y=True)
    seen = []

    def predict(matrix):
        seen.append(sp.issparse(matrix))
        return np.column_stack([1 / (1 + np.exp(-matrix @ np.ones(4) + 10)), 1 - 1 / (1 + np.exp(-matrix @ np.ones(4) + 10))])

    explanation = LIMEExplainer(predict, sp.csr_matrix(X), model_task="classification", num_samples=200).explain_local(
        sp.csr_matrix(X[:2]))
    assert explanation.local_values.shape == (2, 4, 2) and all(seen)


def test_model_calls_are_bounded_and_chunking_changes_nothing(iris, monkeypatch):
    X, _, model = iris
    reference = LIMEExplainer(model, X, num_samples=2000).explain_local(X[:9]).local_values
    sizes = []

    def counting(array):
        sizes.append(len(array))
        return model.predict_proba(array)

    monkeypatch.setattr(lime_module, "CELL_BUDGET", 4 * 2000 * 2)
    chunked = LIMEExplainer(counting, X, num_samples=2000, model_task="classification").explain_local(X[:9])
    np.testing.assert_allclose(chunked.local_values, reference, rtol=1e-10, atol=1e-12)
    assert max(sizes) <= 4000 and len(sizes) > 2


def test_linear_regression_gets_the_right_signs(diabetes):
    X, y, _ = diabetes
    model = LinearRegression().fit(X, y)
    explanation = LIMEExplainer(model, X, num_samples=3000).explain_local(X[:6])
    # Being in the row's bin of a feature with a large positive slope raises the output for a row in a high bin.
    slope = model.coef_
    top = np.argmax(np.abs(slope))
    high_rows = X[:6, top] > np.percentile(X[:, top], 75)
    values = explanation.local_values[:, top, 0]
    assert (np.sign(values[high_rows]) == np.sign(slope[top])).all()


def test_standard_scaled_pipeline_model():
    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    explanation = LIMEExplainer(model, X, num_samples=500, num_features=5).explain_local(X[:3])
    assert explanation.local_values.shape == (3, 30, 2)
    assert ((explanation.local_values != 0).sum(axis=1) <= 5).all()


# ---------------------------------------------------------------------- bad input
def test_bad_arguments(iris):
    X, _, model = iris
    for options in ({"num_samples": 0}, {"num_samples": 2.5}, {"num_features": 0}, {"discretizer": "entropy"},
                    {"kernel_width": -1.0}, {"feature_selection": "lasso"}, {"categorical_features": ["nope"]},
                    {"categorical_features": [9]}, {"seed": "x"}):
        with pytest.raises(ArgumentError):
            LIMEExplainer(model, X, **options)
    with pytest.raises(ArgumentError, match="initialization_examples"):
        LIMEExplainer(model, None)


def test_wrong_feature_count_and_missing_values(iris):
    X, _, model = iris
    explainer = LIMEExplainer(model, X, num_samples=100)
    with pytest.raises(DataShapeError):
        explainer.explain_local(X[:3, :3])
    with pytest.raises(DataShapeError):
        LIMEExplainer(model, X, features=["a", "b"])
    holed = X.copy()
    holed[4, 2] = np.nan
    with pytest.raises(DataValueError, match="impute|Impute"):
        LIMEExplainer(model, holed)
    with pytest.raises(DataValueError):
        explainer.explain_local(holed[:5])
