"""PyTorch modules given to the model-agnostic explainers (Kernel, LIME, PFI, Mimic), as the old SDK wrapped them.

Oracle: the module's own outputs in evaluation mode (computed here independently with torch), and exact
Shapley values of that function by enumerating every coalition.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

torch = pytest.importorskip("torch")

from pellucid.explainers.kernel import KernelExplainer  # noqa: E402
from pellucid.explainers.lime import LIMEExplainer  # noqa: E402
from pellucid.explainers.mimic import MimicExplainer  # noqa: E402
from pellucid.explainers.pfi import PFIExplainer  # noqa: E402
from pellucid.mimic.models.linear_model import LinearExplainableModel  # noqa: E402
from pellucid.testing.oracles import exact_shapley_values  # noqa: E402

X, Y = load_iris(return_X_y=True)
BACKGROUND = X[::15]
ROWS = X[[3, 60, 120]]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _classifier():
    """A float32 classifier left in training mode, with dropout (random outputs in training mode)."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.5),
                              torch.nn.Linear(16, 3), torch.nn.Softmax(dim=1))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    inputs, targets = torch.tensor(X, dtype=torch.float32), torch.tensor(Y)
    for _ in range(100):
        optimizer.zero_grad()
        torch.nn.functional.nll_loss(torch.log(net(inputs) + 1e-9), targets).backward()
        optimizer.step()
    return net.train()


def _eval_function(net):
    frozen = copy.deepcopy(net).eval()

    def predict(rows):
        with torch.no_grad():
            return frozen(torch.tensor(np.asarray(rows, dtype=np.float64), dtype=torch.float32)).double().numpy()

    return predict


def _all_training(net) -> bool:
    return all(module.training for module in net.modules())


def test_kernel_explains_a_torch_module_exactly_and_leaves_its_mode():
    net = _classifier()
    explanation = KernelExplainer(net, BACKGROUND).explain_local(ROWS)
    exact, expected = exact_shapley_values(_eval_function(net), ROWS, BACKGROUND)
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-6)
    np.testing.assert_allclose(explanation.expected_values_array, expected, atol=1e-6)
    assert explanation.task == "classification" and explanation.classes == [0, 1, 2]
    assert explanation.meta["model_type"] == "torch.nn.modules.container.Sequential"
    assert any("training mode" in note for note in explanation.meta["notes"])
    assert _all_training(net)


def test_lime_pfi_and_mimic_take_a_torch_module():
    net = _classifier()
    predict = _eval_function(net)
    lime = LIMEExplainer(net, X, classes=["a", "b", "c"], num_samples=300).explain_local(ROWS)
    np.testing.assert_allclose(lime.model_output, predict(ROWS), atol=1e-6)
    assert lime.classes == ["a", "b", "c"]

    pfi = PFIExplainer(net).explain_global(X, Y)
    reference = PFIExplainer(predict, model_task="classification").explain_global(X, Y)
    np.testing.assert_allclose(pfi.global_values, reference.global_values, atol=1e-12)
    assert pfi.meta["baseline_score"] == pytest.approx(np.mean(predict(X).argmax(axis=1) == Y))

    mimic = MimicExplainer(net, X, LinearExplainableModel).explain_global(ROWS)
    assert mimic.task == "classification" and mimic.classes == [0, 1, 2]
    assert _all_training(net)


def test_torch_regressor_gets_float_tensors_without_gradients_and_pandas_rows():
    calls = []

    class Regressor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(4, 1).double()

        def forward(self, inputs):
            calls.append((inputs.dtype, torch.is_grad_enabled(), self.training))
            return self.linear(inputs)[:, 0]

    torch.manual_seed(1)
    net = Regressor().eval()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    explanation = KernelExplainer(net, frame.iloc[::15]).explain_local(frame.iloc[[3, 60, 120]])
    weight = net.linear.weight.detach().numpy()[0]
    # A linear model's exact Shapley values: coef * (x - mean background).
    np.testing.assert_allclose(explanation.local_values[:, :, 0], weight * (ROWS - BACKGROUND.mean(axis=0)),
                               atol=1e-10)
    assert explanation.task == "regression"
    assert calls and all(call == (torch.float64, False, False) for call in calls)
