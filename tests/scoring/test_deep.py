"""DeepScoringExplainer: values of DeepExplainer, additivity against the network, saving networks without pickle."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris

from pellucid.errors import ArgumentError, UnsafeArtifactError
from pellucid.scoring import ScoringExplainer, create_scoring_explainer
from pellucid.scoring.deep import DeepScoringExplainer, build_sequential

torch = pytest.importorskip("torch")
from pellucid.explainers import deep  # noqa: E402

torch.set_num_threads(1)


class TwoLayerNet(torch.nn.Module):
    """An architecture of the user's own: only its weights can be stored without pickle."""

    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(10, 6)
        self.activation = torch.nn.Tanh()
        self.out = torch.nn.Linear(6, 1)

    def forward(self, x):
        return self.out(self.activation(self.hidden(x)))


@pytest.fixture(scope="module")
def iris_net():
    X, _ = load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1)
    ).double().eval()
    return net, X


def test_values_match_the_explainer_and_add_up_to_the_network(iris_net):
    net, X = iris_net
    explainer = deep.DeepExplainer(net, X[::10], classes=["a", "b", "c"])
    scoring = create_scoring_explainer(explainer)
    assert isinstance(scoring, DeepScoringExplainer) and scoring.output_space == "probability"
    rows = X[1::7]
    values = np.moveaxis(np.asarray(scoring.explain(rows)), 0, 2)
    assert np.allclose(values, explainer.explain_local(rows).local_values, atol=1e-12)
    with torch.no_grad():
        probabilities = net(torch.tensor(rows)).numpy()
    assert np.allclose(values.sum(axis=1) + scoring.expected_values, probabilities, atol=1e-8)
    assert scoring.predict(rows).tolist() == np.asarray(["a", "b", "c"])[probabilities.argmax(axis=1)].tolist()


def test_sequential_round_trip_without_pickle(tmp_path, iris_net):
    net, X = iris_net
    scoring = deep.DeepExplainer(net, X[::10]).create_scoring_explainer()
    folder = scoring.save(tmp_path / "deep")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"arrays.npz"} and manifest["pickle"] is False
    assert [layer["type"] for layer in manifest["state"]["model"]["architecture"]] == [
        "Linear", "ReLU", "Linear", "Softmax"]
    loaded = ScoringExplainer.load(folder)
    assert np.array_equal(np.asarray(loaded.explain(X[:20])), np.asarray(scoring.explain(X[:20])))
    assert np.array_equal(loaded.expected_values, scoring.expected_values)


def test_own_architecture_needs_an_instance_or_allow_pickle(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    torch.manual_seed(1)
    net = TwoLayerNet().double().eval()
    scoring = deep.DeepExplainer(net, X[:20]).create_scoring_explainer()
    assert scoring.task == "regression"
    folder = scoring.save(tmp_path / "weights_only")
    with pytest.raises(ArgumentError, match="TwoLayerNet"):
        ScoringExplainer.load(folder)
    loaded = ScoringExplainer.load(folder, model=TwoLayerNet().double())
    assert np.array_equal(np.asarray(loaded.explain(X[50:60])), np.asarray(scoring.explain(X[50:60])))
    with torch.no_grad():
        output = net(torch.tensor(X[50:60])).numpy()[:, 0]
    assert np.allclose(np.asarray(loaded.explain(X[50:60])).sum(axis=1) + loaded.expected_values[0], output, atol=1e-9)
    pickled = scoring.save(tmp_path / "pickled", allow_pickle=True)
    with pytest.raises(UnsafeArtifactError, match="is a pickle"):
        ScoringExplainer.load(pickled)
    assert np.array_equal(np.asarray(ScoringExplainer.load(pickled, allow_pickle=True).explain(X[:3])),
                          np.asarray(scoring.explain(X[:3])))


def test_architecture_lists_name_only_allowed_layers():
    with pytest.raises(UnsafeArtifactError, match="does not build: 'Module'"):
        build_sequential([{"type": "Module", "args": {}}])
    with pytest.raises(UnsafeArtifactError, match="unexpected arguments"):
        build_sequential([{"type": "Linear", "args": {"in_features": 2, "out_features": 1, "device": "cuda"}}])
    assert isinstance(build_sequential([{"type": "Linear", "args": {"in_features": 2, "out_features": 1}}]),
                      torch.nn.Sequential)
