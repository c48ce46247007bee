"""Models the old SDK explained without ``predict_proba``, PyTorch modules, and the SDK's error types.

Oracles: exact Shapley values by enumerating every coalition (``pellucid.testing.oracles``) of the function the
SDK explained (one-hot predictions, the predictions themselves, the module's outputs), the model's own outputs,
and PFI computed on an equivalent plain function.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.svm import SVC

from pellucid.errors import MissingArgumentError, ProbabilitiesRequiredError
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.mimic import MimicExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tabular import SamplingPolicy, TabularExplainer
from pellucid.mimic.models.linear_model import LinearExplainableModel
from pellucid.testing.oracles import exact_shapley_values

X, Y = load_iris(return_X_y=True)
BACKGROUND = X[::15]  # 10 rows
ROWS = X[[3, 60, 120]]


@pytest.fixture(scope="module")
def sgd():
    return SGDClassifier(random_state=0).fit(X, Y)  # default hinge loss: no predict_proba


@pytest.fixture(scope="module")
def svc():
    return SVC(random_state=0).fit(X, Y)  # probability=False: no predict_proba


@pytest.fixture(scope="module")
def logistic():
    return LogisticRegression(max_iter=1000).fit(X, Y)


def _one_hot(model, rows):
    return (model.predict(rows)[:, None] == model.classes_[None, :]).astype(float)


class KerasLike:
    """A Keras-style classifier: only ``predict``, returning one probability column per class."""

    def __init__(self, model):
        self.model = model

    def predict(self, rows):
        return self.model.predict_proba(np.asarray(rows))


# ---------------------------------------------------------------------- item 20.2: classifiers without probabilities
def test_sgd_classifier_is_explained_through_one_hot_predictions(sgd):
    assert not hasattr(sgd, "predict_proba")
    kernel = KernelExplainer(sgd, BACKGROUND).explain_local(ROWS)
    exact, expected = exact_shapley_values(lambda r: _one_hot(sgd, r), ROWS, BACKGROUND)
    np.testing.assert_allclose(kernel.local_values, exact, atol=1e-10)
    np.testing.assert_allclose(kernel.expected_values_array, expected, atol=1e-12)
    assert kernel.task == "classification" and kernel.classes == [0, 1, 2]
    assert kernel.meta["explained_output"] == "one-hot encoding of predict()"
    assert any("one-hot" in note for note in kernel.meta["notes"])

    lime = LIMEExplainer(sgd, X, classes=["a", "b", "c"], num_samples=300).explain_local(ROWS)
    np.testing.assert_array_equal(lime.model_output, _one_hot(sgd, ROWS))
    assert lime.classes == ["a", "b", "c"]

    mimic = MimicExplainer(sgd, X, LinearExplainableModel).explain_global(ROWS)
    assert mimic.task == "classification" and mimic.meta["explained_output"] == "one-hot encoding of predict()"

    pfi = PFIExplainer(sgd).explain_global(X, Y)
    as_function = PFIExplainer(lambda r: _one_hot(sgd, r), model_task="classification").explain_global(X, Y)
    np.testing.assert_array_equal(pfi.global_values, as_function.global_values)
    assert pfi.meta["baseline_score"] == pytest.approx(np.mean(sgd.predict(X) == Y))


def test_predict_only_function_is_explained_as_a_regression_of_its_predictions(svc):
    for explainer in (KernelExplainer(svc.predict, BACKGROUND), TabularExplainer(svc.predict, BACKGROUND)):
        explanation = explainer.explain_local(ROWS)
        exact, _ = exact_shapley_values(svc.predict, ROWS, BACKGROUND)
        np.testing.assert_allclose(explanation.local_values, exact, atol=1e-10)
        assert explanation.task == "regression"
    lime = LIMEExplainer(svc.predict, X, num_samples=300).explain_local(ROWS)
    np.testing.assert_array_equal(lime.model_output[:, 0], svc.predict(ROWS))
    pfi = PFIExplainer(svc.predict).explain_global(X, Y)
    assert pfi.task == "regression" and pfi.meta["explained_output"] == "function (regression)"


def test_classifier_without_proba_explains_its_predicted_labels_as_numbers(svc):
    explanation = LIMEExplainer(svc, X, num_samples=300).explain_local(ROWS)
    assert explanation.task == "regression"
    np.testing.assert_array_equal(explanation.model_output[:, 0], svc.predict(ROWS))
    assert any("without predict_proba" in note for note in explanation.meta["notes"])
    mimic = MimicExplainer(svc, X, LinearExplainableModel).explain_global(ROWS)
    assert mimic.task == "regression"


def test_keras_like_predict_with_probability_columns_is_a_classifier(logistic):
    model = KerasLike(logistic)
    for explainer in (KernelExplainer(model, BACKGROUND), TabularExplainer(model, BACKGROUND)):
        explanation = explainer.explain_local(ROWS)
        exact, _ = exact_shapley_values(logistic.predict_proba, ROWS, BACKGROUND)
        np.testing.assert_allclose(explanation.local_values, exact, atol=1e-10)
        assert explanation.task == "classification"
    lime = LIMEExplainer(model, X, num_samples=300).explain_local(ROWS)
    np.testing.assert_allclose(lime.model_output, logistic.predict_proba(ROWS))
    pfi = PFIExplainer(model).explain_global(X, Y)
    reference = PFIExplainer(logistic).explain_global(X, Y)
    np.testing.assert_array_equal(pfi.global_values, reference.global_values)
    mimic = MimicExplainer(model, X, LinearExplainableModel).explain_global(ROWS)
    assert mimic.classes == [0, 1, 2]


def test_one_probability_column_becomes_two_classes_when_classification_is_stated(logistic):
    def second_class(rows):
        return logistic.predict_proba(rows)[:, 1]

    explanation = KernelExplainer(second_class, BACKGROUND, model_task="classification").explain_local(ROWS)
    p = second_class(ROWS)
    np.testing.assert_allclose(explanation.model_output, np.stack([1 - p, p], axis=1))
    exact, _ = exact_shapley_values(lambda r: np.stack([1 - second_class(r), second_class(r)], axis=1),
                                    ROWS, BACKGROUND)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-10)
    binary = SVC(random_state=0).fit(X, Y == 2)  # 0/1 labels: [1 - p, p] is the one-hot of its predictions
    labels = KernelExplainer(binary, BACKGROUND, model_task="classification").explain_local(ROWS)
    np.testing.assert_array_equal(labels.model_output, _one_hot(binary, ROWS))
    with pytest.raises(ProbabilitiesRequiredError, match="outside \\[0, 1\\]") as raised:
        KernelExplainer(lambda rows: rows[:, 0], BACKGROUND, model_task="classification")
    assert isinstance(raised.value, ValueError)


# ---------------------------------------------------------------------- items 20.10 / 20.11: the SDK's errors
def test_classes_with_a_model_without_probabilities_raise_value_error(svc):
    sdk_model = "Classes is specified but model does not define predict_proba, only predict."
    sdk_function = "Classes is specified but function was predict, not predict_proba."
    classes = ["setosa", "versicolor", "virginica"]
    with pytest.raises(ValueError, match=sdk_model):
        LIMEExplainer(svc, X, classes=classes)
    with pytest.raises(ValueError, match=sdk_function):
        LIMEExplainer(svc.predict, X, classes=classes)
    with pytest.raises(ValueError, match=sdk_model):
        PFIExplainer(svc, classes=classes)
    with pytest.raises(ValueError, match=sdk_function):
        PFIExplainer(svc.predict, X, classes=classes)
    with pytest.raises(ProbabilitiesRequiredError):
        PFIExplainer(svc.predict, classes=classes).explain_global(X, Y)  # no data at init: checked when called


def test_pfi_without_true_labels_raises_type_error(logistic):
    explainer = PFIExplainer(logistic)
    with pytest.raises(TypeError, match="true_labels"):
        explainer.explain_global(X)
    with pytest.raises(MissingArgumentError):
        explainer.explain_global(X)
    positional = explainer.explain_global(X, Y)
    keyword = explainer.explain_global(X, true_labels=Y)
    np.testing.assert_array_equal(positional.global_values, keyword.global_values)


def test_pfi_accepts_sparse_true_labels(logistic):
    dense = PFIExplainer(logistic).explain_global(X, Y)
    for labels in (sp.csr_matrix(Y.reshape(-1, 1)), sp.csc_matrix(Y.reshape(1, -1))):
        sparse = PFIExplainer(logistic).explain_global(X, labels)
        np.testing.assert_array_equal(sparse.global_values, dense.global_values)


class SDKPolicy:
    """The SDK's SamplingPolicy attribute names (allow_eval_sampling, max_dim_clustering)."""

    def __init__(self, allow_eval_sampling=False, max_dim_clustering=50):
        self.allow_eval_sampling = allow_eval_sampling
        self.max_dim_clustering = max_dim_clustering


