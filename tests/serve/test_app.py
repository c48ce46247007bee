"""The explanation service run for real: `pellucid serve` in a subprocess, called over HTTP with httpx."""

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pellucid.explainers.linear import LinearExplainer
from pellucid.scoring import ScoringExplainer
from tests.serve.conftest import cli_command, subprocess_env

httpx = pytest.importorskip("httpx")

API_KEY = "test-key-0123456789abcdef"
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
MAX_ROWS = 50
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=2000).fit(X, y)
    return model, X


@pytest.fixture(scope="module")
def linear_service(iris, tmp_path_factory, start_server):
    model, X = iris
    scoring = LinearExplainer(model, X, features=NAMES, classes=["setosa", "versicolor", "virginica"]).create_scoring_explainer()
    folder = scoring.save(tmp_path_factory.mktemp("artifact") / "iris")
    server = start_server(
        cli_command(folder, "--api-key-env", "PELLUCID_TEST_API_KEY", "--max-rows", str(MAX_ROWS),
                    "--max-body-bytes", str(MAX_BODY)),
        env={"PELLUCID_TEST_API_KEY": API_KEY},
    )
    client = httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=60)
    yield client, ScoringExplainer.load(folder), model, X
    client.close()


def _post(client, body, **kwargs):
    return client.post("/score", json=body, **kwargs)


def test_scores_match_the_scoring_explainer_and_add_up_to_the_model(linear_service):
    client, scoring, model, X = linear_service
    rows = X[::7]
    response = _post(client, {"data": rows.tolist()})
    assert response.status_code == 200, response.text
    answer = response.json()
    values = np.asarray(answer["local_importance_values"])
    assert values.shape == (3, len(rows), 4)  # [classes][rows][features]
    assert np.allclose(values, np.asarray(scoring.explain(rows)), rtol=0, atol=1e-12)
    # additivity against the model itself (logits in the explained space)
    expected = np.asarray(answer["expected_values"])
    assert np.allclose(values.sum(axis=2).T + expected, model.decision_function(rows), atol=1e-9)
    labels = np.asarray(["setosa", "versicolor", "virginica"])[model.predict(rows)]
    assert answer["predictions"] == labels.tolist()
    assert answer["output_space"] == "logit" and "top_k" not in answer


def test_records_and_top_k(linear_service):
    client, scoring, _, X = linear_service
    records = [dict(zip(reversed(NAMES), reversed(row))) for row in X[:4].tolist()]  # keys in another order
    by_name = _post(client, {"data": records, "top_k": 2}).json()
    by_position = _post(client, {"data": X[:4].tolist()}).json()
    assert by_name["local_importance_values"] == by_position["local_importance_values"]
    explanation = scoring.explain_local(X[:4])
    assert by_name["top_k"]["names"] == explanation.get_ranked_local_names(2)
    assert np.allclose(by_name["top_k"]["values"], explanation.get_ranked_local_values(2), rtol=0, atol=1e-12)


