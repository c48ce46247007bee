"""The service with a model file for the predictions and the other scoring explainer kinds, run for real."""

import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from pellucid.explainers.linear import LinearExplainer

httpx = pytest.importorskip("httpx")


def test_factory_with_a_skops_model_file_for_predictions(tmp_path_factory, start_server):
    skops_io = pytest.importorskip("skops.io")
    X, y = load_diabetes(return_X_y=True)
    model = Ridge(alpha=0.3).fit(X, y)
    folder = tmp_path_factory.mktemp("ridge")
    LinearExplainer(model, X).create_scoring_explainer().save(folder / "scoring")
    skops_io.dump(model, folder / "model.skops")
    server = start_server(
        [sys.executable, "-m", "uvicorn", "--factory", "pellucid.serve.app:create_app_from_env",
         "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
        env={"PELLUCID_SCORING_EXPLAINER": str(folder / "scoring"), "PELLUCID_MODEL": str(folder / "model.skops")},
    )
    answer = httpx.post(server.url + "/score", json={"data": X[:30].tolist()}, timeout=60).json()
    assert np.allclose(answer["predictions"], model.predict(X[:30]), rtol=0, atol=1e-9)
    values = np.asarray(answer["local_importance_values"])  # regression: [rows][features]
    assert values.shape == (30, X.shape[1])
    assert np.allclose(values.sum(axis=1) + answer["expected_values"][0], model.predict(X[:30]), atol=1e-9)
    assert httpx.get(server.url + "/metadata", timeout=30).json()["prediction_source"].startswith("model sklearn.")
