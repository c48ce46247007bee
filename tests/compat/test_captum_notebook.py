"""interpret-community ``notebooks/captum-integration-example``, with only the imports changed.

captum's ``IntegratedGradients`` explains the toy network of captum's front page; the SDK's ``ExplanationAdapter``
turns its attributions into an explanation whose rankings the notebook prints, then opens the dashboard. The
notebook's last cell wraps the network with the SDK's ``wrap_model(model, DatasetWrapper(input))``, which pellucid
does not provide under those names; the dashboard is given the network itself, which pellucid wraps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")  # an optional dependency of the notebook, not a pellucid module
captum_attr = pytest.importorskip("captum.attr")

from pellucid import ExplanationDashboard  # noqa: E402  was: from raiwidgets import ExplanationDashboard
from pellucid.adapter import ExplanationAdapter  # noqa: E402  was: from interpret_community.adapter import ...


class ToyModel(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = torch.nn.Linear(3, 3)
        self.relu = torch.nn.ReLU()
        self.lin2 = torch.nn.Linear(3, 2)
        self.output = torch.nn.Linear(2, 1)
        self.lin1.weight = torch.nn.Parameter(torch.arange(-4.0, 5.0).view(3, 3))
        self.lin1.bias = torch.nn.Parameter(torch.zeros(1, 3))
        self.lin2.weight = torch.nn.Parameter(torch.arange(-3.0, 3.0).view(2, 3))
        self.lin2.bias = torch.nn.Parameter(torch.ones(1, 2))

    def forward(self, input):
        return self.output(self.lin2(self.relu(self.lin1(input))))


def test_captum_integration_example():
    torch.set_num_threads(1)
    model = ToyModel()
    model.eval()
    torch.manual_seed(123)
    rng = np.random.default_rng(123)
    input = torch.rand(100, 3)
    baseline = torch.zeros(100, 3)
    labels = rng.random(100)
    ig = captum_attr.IntegratedGradients(model)
    attributions, delta = ig.attribute(input, baseline, target=0, return_convergence_delta=True)

    adapter = ExplanationAdapter(features=["A", "B", "C"])
    global_explanation = adapter.create_global(attributions, evaluation_examples=np.array(input))

    values = attributions.detach().numpy()
    overall = np.abs(values).mean(axis=0)
    order = list(np.argsort(-overall))
    assert global_explanation.get_ranked_global_names() == [["A", "B", "C"][i] for i in order]
    np.testing.assert_allclose(global_explanation.get_ranked_global_values(), overall[order], rtol=1e-6)
    assert global_explanation.global_importance_rank == order
    assert list(global_explanation.get_feature_importance_dict()) == global_explanation.get_ranked_global_names()

    local = np.asarray(global_explanation.local_importance_values)
    assert local.shape == (100, 3)  # [row][feature] for a regression
    np.testing.assert_allclose(local, values, rtol=1e-6)
    # integrated gradients' completeness: a row's attributions add up to f(x) - f(baseline), up to captum's delta
    with torch.no_grad():
        gap = (model(input) - model(baseline))[:, 0].numpy()
    np.testing.assert_allclose(local.sum(axis=1), gap, atol=float(delta.abs().max()) + 1e-4)
    sorted_local_importance_values = global_explanation.get_ranked_local_values()[0]
    sorted_local_importance_names = global_explanation.get_ranked_local_names()[0]
    assert sorted_local_importance_values == sorted(local[0].tolist(), reverse=True)
    assert sorted(sorted_local_importance_names) == ["A", "B", "C"]

    dataset = pd.DataFrame(np.array(input))
    dashboard = ExplanationDashboard(global_explanation, model, dataset=dataset, true_y=labels)
    assert dashboard.payload["features"] == ["A", "B", "C"] and dashboard.payload["n_rows"] == 100
    with torch.no_grad():
        predicted = model(input)[:, 0].numpy()
    prediction = dashboard.payload["prediction"]
    assert prediction["source"] == "model"  # the network itself was called on the rows
    np.testing.assert_allclose(prediction["value"], predicted, rtol=1e-3, atol=1e-3)  # the page rounds
