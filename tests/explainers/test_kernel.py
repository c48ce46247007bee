"""KernelExplainer against the brute-force oracle (exact when all coalitions fit) and against shap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pellucid.errors import ArgumentError, DataShapeError, DataValueError, EmptyDataError, ModelInterfaceError
from pellucid.explainers.kernel import KernelExplainer
from pellucid.testing.oracles import exact_expected_value, exact_shapley_values

IRIS_X, IRIS_Y = load_iris(return_X_y=True)
DIABETES_X, DIABETES_Y = load_diabetes(return_X_y=True)
CANCER_X = StandardScaler().fit_transform(load_breast_cancer().data)


def _assert_additive(explanation, atol=1e-8):
    total = explanation.local_values.sum(axis=1) + explanation.expected_values_array
    np.testing.assert_allclose(total, explanation.model_output, atol=atol)


def _oracle(predict, explainer, rows, to_input=None):
    background = explainer.background
    return exact_shapley_values(predict, rows, background.values, background.row_weights(), to_input)


# ---------------------------------------------------------------------------------------------- exact cases
def test_three_class_classifier_equals_the_oracle():
    model = LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y)
    explainer = KernelExplainer(model, IRIS_X, classes=["a", "b", "c"])
    explanation = explainer.explain_local(IRIS_X[::30])
    exact, expected = _oracle(model.predict_proba, explainer, IRIS_X[::30])
    assert explanation.local_values.shape == (5, 4, 3) and explanation.classes == ["a", "b", "c"]
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)
    np.testing.assert_allclose(explanation.expected_values_array, expected, atol=1e-12)
    assert explanation.meta["output_space"] == "probability" and explanation.meta["kernel_shap"]["exact"]
    assert np.all(explanation.standard_errors == 0)
    assert any("summarised from 150 to 10" in note for note in explanation.meta["notes"])
    _assert_additive(explanation)


def test_regressor_equals_the_oracle():
    model = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(DIABETES_X, DIABETES_Y)
    explainer = KernelExplainer(model, DIABETES_X, nclusters=6)
    explanation = explainer.explain_local(DIABETES_X[:3])
    exact, expected = _oracle(model.predict, explainer, DIABETES_X[:3])
    assert explanation.local_values.shape == (3, 10, 1) and explanation.classes is None
    assert explanation.meta["output_space"] == "raw"
    assert explanation.meta["kernel_shap"]["coalitions_per_row"] == 1022.0  # auto capped at 2**10 - 2
    assert explanation.meta["kernel_shap"]["nsamples"] == 1022
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)
    np.testing.assert_allclose(explanation.expected_values_array, expected)
    _assert_additive(explanation)


def test_plain_function_equals_the_oracle():
    def function(X):
        return X[:, 0] * X[:, 1] - np.exp(X[:, 2] * X[:, 3]) + X[:, 4] ** 3

    rng = np.random.default_rng(1)
    background, rows = rng.normal(size=(8, 5)), rng.normal(size=(4, 5))
    explainer = KernelExplainer(function, background, model_task="regression", nclusters=None)
    explanation = explainer.explain_local(rows)
    exact, _ = _oracle(function, explainer, rows)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)
    _assert_additive(explanation)


def test_pandas_with_a_categorical_column_through_a_column_transformer():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({
        "size": rng.normal(size=120),
        "colour": rng.choice(["red", "green", "blue"], size=120),
        "shape": pd.Categorical(rng.choice(["round", "square"], size=120)),
        "weight": rng.normal(size=120),
    })
    target = (frame["size"] + (frame["colour"] == "red") - (frame["shape"] == "round") > 0).astype(int)
    model = Pipeline([
        ("encode", ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["colour", "shape"])],
                                     remainder="passthrough")),
        ("classify", LogisticRegression()),
    ]).fit(frame, target)
    explainer = KernelExplainer(model, frame.iloc[:60], nclusters=8)
    rows = frame.iloc[100:104]
    explanation = explainer.explain_local(rows)

    def to_frame(values):
        return pd.DataFrame(values, columns=frame.columns).astype(frame.dtypes.to_dict())

    exact, expected = _oracle(model.predict_proba, explainer, rows.to_numpy(dtype=object), to_frame)
    assert explanation.features == list(frame.columns)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)
    np.testing.assert_allclose(explanation.expected_values_array, expected, atol=1e-12)
    _assert_additive(explanation)


def test_sparse_input_equals_the_oracle():
    rng = np.random.default_rng(3)
    dense = rng.normal(size=(80, 7)) * (rng.random((80, 7)) < 0.4)
    model = LogisticRegression().fit(sp.csr_matrix(dense), dense[:, 0] + dense[:, 3] > 0)
    explainer = KernelExplainer(model, sp.csr_matrix(dense[:40]), nclusters=5)
    explanation = explainer.explain_local(sp.csr_matrix(dense[60:64]))
    exact, _ = _oracle(model.predict_proba, explainer, dense[60:64], sp.csr_matrix)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)
    _assert_additive(explanation)


def test_a_single_one_dimensional_row():
    model = LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y)
    explainer = KernelExplainer(model, IRIS_X)
    explanation = explainer.explain_local(IRIS_X[7])
    exact, _ = _oracle(model.predict_proba, explainer, IRIS_X[7:8])
    assert explanation.local_values.shape == (1, 4, 3)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)


def test_densedata_like_background_weights_are_used():
    class DenseDataLike:  # the shape of shap.kmeans' result
        def __init__(self, data, weights):
            self.data, self.weights = data, weights
            self.group_names = [f"f{i}" for i in range(data.shape[1])]

    model = LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y)
    weights = np.array([5.0, 1.0, 1.0, 3.0])
    explainer = KernelExplainer(model, DenseDataLike(IRIS_X[[0, 50, 100, 120]], weights))
    explanation = explainer.explain_local(IRIS_X[10:12])
    exact, expected = exact_shapley_values(model.predict_proba, IRIS_X[10:12], IRIS_X[[0, 50, 100, 120]], weights)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)
    np.testing.assert_allclose(explanation.expected_values_array, expected, atol=1e-12)
    assert explanation.features == ["f0", "f1", "f2", "f3"]


def test_feature_equal_to_every_background_value_gets_exactly_zero():
    rng = np.random.default_rng(4)
    background = rng.normal(size=(6, 6))
    background[:, 2] = 1.5
    rows = rng.normal(size=(3, 6))
    rows[1, 2] = 1.5

    def function(X):
        return np.sin(X @ np.arange(1.0, 7.0)) * X[:, 2]

    explainer = KernelExplainer(function, background, model_task="regression", nclusters=None)
    explanation = explainer.explain_local(rows)
    assert explanation.local_values[1, 2, 0] == 0.0 and explanation.local_values[0, 2, 0] != 0.0
    exact, _ = _oracle(function, explainer, rows)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)


def test_model_calls_stay_within_the_batch_limit_without_changing_the_values():
    sizes = []

    def function(X):
        sizes.append(X.shape[0])
        return np.tanh(X[:, 0] * X[:, 1]) + X[:, 2]

    rng = np.random.default_rng(5)
    background, rows = rng.normal(size=(4, 9)), rng.normal(size=(3, 9))
    default = KernelExplainer(function, background, model_task="regression", nsamples=200).explain_local(rows)
    sizes.clear()
    small = KernelExplainer(function, background, model_task="regression", nsamples=200, max_batch_rows=50)
    batched = small.explain_local(rows)
    assert max(sizes) <= 50
    np.testing.assert_array_equal(batched.local_values, default.local_values)


# ---------------------------------------------------------------------------------------------- sampling at M = 30
def _third_order_model(seed: int = 0):
    """A sum of 3-feature terms plus a linear part: exact Shapley values come from the oracle term by term
    (a term's game only involves its own three features; the others are null players of it)."""
    rng = np.random.default_rng(seed)
    triples = [rng.choice(30, size=3, replace=False) for _ in range(12)]
    scales = rng.normal(size=12)
    linear = rng.normal(size=30) * 0.3

    def term(k):
        first, second, third = triples[k]
        return lambda X: scales[k] * np.tanh(X[:, first] * X[:, second] + X[:, third]) * X[:, third]

    def predict(X):
        return X @ linear + sum(term(k)(X) for k in range(12))

    def exact(rows, background):
        values = np.zeros((rows.shape[0], 30))
        values += linear * (rows - background.mean(axis=0))
        for k, columns in enumerate(triples):
            def local(Z, k=k, columns=columns):
                full = np.zeros((Z.shape[0], 30))
                full[:, columns] = Z
                return term(k)(full)

            part, _ = exact_shapley_values(local, rows[:, columns], background[:, columns])
            values[:, columns] += part[:, :, 0]
        return values

    return predict, exact


def test_sampled_errors_stay_within_the_reported_standard_errors():
    predict, exact = _third_order_model()
    background, rows = CANCER_X[:10], CANCER_X[200:206]
    reference = exact(rows, background)
    z_scores = []
    for seed in range(3):
        explainer = KernelExplainer(predict, background, model_task="regression", nclusters=None, nsamples=600,
                                    seed=seed)
        explanation = explainer.explain_local(rows)
        _assert_additive(explanation)
        assert not explanation.meta["kernel_shap"]["exact"]
        assert explanation.meta["kernel_shap"]["model_evaluations"] <= 6 * 600 * 10
        errors = np.abs(explanation.local_values[:, :, 0] - reference)
        z_scores.append(errors / explanation.standard_errors[:, :, 0])
    z_scores = np.concatenate(z_scores).ravel()
    assert np.mean(z_scores < 4) >= 0.95


def test_error_is_below_shaps_at_the_same_number_of_model_evaluations():
    shap = pytest.importorskip("shap")
    predict, exact = _third_order_model(seed=1)
    background, rows = CANCER_X[:10], CANCER_X[300:306]
    reference = exact(rows, background)
    pellucid_errors, shap_errors = [], []
    for seed in range(3):
        explainer = KernelExplainer(predict, background, model_task="regression", nclusters=None, nsamples=500,
                                    seed=seed)
        pellucid_errors.append(explainer.explain_local(rows).local_values[:, :, 0] - reference)
        np.random.seed(seed)  # noqa: NPY002 - shap's KernelExplainer draws from the global generator
        peer = shap.KernelExplainer(predict, background)
        shap_errors.append(peer.shap_values(rows, nsamples=500, l1_reg=False, silent=True) - reference)
    pellucid_rmse = np.sqrt(np.mean(np.square(pellucid_errors)))
    shap_rmse = np.sqrt(np.mean(np.square(shap_errors)))
    assert pellucid_rmse < shap_rmse


def test_tolerance_stops_sampling_early():
    predict, exact = _third_order_model(seed=2)
    background, rows = CANCER_X[:10], CANCER_X[400:403]
    free = KernelExplainer(predict, background, model_task="regression", nclusters=None, nsamples=4000)
    full = free.explain_local(rows)
    tolerance = float(full.standard_errors.max()) * 3
    early = KernelExplainer(predict, background, model_task="regression", nclusters=None, nsamples=4000,
                            tolerance=tolerance).explain_local(rows)
    facts = early.meta["kernel_shap"]
    assert facts["converged"] and facts["model_evaluations"] < full.meta["kernel_shap"]["model_evaluations"]
    assert early.standard_errors.max() <= tolerance
    _assert_additive(early)
    unreachable = KernelExplainer(predict, background, model_task="regression", nclusters=None, nsamples=200,
                                  tolerance=1e-9).explain_local(rows)
    assert not unreachable.meta["kernel_shap"]["converged"]
    assert any("not reached" in note for note in unreachable.meta["notes"])


def test_same_seed_same_values_other_seed_other_values():
    predict, _ = _third_order_model()
    background, rows = CANCER_X[:5], CANCER_X[500:502]

    def run(seed):
        return KernelExplainer(predict, background, model_task="regression", nsamples=300,
                               seed=seed).explain_local(rows).local_values

    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


def test_binary_classifier_has_two_mirrored_outputs():
    model = LogisticRegression(max_iter=2000).fit(CANCER_X, load_breast_cancer().target)
    explainer = KernelExplainer(model, CANCER_X[:50], nsamples=400)
    explanation = explainer.explain_local(CANCER_X[100:103])
    assert explanation.local_values.shape == (3, 30, 2)
    np.testing.assert_allclose(explanation.local_values[:, :, 0], -explanation.local_values[:, :, 1], atol=1e-12)
    _assert_additive(explanation)


# ---------------------------------------------------------------------------------------------- bad input
def test_bad_input_raises_typed_errors():
    model = LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y)
    explainer = KernelExplainer(model, IRIS_X)
    with pytest.raises(DataShapeError, match="4 features"):
        explainer.explain_local(IRIS_X[:2, :3])
    with pytest.raises(DataValueError, match="NaN"):
        explainer.explain_local(np.array([[1.0, np.nan, 2.0, 0.5]]))
    with pytest.raises(EmptyDataError):
        explainer.explain_local(np.zeros((0, 4)))
    with pytest.raises(EmptyDataError):
        KernelExplainer(model, np.zeros((0, 4)))
    with pytest.raises(ModelInterfaceError):
        KernelExplainer(object(), IRIS_X)
    with pytest.raises(ArgumentError, match="classes"):
        KernelExplainer(model, IRIS_X, classes=["only", "two"])
    for nsamples in (0, -5, 2.5, "many", True, None):
        with pytest.raises(ArgumentError, match="nsamples"):
            KernelExplainer(model, IRIS_X, nsamples=nsamples)
    with pytest.raises(ArgumentError, match="initialization_examples"):
        KernelExplainer(model, None)
    with pytest.raises(ArgumentError, match="tolerance"):
        KernelExplainer(model, IRIS_X, tolerance=-1.0)
    with pytest.raises(ArgumentError, match="nclusters"):
        KernelExplainer(model, IRIS_X, nclusters=0)