def test_health_metadata_and_docs(linear_service):
    client, _, _, _ = linear_service
    assert httpx.get(str(client.base_url) + "/health").json() == {"status": "ok"}  # no key needed
    metadata = client.get("/metadata").json()
    assert metadata["features"] == NAMES and metadata["classes"] == ["setosa", "versicolor", "virginica"]
    assert metadata["kind"] == "linear" and metadata["max_rows"] == MAX_ROWS
    assert metadata["versions"]["pellucid"] and metadata["versions"]["artifact_format"] == "1"
    schema = client.get("/openapi.json").json()
    assert {"/score", "/health", "/metadata"} <= set(schema["paths"])
    assert "ScoreRequest" in schema["components"]["schemas"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def _raw(client, content, content_type="application/json", headers=None):
    return client.post("/score", content=content, headers={"Content-Type": content_type, **(headers or {})})


def _chunks(total):
    for _ in range(total // 4096):
        yield b" " * 4096


BAD_REQUESTS = {
    "malformed-json": (lambda c: _raw(c, b'{"data": [[1, 2'), 400, "malformed_json"),
    "not-utf8": (lambda c: _raw(c, b'{"data": [[\xff\xfe]]}'), 400, "malformed_json"),
    "deeply-nested": (lambda c: _raw(c, b'{"data": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"), 400, "malformed_json"),
    "body-is-a-list": (lambda c: _post(c, [[1, 2, 3, 4]]), 422, "invalid_request"),
    "no-data-field": (lambda c: _post(c, {"rows": [[1, 2, 3, 4]]}), 422, "invalid_request"),
    "extra-field": (lambda c: _post(c, {"data": [[1, 2, 3, 4]], "explain": "everything"}), 422, "invalid_request"),
    "data-is-a-string": (lambda c: _post(c, {"data": "1,2,3,4"}), 422, "invalid_request"),
    "string-cell": (lambda c: _post(c, {"data": [[1, 2, "3", 4]]}), 422, "invalid_value"),
    "object-cell": (lambda c: _post(c, {"data": [[1, 2, {"v": 3}, 4]]}), 422, "invalid_request"),
    "boolean-cell": (lambda c: _post(c, {"data": [[1, 2, True, 4]]}), 422, "invalid_request"),
    "nan-token": (lambda c: _raw(c, b'{"data": [[1, 2, NaN, 4]]}'), 422, "invalid_request"),
    "overflowing-number": (lambda c: _raw(c, b'{"data": [[1, 2, 1e999, 4]]}'), 422, "invalid_request"),
    "null-where-not-allowed": (lambda c: _post(c, {"data": [[1, 2, None, 4]]}), 422, "invalid_value"),
    "wrong-feature-count": (lambda c: _post(c, {"data": [[1, 2, 3]]}), 422, "wrong_shape"),
    "ragged-rows": (lambda c: _post(c, {"data": [[1, 2, 3, 4], [1, 2, 3, 4, 5]]}), 422, "wrong_shape"),
    "unknown-name": (lambda c: _post(c, {"data": [dict(zip(NAMES[:3] + ["colour"], [1, 2, 3, 4]))]}), 422,
                     "wrong_shape"),
    "missing-name": (lambda c: _post(c, {"data": [dict(zip(NAMES[:3], [1, 2, 3]))]}), 422, "wrong_shape"),
    "mixed-rows": (lambda c: _post(c, {"data": [[1, 2, 3, 4], dict(zip(NAMES, [1, 2, 3, 4]))]}), 422, "wrong_shape"),
    "empty-batch": (lambda c: _post(c, {"data": []}), 422, "invalid_request"),
    "bad-top-k": (lambda c: _post(c, {"data": [[1, 2, 3, 4]], "top_k": 0}), 422, "invalid_request"),
    "too-many-rows": (lambda c: _post(c, {"data": [[1.0, 2.0, 3.0, 4.0]] * (MAX_ROWS + 1)}), 413, "too_many_rows"),
    "huge-body": (lambda c: _post(c, {"data": [[1.5, 2.5, 3.5, 4.5]] * 20_000}), 413, "body_too_large"),
    "huge-chunked-body": (lambda c: _raw(c, _chunks(4 * MAX_BODY)), 413, "body_too_large"),
    "text-plain": (lambda c: _raw(c, b'{"data": [[1, 2, 3, 4]]}', "text/plain"), 415, "unsupported_media_type"),
    "missing-api-key": (lambda c: httpx.post(str(c.base_url) + "/score", json={"data": [[1, 2, 3, 4]]}), 401,
                        "missing_api_key"),
    "wrong-api-key": (lambda c: _post(c, {"data": [[1, 2, 3, 4]]}, headers={"X-API-Key": "guess"}), 401, "wrong_api_key"),
    "metadata-without-key": (lambda c: httpx.get(str(c.base_url) + "/metadata"), 401, "missing_api_key"),
    "wrong-method": (lambda c: c.get("/score"), 405, "method_not_allowed"),
    "unknown-path": (lambda c: c.post("/predict", json={"data": [[1, 2, 3, 4]]}), 404, "not_found"),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_requests_get_clear_errors_and_the_service_keeps_serving(linear_service, case):
    client, _, _, X = linear_service
    send, status, kind = BAD_REQUESTS[case]
    response = send(client)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == kind and len(error["message"]) > 10
    good = _post(client, {"data": X[:2].tolist()})
    assert good.status_code == 200 and len(good.json()["predictions"]) == 2


def test_error_messages_say_what_was_expected(linear_service):
    client, _, _, _ = linear_service
    message = _post(client, {"data": [[1, 2, 3]]}).json()["error"]["message"]
    assert "4 values" in message and "holds 3" in message
    message = _post(client, {"data": [[1, 2, "x", 4]]}).json()["error"]["message"]
    assert "numbers" in message and "'x' in row 0, feature 'petal_length'" in message
    message = _post(client, {"data": [[1, 2, [3], 4]]}).json()["error"]["message"]
    assert "data[0][2]" in message
    message = _post(client, {"data": [dict(zip(NAMES[:3] + ["colour"], [1, 2, 3, 4]))]}).json()["error"]["message"]
    assert "'colour'" in message and "'petal_width'" in message


def test_concurrent_clients(linear_service):
    client, scoring, _, X = linear_service

    def call(start):
        with httpx.Client(base_url=client.base_url, headers=client.headers, timeout=60) as own:
            return own.post("/score", json={"data": X[start : start + 5].tolist()})

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(call, range(0, 40, 5)))
    assert all(r.status_code == 200 for r in responses)
    values = np.concatenate([np.asarray(r.json()["local_importance_values"]) for r in responses], axis=1)
    assert np.allclose(values, np.asarray(scoring.explain(X[:40])), rtol=0, atol=1e-12)


def test_serve_refuses_a_tampered_artifact_and_exits(tmp_path, iris):
    model, X = iris
    folder = LinearExplainer(model, X).create_scoring_explainer().save(tmp_path / "s")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["classes"] = [2, 1, 0]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    command = [part.replace("{port}", "8000") for part in cli_command(folder)]
    done = subprocess.run(command, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "UnsafeArtifactError" in done.stderr and "edited after saving" in done.stderr
