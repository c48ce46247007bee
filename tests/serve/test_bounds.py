"""The service bounds what a client can make it do: a stalled body is cut off (408, connection closed) while the
service keeps serving, and huge finite cells that overflow to inf answer 422 instead of 500."""

import socket
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

from pellucid.errors import ArgumentError
from pellucid.explainers.linear import LinearExplainer
from pellucid.serve import create_app
from tests.serve.conftest import cli_command

httpx = pytest.importorskip("httpx")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

X = np.random.default_rng(0).normal(size=(40, 3))
RIDGE = Ridge().fit(X, X @ [1.0, 2.0, 3.0])
LOGISTIC = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while True:
        chunk = sock.recv(65536)  # the socket's timeout fails the test if the server never closes
        if not chunk:
            return received
        received += chunk


@pytest.mark.timeout(240)
def test_stalled_body_is_cut_off_and_the_service_keeps_serving(tmp_path, start_server):
    folder = LinearExplainer(RIDGE, X).create_scoring_explainer().save(tmp_path / "s")
    server = start_server(cli_command(folder, "--read-timeout", "1.5"))
    stalled = []
    for partial_body in (b"", b'{"data": [[1.0, 2.0'):  # headers only, then headers and part of the body
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        sock.sendall(b"POST /score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n" + partial_body)
        stalled.append(sock)
    half_headers = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    half_headers.sendall(b"POST /score HTTP/1.1\r\nHost: test\r\nContent-Ty")
    assert _read_until_closed(half_headers) == b""  # closed without an answer: there is no request to answer
    half_headers.close()
    for sock in stalled:
        answer = _read_until_closed(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"request_timeout"' in answer and b"within 1.5 s" in answer
    good = httpx.post(server.url + "/score", json={"data": X[:2].tolist()}, timeout=60)
    assert good.status_code == 200
    assert np.allclose(good.json()["predictions"], RIDGE.predict(X[:2]), atol=1e-9)


def test_read_timeout_is_validated():
    scoring = LinearExplainer(RIDGE, X).create_scoring_explainer()
    for bad in (0, -1.0, float("inf"), float("nan"), True):
        with pytest.raises(ArgumentError, match="read_timeout"):
            create_app(scoring, read_timeout=bad)


@pytest.mark.parametrize("model", [RIDGE, LOGISTIC], ids=["regression", "classification"])
@pytest.mark.parametrize("row", [[1e308, 1e308, 1e308], [-1e308, 1e308, 0.0], [1e308, 0.0, 0.0]],
                         ids=["all-huge", "opposite", "one-huge"])
def test_overflowing_cells_answer_422(model, row):
    scoring = LinearExplainer(model, X).create_scoring_explainer()
    with np.errstate(all="ignore"):
        local = np.asarray(scoring.explain_local(np.array([row])).local_values)
        overflows = not np.isfinite(local).all() or not np.isfinite(scoring.explain_local(np.array([row])).model_output).all()
    with TestClient(create_app(scoring), raise_server_exceptions=False) as client:
        answer = client.post("/score", json={"data": [X[0].tolist(), row]})
    if overflows:
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["type"] == "invalid_value" and "rows 1 overflowed" in error["message"]
    else:  # representable: answered with the exact linear values
        assert answer.status_code == 200, answer.text
        assert np.isfinite(np.asarray(answer.json()["local_importance_values"], dtype=float)).all()