def test_background_with_other_feature_count_is_rejected():
    model = LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y)
    with pytest.raises(DataShapeError):
        KernelExplainer(model, np.zeros((5, 3)))


def test_supports_anything_callable():
    assert KernelExplainer.supports(lambda X: X[:, 0])
    assert KernelExplainer.supports(LogisticRegression())
    assert not KernelExplainer.supports(object())


def test_nclusters_none_keeps_the_background_and_records_nsamples():
    model = LogisticRegression(max_iter=1000).fit(IRIS_X, IRIS_Y)
    explainer = KernelExplainer(model, IRIS_X[:30], nclusters=None)
    assert explainer.background.n_rows == 30
    explanation = explainer.explain_local(IRIS_X[:1])
    assert not any("summarised" in note for note in explanation.meta["notes"])
    assert explanation.meta["parameters"]["nsamples"] == "auto"
    assert any("nsamples='auto'" in note for note in explanation.meta["notes"])
    assert exact_expected_value(model.predict_proba, IRIS_X[:30]) == pytest.approx(explanation.expected_values_array)


def test_many_features_linear_model_is_exact_under_sampling():
    # An additive game has no interactions: every coalition's residual is 0, so even a sampled design
    # recovers beta_j (x_j - E[b_j]) exactly; 70 features also exercise the wide coalition keys.
    rng = np.random.default_rng(7)
    beta = rng.normal(size=70)
    background, rows = rng.normal(size=(4, 70)), rng.normal(size=(3, 70))
    explainer = KernelExplainer(lambda X: X @ beta, background, model_task="regression", nsamples=400)
    explanation = explainer.explain_local(rows)
    np.testing.assert_allclose(explanation.local_values[:, :, 0], beta * (rows - background.mean(axis=0)), atol=1e-8)
    assert explanation.standard_errors.max() < 1e-6
    assert not explanation.meta["kernel_shap"]["exact"]


