"""Tests of DeepExplainer (PyTorch): exactness against independent oracles, shapes, output spaces, bad input.

Oracles: exact linear SHAP (coef * (x - mean background)), exact Shapley values by enumerating every coalition
against the same background, shap.DeepExplainer and captum's DeepLiftShap, and the additivity identity.
"""

from __future__ import annotations

import copy
import json
import math
from itertools import product

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from pellucid.data import as_dataset, summarize  # noqa: E402
from pellucid.errors import (  # noqa: E402
    ArgumentError,
    DataShapeError,
    DataValueError,
    ModelInterfaceError,
    UnsupportedInputError,
)
from pellucid.explainers.deep import DeepExplainer  # noqa: E402
from pellucid.explanation import Explanation  # noqa: E402

METHODS = ("deeplift_shap", "gradient_shap", "integrated_gradients")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _mlp(n_in: int, n_out: int, *, hidden: int = 12, double: bool = True, final=None, seed: int = 0):
    torch.manual_seed(seed)
    layers = [torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
              torch.nn.Linear(hidden, n_out)]
    if final is not None:
        layers.append(final)
    net = torch.nn.Sequential(*layers)
    return (net.double() if double else net).eval()


def _data(n_rows: int, n_features: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n_rows, n_features))


def _residual(explanation: Explanation) -> float:
    total = explanation.local_values.sum(axis=1) + explanation.expected_values_array
    return float(np.abs(total - explanation.model_output).max())


