"""Which cluster runs the explanation: the embedded LocalCluster, a scheduler address, a dead address, a worker
that dies mid-run."""

from __future__ import annotations

import os
import socket
import time

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from pellucid.distributed import SCHEDULER_ENV, dask_client
from pellucid.distributed.cluster import default_n_workers
from pellucid.errors import ArgumentError, ServiceError
from pellucid.explainers.lime import LIMEExplainer

psutil = pytest.importorskip("psutil")


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    X = (X[:, :6] - X[:, :6].mean(axis=0)) / X[:, :6].std(axis=0)
    return X, y


class _RecordsWorkers(LogisticRegression):
    """Writes the id of every process that calls predict_proba into a directory."""

    def fit(self, X, y, record_dir=None):
        self.record_dir_ = record_dir
        return super().fit(X, y)

    def predict_proba(self, X):
        with open(os.path.join(self.record_dir_, str(os.getpid())), "w"):
            pass
        return super().predict_proba(X)


class _DiesOnce(LogisticRegression):
    """The first worker process to call predict_proba exits on the spot (like a crash or an OOM kill)."""

    def fit(self, X, y, marker=None):
        self.marker_ = marker
        self.client_pid_ = os.getpid()
        return super().fit(X, y)

    def predict_proba(self, X):
        if os.getpid() != self.client_pid_:
            try:
                handle = os.open(self.marker_, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:  # only the process that created the marker dies, once
                os.write(handle, str(os.getpid()).encode())
                os.close(handle)
                os._exit(1)
        return super().predict_proba(X)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_scheduler_is_a_quick_service_error(data, monkeypatch):
    X, y = data
    explainer = LIMEExplainer(LogisticRegression().fit(X, y), X, num_samples=50)
    address = f"tcp://127.0.0.1:{_closed_port()}"
    started = time.perf_counter()
    with pytest.raises(ServiceError, match="expected a Dask scheduler answering at") as caught:
        explainer.explain_local(X[:5], backend="dask", client=address, connect_timeout=2)
    assert time.perf_counter() - started < 10
    assert address in str(caught.value)
    monkeypatch.setenv(SCHEDULER_ENV, address)
    started = time.perf_counter()
    with pytest.raises(ServiceError, match=SCHEDULER_ENV):
        explainer.explain_local(X[:5], backend="dask")  # default connect timeout
    assert time.perf_counter() - started < 10


def test_scheduler_address_from_environment(cluster, data, monkeypatch):
    X, y = data
    explainer = LIMEExplainer(LogisticRegression().fit(X, y), X, num_samples=50)
    monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
    explanation = explainer.explain_local(X[:20], backend="dask")
    assert np.array_equal(explanation.local_values, explainer.explain_local(X[:20]).local_values)
    facts = explanation.meta["distributed"]
    assert cluster.scheduler_address in facts["cluster"] and SCHEDULER_ENV in facts["cluster"]
    assert facts["workers"] == 2


def test_embedded_cluster_starts_and_closes_its_processes(data, tmp_path, monkeypatch):
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    X, y = data
    model = _RecordsWorkers().fit(X, y, record_dir=str(tmp_path))
    explainer = LIMEExplainer(model, X, num_samples=50)
    single = explainer.explain_local(X[:30])
    for path in tmp_path.iterdir():
        path.unlink()
    me = psutil.Process()
    children_before = {child.pid for child in me.children(recursive=True)}
    explanation = explainer.explain_local(X[:30], backend="dask")
    assert np.array_equal(explanation.local_values, single.local_values)
    facts = explanation.meta["distributed"]
    assert facts["cluster"].startswith("embedded LocalCluster") and facts["workers"] == default_n_workers()
    worker_pids = {int(path.name) for path in tmp_path.iterdir()}
    assert worker_pids and os.getpid() not in worker_pids  # the rows were explained in other processes
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and {c.pid for c in me.children(recursive=True)} - children_before:
        time.sleep(0.1)
    assert {child.pid for child in me.children(recursive=True)} - children_before == set()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
                   for pid in worker_pids)


def test_worker_killed_mid_run_gives_the_complete_result(client, data, tmp_path):
    X, y = data
    marker = tmp_path / "died"
    explainer = LIMEExplainer(_DiesOnce().fit(X, y, marker=str(marker)), X, num_samples=200, seed=5)
    single = explainer.explain_local(X)
    assert not marker.exists()
    explanation = explainer.explain_local(X, backend="dask", client=client, partition_rows=40)
    dead_pid = int(marker.read_text())  # a worker did die during the run
    assert dead_pid != os.getpid()
    assert explanation.n_rows == len(X)
    assert np.array_equal(explanation.local_values, single.local_values)
    assert explanation.meta["intercepts"] == single.meta["intercepts"]


def test_client_options_are_checked():
    with pytest.raises(ArgumentError, match="n_workers"):
        with dask_client(n_workers=0):
            pass
    with pytest.raises(ArgumentError, match="embedded cluster only"):
        with dask_client("tcp://127.0.0.1:1", n_workers=2):
            pass


def test_only_worker_killed_mid_run_recovers_the_explainer_too(data, tmp_path, monkeypatch):
    """With one worker, the explainer dies with it: it is a task result, so the scheduler recomputes it."""
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    X, y = data
    marker = tmp_path / "died"
    explainer = LIMEExplainer(_DiesOnce().fit(X, y, marker=str(marker)), X, num_samples=100, seed=2)
    single = explainer.explain_local(X[:120])
    explanation = explainer.explain_local(X[:120], backend="dask", n_workers=1, partition_rows=30)
    assert marker.exists()
    assert explanation.meta["distributed"]["workers"] == 1
    assert np.array_equal(explanation.local_values, single.local_values)
