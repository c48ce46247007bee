"""A model returning NaN or inf is refused with a ModelOutputError naming the rows and outputs (issue 16.3).

Before, Kernel, LIME, PFI and Tabular returned all-NaN explanations without a word.
"""

from __future__ import annotations

import numpy as np
import pytest

from pellucid.data import as_dataset
from pellucid.errors import DataValueError, ModelOutputError
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.mimic import MimicExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.mimic.models import LinearExplainableModel
from pellucid.model import ModelWrapper

RNG = np.random.default_rng(3)
X = RNG.normal(size=(80, 3))
BAD_VALUE = {"nan": np.nan, "inf": np.inf}


def _regressor(bad: str):
    """Finite except where the first feature exceeds 1: NaN or inf there."""
    def predict(Z):
        Z = np.asarray(Z, dtype=np.float64)
        out = Z @ np.array([1.0, 2.0, -1.0])
        return np.where(Z[:, 0] > 1.0, BAD_VALUE[bad], out)
    return predict


def _classifier(bad: str):
    def predict_proba(Z):
        Z = np.asarray(Z, dtype=np.float64)
        p = 1.0 / (1.0 + np.exp(-Z[:, 1]))
        proba = np.column_stack([1 - p, p])
        proba[Z[:, 0] > 1.0, 1] = BAD_VALUE[bad]
        return proba
    return predict_proba


CASES = {
    "kernel": lambda f, task: KernelExplainer(f, X[X[:, 0] < 0][:10], model_task=task, nsamples=32),
    "lime": lambda f, task: LIMEExplainer(f, X, model_task=task, num_samples=200),
    "tabular": lambda f, task: TabularExplainer(f, X[X[:, 0] < 0][:10], model_task=task, nsamples=32),
    "mimic": lambda f, task: MimicExplainer(f, X, LinearExplainableModel, model_task=task),
}


@pytest.mark.parametrize("bad", ["nan", "inf"])
@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("method", sorted(CASES))
def test_non_finite_model_output_raises_a_typed_error(method, task, bad):
    model = _regressor(bad) if task == "regression" else _classifier(bad)
    rows = X[X[:, 0] > 1.0][:3]
    with pytest.raises(ModelOutputError, match=r"must return finite numbers.*NaN/inf values in \d+ rows \(row indices"):
        CASES[method](model, task).explain_local(rows)


@pytest.mark.parametrize("bad", ["nan", "inf"])
def test_pfi_refuses_non_finite_output(bad):
    y = X @ np.array([1.0, 2.0, -1.0])
    with pytest.raises(ModelOutputError, match="must return finite numbers"):
        PFIExplainer(_regressor(bad), model_task="regression").explain_global(X, y)


def test_the_error_names_rows_and_outputs():
    wrapper = ModelWrapper(_classifier("nan"), as_dataset(X[:1] * 0), model_task="classification", classes=["no", "yes"])
    rows = np.zeros((6, 3))
    rows[[1, 4], 0] = 2.0
    with pytest.raises(ModelOutputError) as caught:
        wrapper.predict_output(rows)
    message = str(caught.value)
    assert "2 NaN/inf values in 2 rows (row indices 1, 4) and outputs ['yes']" in message
    assert "first is nan at row 1, output 1" in message
    assert isinstance(caught.value, ValueError) and not isinstance(caught.value, DataValueError)
    np.testing.assert_array_equal(wrapper.predict_output(np.zeros((2, 3)))[:, 1], [0.5, 0.5])
