"""Every store call is bounded: a dead, hanging or killed MLflow server answers with a typed error within the
call's budget (before, MLflow's default retries waited ~250 s), and a half-written upload is cleaned up.

The ``timeout`` marks guard against the old behaviour (minutes of retries); they are not performance assertions.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from pellucid.errors import ArgumentError, ServiceError, ServiceTimeoutError, StoreError
from pellucid.store import ExplanationClient
from pellucid.store.backend import DEFAULT_TIMEOUT, TIMEOUT_VARIABLE, Deadline, bounded_call, resolve_timeout
from tests.store.conftest import _stop, start_mlflow_server
from tests.store.helpers import Store, classification_explanation, free_port

mlflow = pytest.importorskip("mlflow")

BUDGET = 3.0


def test_resolve_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMEOUT_VARIABLE, raising=False)
    assert resolve_timeout(None) == DEFAULT_TIMEOUT <= 15
    assert resolve_timeout(2) == 2.0
    monkeypatch.setenv(TIMEOUT_VARIABLE, "7.5")
    assert resolve_timeout(None) == 7.5
    for bad in (0, -1, float("nan"), float("inf"), True, "5"):
        with pytest.raises(ArgumentError, match="positive, finite number of seconds"):
            resolve_timeout(bad)
    monkeypatch.setenv(TIMEOUT_VARIABLE, "soon")
    with pytest.raises(ArgumentError, match="found 'soon'"):
        resolve_timeout(None)


@pytest.mark.timeout(30)
def test_bounded_call_gives_up_at_the_deadline_and_passes_errors_on() -> None:
    release = threading.Event()
    with pytest.raises(ServiceTimeoutError, match="within 0.5 s"):
        bounded_call(release.wait, Deadline(0.5), "waiting", "http://example")
    release.set()
    assert bounded_call(lambda: 42, Deadline(5), "answering", "http://example") == 42
    with pytest.raises(KeyError):
        bounded_call(lambda: {}["missing"], Deadline(5), "failing", "http://example")
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ  # the settings were scoped to the calls


def _client_for(uri: str, timeout: float = BUDGET) -> ExplanationClient:
    """A client bound to ``uri`` without contacting it (as if the server died after the client was made)."""
    return ExplanationClient(mlflow.MlflowClient(tracking_uri=uri), "0" * 32, uri, timeout=timeout)


def _every_call(client: ExplanationClient) -> dict:
    return {
        "list": client.list_model_explanations,
        "download": client.download_model_explanation,
        "upload": lambda: client.upload_model_explanation(classification_explanation(0)),
        "run": lambda: client.run,
    }


@pytest.mark.timeout(90)
def test_dead_port_answers_within_the_budget() -> None:
    client = _client_for(f"http://127.0.0.1:{free_port()}")
    for call in _every_call(client).values():
        with pytest.raises(ServiceError, match="could not be reached|did not"):
            call()


@pytest.fixture()
def silent_server():
    """A TCP server that accepts connections and never answers (a hung tracking server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.mark.timeout(90)
def test_hanging_server_times_out(silent_server: str) -> None:
    client = _client_for(silent_server, timeout=1.5)
    for call in _every_call(client).values():
        with pytest.raises(ServiceTimeoutError, match="within 1.5 s"):
            call()
    with pytest.raises(ServiceTimeoutError):
        ExplanationClient.from_run_id("a" * 32, tracking_uri=silent_server, timeout=1.5)
    with pytest.raises(ServiceTimeoutError):
        ExplanationClient.create_run("e", tracking_uri=silent_server, timeout=1.5)


def _stored_ids(root: Path) -> set[str]:
    return {path.name for path in root.glob("art/**/pellucid/explanations/*")}


@pytest.mark.timeout(300)
def test_server_killed_mid_upload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    """The server dies after the files went up and before the tags commit the upload: the call fails within
    its budget, and once the server is back the half-written upload is not listed."""
    monkeypatch.chdir(tmp_path)
    port = free_port()
    process, uri = start_mlflow_server(tmp_path, port)
    try:
        client = ExplanationClient.create_run("killed", tracking_uri=uri, timeout=BUDGET)
        first = client.upload_model_explanation(classification_explanation(1), comment="before")
        real_log_artifacts = client._client.log_artifacts

        def log_then_die(*args, **kwargs):
            real_log_artifacts(*args, **kwargs)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)

        monkeypatch.setattr(client._client, "log_artifacts", log_then_die)
        with caplog.at_level(logging.WARNING, logger="pellucid.store"):
            with pytest.raises(ServiceError):
                client.upload_model_explanation(classification_explanation(2), comment="during")
        assert any("could not remove the partial upload" in r.getMessage() for r in caplog.records)
        half_written = _stored_ids(tmp_path) - {first}
        assert len(half_written) == 1  # its files reached the store before the server died
        with pytest.raises(ServiceError):
            client.list_model_explanations()
    finally:
        _stop(process)
    process, uri = start_mlflow_server(tmp_path, port)
    try:
        again = ExplanationClient.from_run_id(client.run_id, tracking_uri=uri, timeout=30)
        assert [record["comment"] for record in again.list_model_explanations()] == ["before"]
        assert again.download_model_explanation().equals(classification_explanation(1))
    finally:
        _stop(process)


@pytest.mark.timeout(300)
def test_failed_commit_removes_the_uploaded_files(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    client = ExplanationClient.create_run("partial", tracking_uri=store.uri)
    kept = client.upload_model_explanation(classification_explanation(3))

    def refuse(*args, **kwargs):
        raise mlflow.exceptions.MlflowException("the tags were refused", error_code="INVALID_PARAMETER_VALUE")

    monkeypatch.setattr(client._client, "log_batch", refuse)
    with pytest.raises(StoreError, match="the tags were refused"):
        client.upload_model_explanation(classification_explanation(4))
    listed = client._client.list_artifacts(client.run_id, "pellucid/explanations")
    assert [Path(entry.path).name for entry in listed] == [kept]
    assert [record["id"] for record in client.list_model_explanations()] == [kept]