def _exact_shapley(function, rows: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Interventional Shapley values by enumerating all 2^M coalitions: ndarray (n_rows, M, n_outputs)."""
    n_rows, m = rows.shape
    masks = np.array(list(product([0, 1], repeat=m)), dtype=bool)  # (2^M, M)
    # v(S) = mean over background rows of f(x on S, background elsewhere)
    mixed = np.where(masks[None, :, None, :], rows[:, None, None, :], background[None, None, :, :])
    outputs = function(mixed.reshape(-1, m)).reshape(n_rows, len(masks), len(background), -1)
    value = outputs.mean(axis=2)  # (n_rows, 2^M, k)
    sizes = masks.sum(axis=1)
    index = {tuple(mask): i for i, mask in enumerate(masks)}
    phi = np.zeros((n_rows, m, value.shape[2]))
    for s, mask in enumerate(masks):
        for i in np.flatnonzero(~mask):
            with_i = mask.copy()
            with_i[i] = True
            weight = math.factorial(sizes[s]) * math.factorial(m - sizes[s] - 1) / math.factorial(m)
            phi[:, i] += weight * (value[:, index[tuple(with_i)]] - value[:, s])
    return phi


def _trained_mlp(n_features: int, n_out: int, rows: np.ndarray, target: np.ndarray, *, classification: bool,
                 steps: int = 250):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(n_features, 24), torch.nn.ReLU(), torch.nn.Linear(24, 24),
                              torch.nn.ReLU(), torch.nn.Linear(24, n_out)).double()
    optimiser = torch.optim.Adam(net.parameters(), lr=0.02)
    inputs = torch.tensor(rows)
    labels = torch.tensor(target)
    loss_fn = torch.nn.CrossEntropyLoss() if classification else torch.nn.MSELoss()
    for _ in range(steps):
        optimiser.zero_grad()
        output = net(inputs)
        loss = loss_fn(output, labels) if classification else loss_fn(output[:, 0], labels)
        loss.backward()
        optimiser.step()
    return net.eval()


def _numpy_function(net):
    def function(values: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.tensor(values, dtype=next(net.parameters()).dtype)).double().numpy()

    return function


# ---------------------------------------------------------------------- exactness
@pytest.mark.parametrize("method", ["deeplift_shap", "integrated_gradients"])
def test_linear_network_equals_exact_linear_shap(method):
    torch.manual_seed(3)
    net = torch.nn.Linear(6, 3).double().eval()
    background, rows = _data(40, 6, seed=1), _data(9, 6, seed=2)
    explanation = DeepExplainer(net, background, method=method).explain_local(rows)
    weights = net.weight.detach().numpy()  # (3, 6)
    exact = (rows - background.mean(axis=0))[:, :, None] * weights.T[None, :, :]
    np.testing.assert_allclose(explanation.local_values, exact, atol=1e-5)
    assert explanation.meta["output_space"] == "logit"
    assert explanation.meta["link"] == "softmax"


def test_linear_regression_with_weighted_background_uses_weighted_mean():
    torch.manual_seed(4)
    net = torch.nn.Linear(5, 1).double().eval()
    background = summarize(as_dataset(_data(300, 5, seed=5)), 12)
    rows = _data(6, 5, seed=6)
    explanation = DeepExplainer(net, background).explain_local(rows)
    mean = background.row_weights() @ background.values
    exact = (rows - mean) * net.weight.detach().numpy()[0]
    np.testing.assert_allclose(explanation.local_values[:, :, 0], exact, atol=1e-5)
    assert explanation.task == "regression" and explanation.classes is None
    assert any("inferred as 'regression'" in note for note in explanation.meta["notes"])


def test_deeplift_shap_additive_in_float64_and_float32():
    background, rows = _data(30, 7, seed=1), _data(25, 7, seed=2)
    exact = DeepExplainer(_mlp(7, 4), background).explain_local(rows)
    assert _residual(exact) < 1e-5
    assert exact.meta["convergence_delta"] < 1e-5
    assert any("additive by construction" in note for note in exact.meta["notes"])
    single = DeepExplainer(_mlp(7, 4, double=False), background).explain_local(rows)
    scale = np.abs(single.model_output).max()
    assert _residual(single) < 1e-5 * max(scale, 1.0) * 10  # float32 rounding


def test_deeplift_shap_matches_shap_deep_explainer_and_captum():
    shap = pytest.importorskip("shap")
    DeepLiftShap = pytest.importorskip("captum.attr").DeepLiftShap

    net = _mlp(5, 3)
    background, rows = _data(25, 5, seed=3), _data(8, 5, seed=4)
    explanation = DeepExplainer(net, background).explain_local(rows)
    reference = np.asarray(shap.DeepExplainer(net, torch.tensor(background)).shap_values(torch.tensor(rows)))
    np.testing.assert_allclose(explanation.local_values, reference, atol=1e-10)
    captum_values = DeepLiftShap(net).attribute(torch.tensor(rows), baselines=torch.tensor(background), target=2)
    np.testing.assert_allclose(explanation.local_values[:, :, 2], captum_values.detach().numpy(), atol=1e-10)


def test_trained_regression_mlp_correlates_with_exact_shapley():
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(400, 6))
    target = rows[:, 0] * rows[:, 1] + np.sin(2 * rows[:, 2]) + np.maximum(rows[:, 3], 0) - 0.5 * rows[:, 4]
    net = _trained_mlp(6, 1, rows, target, classification=False)
    background, explained = rows[:24], rows[100:130]
    exact = _exact_shapley(_numpy_function(net), explained, background)
    for method in METHODS:
        options = {"n_samples": 400} if method == "gradient_shap" else {}
        values = DeepExplainer(net, background, method=method, **options).explain_local(explained).local_values
        correlation = np.corrcoef(values.ravel(), exact.ravel())[0, 1]
        assert correlation > 0.95, (method, correlation)


def test_trained_classifier_correlates_with_exact_shapley_in_both_spaces():
    rng = np.random.default_rng(8)
    rows = rng.normal(size=(400, 5))
    labels = (rows[:, 0] + rows[:, 1] * rows[:, 2] > 0).astype(np.int64) + (rows[:, 3] > 1).astype(np.int64)
    net = _trained_mlp(5, 3, rows, labels, classification=True)
    background, explained = rows[:20], rows[200:225]
    logits = _exact_shapley(_numpy_function(net), explained, background)
    values = DeepExplainer(net, background).explain_local(explained)
    assert values.meta["output_space"] == "logit"
    assert np.corrcoef(values.local_values.ravel(), logits.ravel())[0, 1] > 0.95

    def probabilities(x):
        return torch.softmax(torch.tensor(_numpy_function(net)(x)), dim=1).numpy()

    exact = _exact_shapley(probabilities, explained, background)
    explanation = DeepExplainer(net, background, output="probability").explain_local(explained)
    assert explanation.meta["output_space"] == "probability"
    assert _residual(explanation) < 1e-6
    # The softmax couples the classes: per background row DeepLIFT linearises it, exact Shapley values keep its
    # interactions. With this saturated model (logits up to ~80) all three methods correlate 0.83-0.94 with the
    # exact probability-space values across data seeds (0.90 here), against > 0.99 in logit space.
    assert np.corrcoef(explanation.local_values.ravel(), exact.ravel())[0, 1] > 0.8


# ---------------------------------------------------------------------- output spaces and heads
def test_sequential_ending_in_softmax_is_explained_in_probabilities_exactly():
    net = _mlp(6, 4, final=torch.nn.Softmax(dim=1))
    background, rows = _data(20, 6, seed=1), _data(10, 6, seed=2)
    explanation = DeepExplainer(net, background).explain_local(rows)
    assert explanation.meta["output_space"] == "probability" and explanation.meta["link"] == "identity"
    assert _residual(explanation) < 1e-8
    np.testing.assert_allclose(explanation.model_output, _numpy_function(net)(rows), atol=1e-12)
    np.testing.assert_allclose(explanation.expected_values_array, _numpy_function(net)(background).mean(axis=0), atol=1e-12)
    assert any("split off" in note for note in explanation.meta["notes"])
    # the logits before the softmax, explained directly, are what output="logit" gives
    logits = DeepExplainer(net, background, output="logit").explain_local(rows)
    direct = DeepExplainer(net[:-1].eval(), background).explain_local(rows)
    np.testing.assert_allclose(logits.local_values, direct.local_values, atol=1e-12)
    assert logits.meta["output_space"] == "logit" and logits.meta["link"] == "softmax"


def test_log_softmax_model_is_explained_in_log_probabilities():
    net = _mlp(4, 3, final=torch.nn.LogSoftmax(dim=1))
    background, rows = _data(15, 4, seed=1), _data(6, 4, seed=2)
    explanation = DeepExplainer(net, background).explain_local(rows)
    assert explanation.meta["output_space"] == "log_probability" and explanation.meta["link"] == "exp"
    assert _residual(explanation) < 1e-8
    np.testing.assert_allclose(explanation.model_output, _numpy_function(net)(rows), atol=1e-12)


@pytest.mark.parametrize("final", [None, "sigmoid"])
def test_binary_classifier_with_one_output_gets_two_class_outputs(final):
    net = _mlp(5, 1, final=torch.nn.Sigmoid() if final else None)
    with torch.no_grad():
        net[4].weight.mul_(10.0)  # logits well outside [0, 1]
    background, rows = _data(20, 5, seed=1), _data(7, 5, seed=2)
    explanation = DeepExplainer(net, background, model_task="classification", classes=["no", "yes"]).explain_local(rows)
    assert explanation.local_values.shape == (7, 5, 2)
    assert explanation.classes == ["no", "yes"]
    np.testing.assert_allclose(explanation.local_values[:, :, 0], -explanation.local_values[:, :, 1], atol=1e-12)
    assert _residual(explanation) < 1e-8
    output = _numpy_function(net)(rows)[:, 0]
    if final:
        assert explanation.meta["output_space"] == "probability"
        np.testing.assert_allclose(explanation.model_output, np.c_[1 - output, output], atol=1e-12)
        np.testing.assert_allclose(explanation.expected_values_array.sum(), 1.0, atol=1e-12)
    else:
        assert explanation.meta["output_space"] == "logit" and explanation.meta["link"] == "sigmoid"
        np.testing.assert_allclose(explanation.model_output, np.c_[-output, output], atol=1e-12)


def test_one_output_in_unit_interval_is_read_as_probability_unless_told_logit():
    net = _mlp(5, 1)
    background, rows = _data(20, 5, seed=1), _data(7, 5, seed=2)
    output = _numpy_function(net)(rows)[:, 0]
    assert 0 < output.min() and output.max() < 1
    guessed = DeepExplainer(net, background, model_task="classification").explain_local(rows)
    assert guessed.meta["output_space"] == "probability"
    assert any("look like probabilities" in note for note in guessed.meta["notes"])
    told = DeepExplainer(net, background, model_task="classification", output="logit").explain_local(rows)
    assert told.meta["output_space"] == "logit"
    np.testing.assert_allclose(told.model_output, np.c_[-output, output], atol=1e-12)


def test_probability_output_of_a_logit_binary_model_applies_the_sigmoid():
    net = _mlp(5, 1)
    with torch.no_grad():
        net[4].bias.add_(5.0)  # logits above 1
    background, rows = _data(20, 5, seed=1), _data(7, 5, seed=2)
    explanation = DeepExplainer(net, background, model_task="classification", output="probability").explain_local(rows)
    probability = 1 / (1 + np.exp(-_numpy_function(net)(rows)[:, 0]))
    np.testing.assert_allclose(explanation.model_output[:, 1], probability, atol=1e-12)
    assert _residual(explanation) < 1e-8


def test_probabilities_computed_inside_forward_cannot_be_explained_as_logits():
    class Classifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = _mlp(4, 3)

        def forward(self, x):
            return torch.softmax(self.body(x), dim=1)

    background = _data(10, 4)
    explanation = DeepExplainer(Classifier().eval(), background).explain_local(_data(3, 4, seed=1))
    assert explanation.meta["output_space"] == "probability"
    assert any("look like probabilities" in note for note in explanation.meta["notes"])
    with pytest.raises(ArgumentError, match="logits cannot be reached"):
        DeepExplainer(Classifier().eval(), background, output="logit")


def test_multiclass_shapes_and_class_names():
    net = _mlp(6, 3)
    explanation = DeepExplainer(net, _data(10, 6), classes=["a", "b", "c"],
                                features=[f"f{i}" for i in range(6)]).explain_local(_data(4, 6, seed=1))
    assert explanation.local_values.shape == (4, 6, 3)
    assert explanation.expected_values_array.shape == (3,)
    assert explanation.model_output.shape == (4, 3)
    assert explanation.classes == ["a", "b", "c"]
    assert explanation.features == [f"f{i}" for i in range(6)]
    assert np.asarray(explanation.local_importance_values).shape == (3, 4, 6)
    with pytest.raises(ArgumentError, match="3 class outputs"):
        DeepExplainer(net, _data(10, 6), classes=["a", "b"])


def test_regression_shapes():
    net = _mlp(4, 1)
    explanation = DeepExplainer(net, _data(10, 4), model_task="regression").explain_local(_data(5, 4, seed=1))
    assert explanation.task == "regression"
    assert explanation.local_values.shape == (5, 4, 1)
    assert explanation.meta["output_space"] == "raw"
    assert not any("inferred" in note for note in explanation.meta["notes"])
    with pytest.raises(ArgumentError, match="regressor"):
        DeepExplainer(net, _data(10, 4), model_task="regression", output="probability")


def test_pandas_input_gives_names_and_the_same_values():
    net = _mlp(4, 2)
    background, rows = _data(12, 4), _data(5, 4, seed=1)
    columns = ["age", "income", "score", "tenure"]
    from_frames = DeepExplainer(net, pd.DataFrame(background, columns=columns)).explain_local(
        pd.DataFrame(rows, columns=columns))
    from_arrays = DeepExplainer(net, background).explain_local(rows)
    assert from_frames.features == columns
    np.testing.assert_allclose(from_frames.local_values, from_arrays.local_values, atol=1e-12)
    one_row = DeepExplainer(net, background).explain_local(pd.Series(rows[0], index=columns))
    np.testing.assert_allclose(one_row.local_values[0], from_arrays.local_values[0], atol=1e-12)


# ---------------------------------------------------------------------- gradient methods
def test_gradient_shap_standard_errors_cover_the_exact_values_and_shrink():
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(4, 1)).double().eval()
    background, rows = _data(50, 4, seed=1), _data(6, 4, seed=2)
    exact = DeepExplainer(net, background).explain_local(rows).local_values
    small = DeepExplainer(net, background, method="gradient_shap", n_samples=20).explain_local(rows)
    large = DeepExplainer(net, background, method="gradient_shap", n_samples=800).explain_local(rows)
    assert small.standard_errors.shape == small.local_values.shape
    assert large.standard_errors.mean() < small.standard_errors.mean() / 3
    # exact for a linear model is coef * (x - mean(background)); the sampled mean is within a few errors
    z = np.abs(large.local_values - exact) / np.maximum(large.standard_errors, 1e-12)
    assert np.mean(z < 3) > 0.9
    assert large.meta["convergence_delta"] < small.meta["convergence_delta"]
    assert any("additive only in expectation" in note for note in large.meta["notes"])


def test_integrated_gradients_delta_shrinks_with_more_nodes():
    net = _mlp(5, 2, final=torch.nn.Softmax(dim=1))
    background, rows = _data(10, 5, seed=1), _data(6, 5, seed=2) * 3
    coarse = DeepExplainer(net, background, method="integrated_gradients", n_samples=4).explain_local(rows)
    fine = DeepExplainer(net, background, method="integrated_gradients", n_samples=64).explain_local(rows)
    assert fine.meta["convergence_delta"] < coarse.meta["convergence_delta"]
    assert fine.meta["convergence_delta"] < 1e-2


@pytest.mark.parametrize("method", METHODS)
def test_values_do_not_depend_on_batching_or_row_order(method):
    net = _mlp(5, 3)
    background, rows = _data(13, 5, seed=1), _data(11, 5, seed=2)
    options = {"n_samples": 16} if method != "deeplift_shap" else {}
    whole = DeepExplainer(net, background, method=method, **options).explain_local(rows)
    chunked = DeepExplainer(net, background, method=method, batch_size=7, **options).explain_local(rows)
    np.testing.assert_allclose(chunked.local_values, whole.local_values, atol=1e-10)
    alone = DeepExplainer(net, background, method=method, **options).explain_local(rows[4])
    np.testing.assert_allclose(alone.local_values[0], whole.local_values[4], atol=1e-10)


# ---------------------------------------------------------------------- bad input
def test_wrong_input_width_raises_data_shape_error():
    net = _mlp(5, 2)
    explainer = DeepExplainer(net, _data(10, 5))
    with pytest.raises(DataShapeError, match="5 features"):
        explainer.explain_local(_data(3, 4))
    with pytest.raises(DataShapeError, match="first Linear layer takes 5 features"):
        DeepExplainer(net, _data(10, 6))


def test_model_in_train_mode_is_explained_in_eval_mode_and_restored():
    # The old SDK explained a model left in training mode by switching it to evaluation mode; pellucid does the
    # same for each forward pass and restores the mode, so the user's model is still training afterwards.
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(8),
                              torch.nn.ReLU(), torch.nn.Linear(8, 2)).double()
    net.train()
    for _ in range(3):  # move the batch-norm running statistics away from their initial values
        net(torch.randn(16, 4, dtype=torch.float64))
    rows, background = _data(5, 4, seed=1), _data(10, 4)
    explainer = DeepExplainer(net, background)
    assert all(module.training for module in net.modules())
    in_train = explainer.explain_local(rows)
    assert all(module.training for module in net.modules())
    assert any("training mode" in note and "restored" in note for note in in_train.meta["notes"])
    reference = DeepExplainer(copy.deepcopy(net).eval(), background).explain_local(rows)
    np.testing.assert_allclose(in_train.local_values, reference.local_values, atol=1e-12)
    np.testing.assert_allclose(in_train.model_output, reference.model_output, atol=1e-12)
    with torch.no_grad():  # the explained output is the evaluation-mode output, deterministic despite dropout
        expected = copy.deepcopy(net).eval()(torch.tensor(rows)).numpy()  # logits: explained as returned
    np.testing.assert_allclose(in_train.model_output, expected, atol=1e-10)


class _Rounded(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, x):
        return torch.round(self.linear(x) * 3)


class _NoGrad(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, x):
        with torch.no_grad():
            return self.linear(x)


class _ArgMax(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 3)

    def forward(self, x):
        return torch.nn.functional.one_hot(self.linear(x).argmax(dim=1), 3)


@pytest.mark.parametrize("model_class, message", [(_Rounded, "step function"), (_NoGrad, "no gradient"),
                                                  (_ArgMax, "no gradient")])
def test_non_differentiable_models_are_refused(model_class, message):
    with pytest.raises(ModelInterfaceError, match=message):
        DeepExplainer(model_class().eval(), _data(20, 4))


def test_functional_nonlinearity_is_flagged_as_not_additive(caplog):
    class Functional(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.first, self.second = torch.nn.Linear(4, 16), torch.nn.Linear(16, 1)

        def forward(self, x):
            return self.second(torch.relu(self.first(x)))

    torch.manual_seed(0)
    explanation = DeepExplainer(Functional().double().eval(), _data(20, 4)).explain_local(_data(10, 4, seed=1) * 2)
    assert explanation.meta["convergence_delta"] > 1e-3
    assert any("not here" in note and "nn.ReLU" in note for note in explanation.meta["notes"])


def test_activation_module_used_twice_gives_the_same_values_as_two_modules():
    shared = torch.nn.Tanh()
    reused = torch.nn.Sequential(torch.nn.Linear(4, 8), shared, torch.nn.Linear(8, 8), shared, torch.nn.Linear(8, 2))
    separate = torch.nn.Sequential(*[torch.nn.Tanh() if isinstance(m, torch.nn.Tanh) else m for m in reused])
    background, rows = _data(10, 4), _data(5, 4, seed=1) * 2
    first = DeepExplainer(reused.double().eval(), background).explain_local(rows)
    second = DeepExplainer(separate.double().eval(), background).explain_local(rows)
    np.testing.assert_allclose(first.local_values, second.local_values, atol=1e-12)
    assert _residual(first) < 1e-8


def test_in_place_activations_and_rows_equal_to_references():
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(inplace=True), torch.nn.Linear(8, 8),
                              torch.nn.LeakyReLU(0.1, inplace=True), torch.nn.Linear(8, 2)).double().eval()
    background = _data(10, 4)
    explanation = DeepExplainer(net, background).explain_local(background)  # each row is also a reference
    assert _residual(explanation) < 1e-8
    reference = pytest.importorskip("captum.attr").DeepLiftShap(net)
    for target in range(2):
        expected = reference.attribute(torch.tensor(background), baselines=torch.tensor(background), target=target)
        np.testing.assert_allclose(explanation.local_values[:, :, target], expected.detach().numpy(), atol=1e-10)


def test_bad_data_and_arguments():
    net = _mlp(3, 2)
    background = _data(10, 3)
    with pytest.raises(UnsupportedInputError, match="numeric"):
        DeepExplainer(net, pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [0.0, 1.0]}))
    rows = _data(2, 3)
    rows[1, 2] = np.nan
    with pytest.raises(DataValueError, match="NaN"):
        DeepExplainer(net, background).explain_local(rows)
    with pytest.raises(ArgumentError, match="method"):
        DeepExplainer(net, background, method="deep_taylor")
    with pytest.raises(ArgumentError, match="n_samples"):
        DeepExplainer(net, background, n_samples=10)
    with pytest.raises(ArgumentError, match="seed"):
        DeepExplainer(net, background, method="integrated_gradients", seed=3)
    with pytest.raises(ArgumentError, match="batch_size"):
        DeepExplainer(net, background, batch_size=0)
    with pytest.raises(ArgumentError, match="initialization_examples"):
        DeepExplainer(net, None)
    with pytest.raises(ArgumentError, match="model_task='classification'"):
        DeepExplainer(_mlp(3, 1), background, classes=["a", "b"])
    with pytest.raises(ModelInterfaceError, match="one output per row"):
        DeepExplainer(net, background, model_task="regression")


def test_supports_torch_modules_only():
    from sklearn.linear_model import LinearRegression

    assert DeepExplainer.supports(_mlp(3, 2))
    assert not DeepExplainer.supports(LinearRegression())
    assert not DeepExplainer.supports(lambda x: x)
    with pytest.raises(ModelInterfaceError, match=r"torch\.nn\.Module"):
        DeepExplainer(LinearRegression().fit(_data(10, 3), np.arange(10)), _data(10, 3))


def test_use_gpu_without_cuda_runs_on_cpu_and_says_so():
    if torch.cuda.is_available():
        explanation = DeepExplainer(_mlp(3, 2), _data(10, 3), use_gpu=True).explain_local(_data(4, 3, seed=1))
        cpu = DeepExplainer(_mlp(3, 2), _data(10, 3)).explain_local(_data(4, 3, seed=1))
        assert explanation.meta["device"].startswith("cuda")
        np.testing.assert_allclose(explanation.local_values, cpu.local_values, atol=1e-8)
        return
    explanation = DeepExplainer(_mlp(3, 2), _data(10, 3), use_gpu=True).explain_local(_data(4, 3, seed=1))
    assert explanation.meta["device"] == "cpu"
    assert any("no CUDA device" in note for note in explanation.meta["notes"])


# ---------------------------------------------------------------------- reconstruction and serialisation
@pytest.mark.parametrize("method", METHODS)
def test_explainer_rebuilds_from_state_dict_background_and_config(method, tmp_path):
    net = _mlp(5, 3, final=torch.nn.Softmax(dim=1))
    background = summarize(as_dataset(_data(60, 5)), 8)
    options = {"n_samples": 12} if method != "deeplift_shap" else {}
    explainer = DeepExplainer(net, background, method=method, classes=["x", "y", "z"], **options)
    rows = _data(4, 5, seed=1)
    original = explainer.explain_local(rows)

    state = explainer.to_state()
    torch.save(net.state_dict(), tmp_path / "weights.pt")
    np.savez(tmp_path / "background.npz", values=state["background"], weights=state["background_weights"])
    (tmp_path / "config.json").write_text(json.dumps(state["config"]))

    architecture = _mlp(5, 3, final=torch.nn.Softmax(dim=1), seed=99).train()
    with np.load(tmp_path / "background.npz") as arrays:
        loaded = {"config": json.loads((tmp_path / "config.json").read_text()),
                  "background": arrays["values"], "background_weights": arrays["weights"]}
    rebuilt = DeepExplainer.from_state(
        architecture, loaded, state_dict=torch.load(tmp_path / "weights.pt", weights_only=True))
    again = rebuilt.explain_local(rows)
    np.testing.assert_allclose(again.local_values, original.local_values, atol=1e-12)
    np.testing.assert_allclose(again.expected_values_array, original.expected_values_array, atol=1e-12)
    assert again.classes == ["x", "y", "z"] and again.meta["output_space"] == original.meta["output_space"]
    with pytest.raises(ArgumentError, match="state_version"):
        DeepExplainer.from_state(architecture, {"config": {"state_version": 99}, "background": background.values})


def test_explanation_round_trips_through_json():
    explanation = DeepExplainer(_mlp(4, 2), _data(10, 4), method="gradient_shap",
                                n_samples=8).explain_local(_data(3, 4, seed=1))
    restored = Explanation.from_json(explanation.to_json())
    assert restored.equals(explanation)
    assert restored.meta["method"] == "gradient_shap"
    assert restored.meta["parameters"]["n_samples"] == 8


def test_explain_global_averages_absolute_values_over_the_background():
    net = _mlp(4, 2)
    background = _data(12, 4)
    explainer = DeepExplainer(net, background)
    overall = explainer.explain_global()
    local = explainer.explain_local(background)
    np.testing.assert_allclose(overall.global_values, np.abs(local.local_values).mean(axis=0), atol=1e-12)
    assert overall.global_values.shape == (4, 2)


# ---------------------------------------------------------------------- Keras (tensorflow extra)
@pytest.fixture(scope="module")
def keras():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised by another test
        pass
    import keras

    keras.utils.set_random_seed(0)
    return keras


def _keras_mlp_and_torch_twin(keras):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(12, activation="relu"),
                              keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3, activation="softmax")])
    twin = torch.nn.Sequential(torch.nn.Linear(5, 12), torch.nn.ReLU(), torch.nn.Linear(12, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1)).double().eval()
    with torch.no_grad():
        for torch_index, keras_index in [(0, 0), (2, 1), (4, 2)]:
            kernel, bias = model.layers[keras_index].get_weights()
            twin[torch_index].weight.copy_(torch.tensor(kernel.T))
            twin[torch_index].bias.copy_(torch.tensor(bias))
    return model, twin


def test_keras_deeplift_shap_matches_the_torch_twin_and_is_additive(keras):
    model, twin = _keras_mlp_and_torch_twin(keras)
    background, rows = _data(20, 5, seed=1), _data(6, 5, seed=2)
    assert DeepExplainer.supports(model)
    explanation = DeepExplainer(model, background).explain_local(rows)
    assert explanation.meta["framework"] == "keras"
    assert explanation.meta["output_space"] == "probability"
    reference = DeepExplainer(twin, background).explain_local(rows)
    np.testing.assert_allclose(explanation.local_values, reference.local_values, atol=1e-5)
    assert _residual(explanation) < 1e-5
    logits = DeepExplainer(model, background, output="logit").explain_local(rows)
    twin_logits = DeepExplainer(twin, background, output="logit").explain_local(rows)
    np.testing.assert_allclose(logits.local_values, twin_logits.local_values, atol=1e-5)


@pytest.mark.parametrize("method", ["gradient_shap", "integrated_gradients"])
def test_keras_gradient_methods_match_the_torch_twin(keras, method):
    model, twin = _keras_mlp_and_torch_twin(keras)
    background, rows = _data(10, 5, seed=1), _data(4, 5, seed=2)
    explanation = DeepExplainer(model, background, method=method, n_samples=16).explain_local(rows)
    reference = DeepExplainer(twin, background, method=method, n_samples=16).explain_local(rows)
    np.testing.assert_allclose(explanation.local_values, reference.local_values, atol=1e-5)


def test_keras_functional_model_takes_gradient_methods_only(keras):
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(1)(keras.layers.Dense(6, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    background = _data(10, 4)
    with pytest.raises(ArgumentError, match="keras.Sequential"):
        DeepExplainer(model, background)
    explanation = DeepExplainer(model, background, method="integrated_gradients").explain_local(_data(3, 4, seed=1))
    assert explanation.task == "regression" and explanation.local_values.shape == (3, 4, 1)
    assert explanation.meta["convergence_delta"] == pytest.approx(_residual(explanation), abs=1e-9)
    with pytest.raises(DataShapeError, match="4 features"):
        DeepExplainer(model, _data(10, 5), method="gradient_shap")


def test_tabular_explainer_picks_deep_explainer_for_a_torch_module():
    from pellucid.explainers.tabular import TabularExplainer

    net = _mlp(4, 3)
    background, rows = _data(12, 4), _data(3, 4, seed=1)
    tabular = TabularExplainer(net, background, classes=["a", "b", "c"], use_gpu=False)
    assert tabular.explainer_name == "DeepExplainer"
    assert tabular.classes == ["a", "b", "c"]
    explanation = tabular.explain_local(rows)
    direct = DeepExplainer(net, background, classes=["a", "b", "c"]).explain_local(rows)
    np.testing.assert_allclose(explanation.local_values, direct.local_values, atol=1e-12)
    assert any("chose DeepExplainer" in note for note in explanation.meta["notes"])