@pytest.mark.parametrize("make", [
    lambda model: LIMEExplainer(model, X, num_samples=200),
    lambda model: KernelExplainer(model, BACKGROUND, nsamples=40),
])
def test_explain_global_takes_a_sampling_policy(logistic, make):
    explainer = make(logistic)
    everything = explainer.explain_global(X[:12])
    for policy in (None, SamplingPolicy(allow_eval_sampling=False), SDKPolicy()):
        same = explainer.explain_global(X[:12], sampling_policy=policy)
        np.testing.assert_array_equal(same.local_values, everything.local_values)
    sampled = explainer.explain_global(X[:12], sampling_policy=SamplingPolicy(allow_eval_sampling=True, max_rows=5))
    assert sampled.local_values.shape[0] == 5
    kept = np.flatnonzero((X[:12][:, None, :] == sampled.eval_data[None, :, :]).all(axis=2).any(axis=1))
    direct = explainer.explain_global(X[:12][kept])
    np.testing.assert_allclose(sampled.local_values, direct.local_values)
    assert any("sampling_policy" in note for note in sampled.meta["notes"])
    sdk = explainer.explain_global(X[:12], sampling_policy=SDKPolicy(allow_eval_sampling=True, max_dim_clustering=4))
    assert sdk.local_values.shape[0] == 4
