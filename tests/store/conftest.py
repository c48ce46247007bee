"""Fixtures of the explanation-history tests: a real MLflow server and MLflow's default local store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.store.helpers import Store, free_port

pytest.importorskip("mlflow")

SERVER_START_TIMEOUT = 60.0


def _stop(process: subprocess.Popen) -> None:
    """Stop the server and its children: they share its process group (the server's PID)."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # a child that outlived the server would still be in the group
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_mlflow_server(root: Path, port: int) -> tuple[subprocess.Popen, str]:
    """Start ``mlflow server`` (SQLite backend in ``root/db``, proxied artifacts in ``root/art``) on ``port`` and
    wait for /health; returns the process (leader of its own process group) and the URI."""
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no GenAI job workers: a lean server
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root}/db",
        "--artifacts-destination", f"{root}/art",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    log_path = root / "server.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env,
                                   start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    return process, uri
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(f"mlflow server not healthy after {SERVER_START_TIMEOUT} s:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.25)


@pytest.fixture(autouse=True)
def _roomy_store_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store calls are bounded (15 s by default); the suite's machine may be busy, so the tests allow more unless
    they set a timeout themselves."""
    monkeypatch.setenv("PELLUCID_STORE_TIMEOUT", "120")


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory):
    """A real ``mlflow server`` on 127.0.0.1 (SQLite backend, proxied local artifacts), stopped at the end."""
    root = tmp_path_factory.mktemp("mlflow_server")
    process, uri = start_mlflow_server(root, free_port())
    try:
        yield Store("server", uri, root / "art")
    finally:
        _stop(process)


@pytest.fixture(autouse=True)
def no_tracking_uri_set_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A URI a test sets with ``mlflow.set_tracking_uri`` does not leak into the next test."""
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    # an experiment another test set (mlflow.set_experiment) is cached by id; in this test's store it may not exist
    monkeypatch.setattr("mlflow.tracking.fluent._active_experiment_id", None)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)


@pytest.fixture(scope="session")
def embedded_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder for MLflow's default local store, shared by the tests (each uses its own runs)."""
    return tmp_path_factory.mktemp("embedded_workdir")


@pytest.fixture
def in_embedded_root(embedded_root: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Run the test in that working folder with no tracking URI configured: MLflow's default store
    (``./mlflow.db``, artifacts in MLflow's default ``./mlruns``)."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(embedded_root)
    return Store("embedded", None, embedded_root / "mlruns")


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    """Each test using it runs against MLflow's default local store and against the real server."""
    if request.param == "embedded":
        return request.getfixturevalue("in_embedded_root")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    return request.getfixturevalue("mlflow_server")
