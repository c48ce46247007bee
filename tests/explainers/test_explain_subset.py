"""explain_subset and is_function on every explainer (issue 20.13, issue 16): the SDK's arguments, with its meaning.

A subset explanation's values are exactly the matching slice of the full explanation of the same rows.
"""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from pellucid.errors import ArgumentError
from pellucid.explainers.deep import DeepExplainer
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.mimic import MimicExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explainers.tree import TreeExplainer
from pellucid.mimic.models import DecisionTreeExplainableModel

IRIS = load_iris()
X, Y = IRIS.data, IRIS.target
SUBSET = [3, 1]
ROWS = X[::25]


@pytest.fixture(scope="module")
def logistic():
    return LogisticRegression(max_iter=500).fit(X, Y)


@pytest.fixture(scope="module")
def forest():
    return RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, Y)


def _torch_net():
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)).double().eval()


BUILDERS = {
    "kernel": lambda m, f, **kw: KernelExplainer(m, X[::10], nsamples=64, seed=1, **kw),
    "linear": lambda m, f, **kw: LinearExplainer(m, X, **kw),
    "tree": lambda m, f, **kw: TreeExplainer(f, **kw),
    "lime": lambda m, f, **kw: LIMEExplainer(m, X, num_samples=300, seed=2, **kw),
    "mimic": lambda m, f, **kw: MimicExplainer(m, X, DecisionTreeExplainableModel, augment_data=False, **kw),
    "tabular": lambda m, f, **kw: TabularExplainer(m, X[::10], **kw),
    "deep": lambda m, f, **kw: DeepExplainer(_torch_net(), X[::30], model_task="regression", **kw),
}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_subset_values_are_the_slice_of_the_full_explanation(kind, logistic, forest):
    full = BUILDERS[kind](logistic, forest).explain_local(ROWS)
    part = BUILDERS[kind](logistic, forest, explain_subset=SUBSET).explain_local(ROWS)
    assert part.features == [full.features[i] for i in SUBSET]
    np.testing.assert_array_equal(part.local_values, full.local_values[:, SUBSET, :])
    np.testing.assert_array_equal(part.expected_values_array, full.expected_values_array)
    np.testing.assert_array_equal(part.global_values, full.global_values[SUBSET])
    assert any("explain_subset" in note for note in part.meta["notes"])


def test_pfi_subset_is_the_slice_of_the_full_importances(logistic):
    full = PFIExplainer(logistic, seed=3).explain_global(X, true_labels=Y)
    part = PFIExplainer(logistic, seed=3, explain_subset=SUBSET).explain_global(X, true_labels=Y)
    np.testing.assert_array_equal(part.global_values, full.global_values[SUBSET])
    assert part.meta["importances_std"] == [full.meta["importances_std"][i] for i in SUBSET]


def test_bad_subsets_are_refused_before_work(logistic):
    with pytest.raises(ArgumentError, match=r"\[0, 4\)"):
        KernelExplainer(logistic, X[::10], explain_subset=[0, 9])
    with pytest.raises(ArgumentError, match="feature indices"):
        LinearExplainer(logistic, X, explain_subset=["a"])


class _CallableModel:
    """predict says nothing useful; calling the object is the model (what is_function=True asks for)."""

    def __init__(self, model):
        self.model = model

    def predict(self, rows):
        return np.zeros(len(rows))

    def __call__(self, rows):
        return self.model.predict_proba(rows)


def test_is_function_calls_the_model(logistic):
    explainer = KernelExplainer(_CallableModel(logistic), X[::10], nsamples=64, is_function=True,
                                model_task="classification")
    explanation = explainer.explain_local(ROWS)
    total = explanation.local_values.sum(axis=1) + explanation.expected_values_array
    np.testing.assert_allclose(total, logistic.predict_proba(ROWS), atol=1e-9)
    assert explanation.meta["model_type"] == "function"
    lime = LIMEExplainer(logistic.predict_proba, X, num_samples=200, is_function=True).explain_local(ROWS[:1])
    assert lime.local_values.shape == (1, 4, 3)
    with pytest.raises(ArgumentError, match="is_function=True needs a callable"):
        PFIExplainer(object(), is_function=True)
