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


def test_service_with_transformations_takes_raw_records(tmp_path_factory, start_server):
    skops_io = pytest.importorskip("skops.io")
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from pellucid.explainers.tabular import TabularExplainer
    from pellucid.scoring import create_scoring_explainer

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"income": rng.normal(50, 15, 300), "region": rng.choice(["north", "south"], 300)})
    target = ((frame["income"] > 50) ^ (frame["region"] == "south")).astype(int)
    pipeline = Pipeline([
        ("prep", ColumnTransformer([("num", StandardScaler(), ["income"]), ("cat", OneHotEncoder(), ["region"])])),
        ("model", LogisticRegression()),
    ]).fit(frame, target)
    scoring = create_scoring_explainer(TabularExplainer(pipeline, frame))
    folder = tmp_path_factory.mktemp("pipeline")
    scoring.save(folder / "scoring")
    skops_io.dump(pipeline, folder / "pipeline.skops")
    server = start_server([sys.executable, "-m", "pellucid.serve.cli", "--scoring-explainer", str(folder / "scoring"),
                           "--model", str(folder / "pipeline.skops"), "--port", "{port}", "--log-level", "warning"])
    records = [{"region": "south", "income": 61.5}, {"income": 40.0, "region": "north"}]
    answer = httpx.post(server.url + "/score", json={"data": records}, timeout=60).json()
    rows = pd.DataFrame(records)[["income", "region"]]
    assert answer["features"] == ["income", "region"]  # raw columns by default for a split pipeline
    values = np.asarray(answer["local_importance_values"])
    assert np.allclose(values, np.asarray(scoring.explain(rows)), rtol=0, atol=1e-12)
    margin = pipeline.decision_function(rows)
    assert np.allclose(values[1].sum(axis=1) + answer["expected_values"][1], margin, atol=1e-9)
    assert answer["predictions"] == pipeline.predict(rows).tolist()
    engineered = httpx.post(server.url + "/score", json={"data": records, "get_raw": False}, timeout=60).json()
    assert len(engineered["features"]) == 3 and np.allclose(
        np.asarray(engineered["local_importance_values"]).sum(axis=2), values.sum(axis=2), atol=1e-12)
    metadata = httpx.get(server.url + "/metadata", timeout=30).json()
    assert metadata["input_features"] == ["income", "region"] and metadata["default_raw"] is True
    for body, kind in (({"data": [["rich", "north"]]}, "invalid_value"),
                       ({"data": [[50.0, "west"]]}, "transformation_failed"),
                       ({"data": [{"income": 50.0}]}, "wrong_shape")):
        response = httpx.post(server.url + "/score", json=body, timeout=60)
        assert response.status_code == 422 and response.json()["error"]["type"] == kind, response.text
