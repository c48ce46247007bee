"""Serve predictions with explanations: a scoring explainer saved to a folder, loaded by the service, called over HTTP.

The service is built in-process with ``pellucid.serve.create_app`` and called with FastAPI's test client (no port
is opened). In production the same folder is served by ``pellucid serve --scoring-explainer FOLDER``.
Run: ``python examples/serve.py [OUTPUT_FOLDER]`` (default: a new temporary folder).
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from pellucid import LinearExplainer, ScoringExplainer, create_scoring_explainer
from pellucid.serve import create_app


def main(out: Path) -> None:
    # train and explain at training time; keep a small, safe scoring explainer for inference
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = Ridge(alpha=0.1).fit(X, y)
    explainer = LinearExplainer(model, X)
    folder = create_scoring_explainer(explainer).save(out / "scoring_explainer")
    print(f"scoring explainer saved to {folder}: {sorted(p.name for p in folder.iterdir())}")

    # the service loads (and verifies) the folder
    app = create_app(folder, api_key="example-key-123")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's test client warns about the installed httpx version
        from fastapi.testclient import TestClient

    rows = X.iloc[:3]
    with TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok"}
        metadata = client.get("/metadata", headers={"X-API-Key": "example-key-123"}).json()
        print(f"service explains {metadata['kind']} ({metadata['method']}), features {metadata['features'][:3]}...")

        records = rows.to_dict(orient="records")  # rows as {feature: value}; lists in column order work too
        answer = client.post("/score", json={"data": records, "top_k": 3},
                             headers={"X-API-Key": "example-key-123"}).json()
        for prediction, names in zip(answer["predictions"], answer["top_k"]["names"]):
            print(f"predicted {prediction:7.2f}; top features {names}")

        # the answer is what the explainer computes in-process: expected value + sum of values = prediction
        values = np.asarray(answer["local_importance_values"])  # [rows][features] for a regressor
        np.testing.assert_allclose(values.sum(axis=1) + answer["expected_values"][0], model.predict(rows))
        np.testing.assert_allclose(values, ScoringExplainer.load(folder).explain(rows))

        refused = client.post("/score", json={"data": records})  # no API key
        assert refused.status_code == 401, refused.status_code
        print(f"without the key: {refused.status_code} {refused.json()['error']['type']}")


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pellucid-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    main(folder)