# ------------------------------------------------------------------ the SDK's summarising rule
def _nonlinear(X):
    return np.sin(X[:, 0]) * X[:, 1] + np.exp(0.3 * X[:, 2] * X[:, 3]) - X[:, 4] ** 2


@pytest.mark.parametrize("through_tabular", [False, True])
def test_a_20_row_background_is_used_as_given_and_values_are_exact(through_tabular):
    # SDK rule: summarise only above 10 x nclusters rows, so 20 rows (nclusters=10) are used as given and the
    # enumerated values equal the oracle over all 20 rows; a k-means summary to 10 rows was ~1e-2 off.
    from pellucid import TabularExplainer

    rng = np.random.default_rng(11)
    background, rows = rng.normal(size=(20, 5)), rng.normal(size=(3, 5))
    if through_tabular:
        explainer = TabularExplainer(_nonlinear, background, model_task="regression")
        assert explainer.explainer_name == "KernelExplainer"
    else:
        explainer = KernelExplainer(_nonlinear, background, model_task="regression")
    explanation = explainer.explain_local(rows)
    exact, expected = exact_shapley_values(_nonlinear, rows, background)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-10, rtol=0)
    np.testing.assert_allclose(explanation.expected_values_array, expected, atol=1e-12, rtol=0)
    assert explanation.meta["kernel_shap"]["background_summary"] is None
    assert not any("summarised" in note for note in explanation.meta["notes"])


@pytest.mark.parametrize(("n_rows", "nclusters", "summarised"), [(100, 10, False), (101, 10, True), (31, 3, True)])
def test_summary_only_above_ten_rows_per_cluster(n_rows, nclusters, summarised):
    rng = np.random.default_rng(12)
    background = rng.normal(size=(n_rows, 5))
    explainer = KernelExplainer(_nonlinear, background, model_task="regression", nclusters=nclusters)
    summary = explainer.explain_local(background[:1]).meta["kernel_shap"]["background_summary"]
    if summarised:
        assert summary == {"from_rows": n_rows, "to_rows": nclusters}
        assert explainer.background.n_rows == nclusters
        # summary weights are the cluster sizes, over the original rows
        assert np.allclose(np.sort(explainer.background.row_weights() * n_rows),
                           np.sort(np.round(explainer.background.row_weights() * n_rows)))
    else:
        assert summary is None and explainer.background.n_rows == n_rows
