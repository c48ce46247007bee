"""`pellucid serve --workers N`: worker processes built from the environment answer like one process."""

import sys

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from pellucid.explainers.linear import LinearExplainer

httpx = pytest.importorskip("httpx")


def test_several_workers_answer_the_same(tmp_path_factory, start_server):
    X, y = load_diabetes(return_X_y=True)
    model = Ridge().fit(X, y)
    folder = LinearExplainer(model, X).create_scoring_explainer().save(tmp_path_factory.mktemp("workers") / "s")
    server = start_server([sys.executable, "-m", "pellucid.serve.cli", "--scoring-explainer", str(folder),
                           "--port", "{port}", "--workers", "2", "--api-key-env", "PELLUCID_TEST_KEY",
                           "--log-level", "warning"], env={"PELLUCID_TEST_KEY": "workers-key-0123456789"})
    headers = {"X-API-Key": "workers-key-0123456789"}
    answers = [httpx.post(server.url + "/score", json={"data": X[:3].tolist()}, headers=headers, timeout=60).json()
               for _ in range(4)]
    assert all(answer == answers[0] for answer in answers)
    assert np.allclose(answers[0]["predictions"], model.predict(X[:3]), atol=1e-9)
    assert httpx.post(server.url + "/score", json={"data": X[:3].tolist()}, timeout=60).status_code == 401
