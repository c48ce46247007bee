"""The service for the other scoring explainer kinds (tree, kernel), run for real under uvicorn."""

import sys

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")


def _serve(start_server, folder, *options):
    return start_server([sys.executable, "-m", "pellucid.serve.cli", "--scoring-explainer", str(folder),
                         "--port", "{port}", "--log-level", "warning", *options])


def test_tree_service_with_a_lightgbm_text_model(tmp_path_factory, start_server):
    from pellucid.explainers import tree
    lightgbm = pytest.importorskip("lightgbm")
    from sklearn.datasets import make_classification

    from pellucid.scoring import ScoringExplainer

    X, y = make_classification(n_samples=800, n_features=12, n_informative=6, random_state=0)
    model = lightgbm.LGBMClassifier(n_estimators=60, verbose=-1, random_state=0).fit(X, y)
    folder = tmp_path_factory.mktemp("tree")
    scoring = tree.TreeExplainer(model).create_scoring_explainer()
    scoring.save(folder / "scoring")
    model.booster_.save_model(str(folder / "model.txt"))
    server = _serve(start_server, folder / "scoring", "--model", str(folder / "model.txt"))
    rows = X[::40]
    answer = httpx.post(server.url + "/score", json={"data": rows.tolist()}, timeout=60).json()
    values = np.asarray(answer["local_importance_values"])  # [classes][rows][features], log-odds
    assert np.allclose(values, np.asarray(ScoringExplainer.load(folder / "scoring").explain(rows)), rtol=0, atol=1e-12)
    margin = model.predict(rows, raw_score=True)
    assert np.allclose(values[1].sum(axis=1) + answer["expected_values"][1], margin, atol=1e-9)
    assert answer["predictions"] == model.predict(rows).tolist() and answer["output_space"] == "log_odds"
    with_missing = rows[:2].tolist()
    with_missing[0][3] = None  # LightGBM routes missing values: null is accepted
    answer = httpx.post(server.url + "/score", json={"data": with_missing}, timeout=60)
    assert answer.status_code == 200, answer.text
    inf = httpx.post(server.url + "/score", content=b'{"data": [[' + b"1e999," * 11 + b"1]]}",
                     headers={"Content-Type": "application/json"}, timeout=60)
    assert inf.status_code == 422


def test_kernel_service_matches_the_scoring_explainer_and_the_model(tmp_path_factory, start_server):
    from pellucid.explainers import kernel
    pytest.importorskip("skops")
    from sklearn.datasets import load_iris
    from sklearn.neural_network import MLPClassifier

    from pellucid.scoring import ScoringExplainer

    X, y = load_iris(return_X_y=True)
    model = MLPClassifier((8,), max_iter=2000, random_state=0).fit(X, y)
    folder = kernel.KernelExplainer(model, X, nclusters=8).create_scoring_explainer().save(
        tmp_path_factory.mktemp("kernel") / "scoring")
    scoring = ScoringExplainer.load(folder)
    server = start_server([sys.executable, "-m", "pellucid.serve.cli", "--scoring-explainer", str(folder),
                           "--port", "{port}", "--log-level", "warning"])
    rows = X[::15]
    answer = httpx.post(server.url + "/score", json={"data": rows.tolist(), "top_k": 1}, timeout=120).json()
    values = np.asarray(answer["local_importance_values"])  # [classes][rows][features], probability space
    assert np.allclose(values, np.asarray(scoring.explain(rows)), rtol=0, atol=1e-12)
    assert np.allclose(values.sum(axis=2).T + answer["expected_values"], model.predict_proba(rows), atol=1e-8)
    assert answer["predictions"] == model.predict(rows).tolist() and answer["output_space"] == "probability"
    bad = httpx.post(server.url + "/score", json={"data": [[1.0, None, 2.0, 3.0]]}, timeout=60)
    assert bad.status_code == 422 and bad.json()["error"]["type"] == "invalid_value"


def test_deep_service_with_a_sequential_network(tmp_path_factory, start_server):
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_diabetes

    from pellucid.explainers import deep
    from pellucid.scoring import ScoringExplainer

    torch.set_num_threads(1)
    X, _ = load_diabetes(return_X_y=True)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(10, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double().eval()
    folder = deep.DeepExplainer(net, X[:16]).create_scoring_explainer().save(tmp_path_factory.mktemp("deep") / "s")
    server = _serve(start_server, folder)
    rows = X[100:106]
    answer = httpx.post(server.url + "/score", json={"data": rows.tolist()}, timeout=60).json()
    values = np.asarray(answer["local_importance_values"])  # regression: [rows][features]
    assert np.allclose(values, np.asarray(ScoringExplainer.load(folder).explain(rows)), rtol=0, atol=1e-12)
    with torch.no_grad():
        output = net(torch.tensor(rows)).numpy()[:, 0]
    assert np.allclose(values.sum(axis=1) + answer["expected_values"][0], output, atol=1e-9)
    assert np.allclose(answer["predictions"], output, atol=1e-12)
