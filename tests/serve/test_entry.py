"""The score.py-style entry: init() from a path or the environment, run() JSON in and JSON out."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from pellucid.errors import ArgumentError, UnsafeArtifactError
from pellucid.explainers.linear import LinearExplainer
from pellucid.serve import entry

pytest.importorskip("pydantic")


@pytest.fixture(scope="module")
def ridge(tmp_path_factory):
    X, y = load_diabetes(return_X_y=True)
    model = Ridge().fit(X, y)
    root = tmp_path_factory.mktemp("azureml_model_dir")
    LinearExplainer(model, X).create_scoring_explainer().save(root / "registered" / "1" / "scoring")
    return model, X, root / "registered" / "1" / "scoring", root


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for variable in ("PELLUCID_SCORING_EXPLAINER", "AZUREML_MODEL_DIR", "PELLUCID_MODEL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(entry, "_service", None)


def test_run_before_init_answers_an_error():
    assert json.loads(entry.run('{"data": [[1]]}'))["error"]["type"] == "not_initialised"


def test_init_from_path_and_run(ridge):
    model, X, folder, _ = ridge
    entry.init(folder)
    answer = json.loads(entry.run(json.dumps({"data": X[:5].tolist(), "top_k": 3})))
    values = np.asarray(answer["local_importance_values"])
    assert np.allclose(values.sum(axis=1) + answer["expected_values"][0], model.predict(X[:5]), atol=1e-9)
    assert np.allclose(answer["predictions"], model.predict(X[:5]), atol=1e-9)
    assert np.asarray(answer["top_k"]["names"]).shape == (5, 3)


def test_init_from_environment(ridge, monkeypatch):
    _, X, folder, root = ridge
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(root))  # found by searching for the manifest
    entry.init()
    assert len(json.loads(entry.run(json.dumps({"data": X[:2].tolist()})))["predictions"]) == 2
    monkeypatch.setenv("PELLUCID_SCORING_EXPLAINER", str(folder))  # takes precedence
    entry.init()
    assert entry._service.scoring_explainer.kind == "linear"


def test_init_errors(ridge, tmp_path, monkeypatch):
    with pytest.raises(ArgumentError, match="PELLUCID_SCORING_EXPLAINER or AZUREML_MODEL_DIR"):
        entry.init()
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(tmp_path))
    with pytest.raises(ArgumentError, match="found 0"):
        entry.init()
    (tmp_path / "manifest.json").write_text("{}")
    with pytest.raises(UnsafeArtifactError, match="expected format"):
        entry.init()


def test_run_errors_are_json_with_a_status(ridge):
    _, X, folder, _ = ridge
    entry.init(folder)
    cases = {
        '{"data": [[1, 2': (400, "malformed_json"),
        '{"data": []}': (422, "invalid_request"),
        '{"data": [[1, 2]]}': (422, "wrong_shape"),
        json.dumps({"data": [[1.0] * 10] * 1001}): (413, "too_many_rows"),
        json.dumps({"data": [[None] * 10]}): (422, "invalid_value"),
    }
    for body, (status, kind) in cases.items():
        error = json.loads(entry.run(body))["error"]
        assert (error["status"], error["type"]) == (status, kind), error
    assert "predictions" in json.loads(entry.run(json.dumps({"data": X[:1].tolist()})))
