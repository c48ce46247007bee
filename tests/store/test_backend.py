"""Tracking-URI resolution and the translation of MLflow's errors (no server needed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pellucid.errors import MissingDependencyError, ServiceError, StoreError, StoreNotFoundError
from pellucid.store.backend import (
    describe_uri,
    mlflow_errors,
    require_database_support,
    resolve_tracking_uri,
    scoped_env,
    sqlite_artifacts,
)

mlflow = pytest.importorskip("mlflow")


def test_resolution_is_mlflows_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one rule: the URI given, else mlflow.get_tracking_uri() (set_tracking_uri, MLFLOW_TRACKING_URI, default)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    default_uri, default_artifacts = resolve_tracking_uri(None)
    assert default_uri == mlflow.get_tracking_uri() and "pellucid_runs" not in default_uri
    assert default_artifacts is None  # MLflow's default store keeps MLflow's default artifact location
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert resolve_tracking_uri(None) == ("http://tracking.example:5000", None)
    assert resolve_tracking_uri("http://other:1") == ("http://other:1", None)  # the argument wins
    named = f"sqlite:///{tmp_path}/named/runs.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", named)
    assert resolve_tracking_uri(None) == (named, tmp_path.resolve() / "named" / "artifacts")
    in_process = f"sqlite:///{tmp_path}/set/runs.db"
    mlflow.set_tracking_uri(in_process)  # set_tracking_uri wins over the environment, as in MLflow
    assert resolve_tracking_uri(None) == (in_process, tmp_path.resolve() / "set" / "artifacts")
    assert resolve_tracking_uri(None)[0] == mlflow.get_tracking_uri()


def test_sqlite_artifacts_sit_beside_the_database(tmp_path: Path) -> None:
    assert sqlite_artifacts(f"sqlite:///{tmp_path}/runs/x.db") == tmp_path.resolve() / "runs" / "artifacts"
    assert sqlite_artifacts("sqlite:///:memory:") is None and sqlite_artifacts("sqlite://") is None
    assert sqlite_artifacts("postgresql://u@h/db") is None and sqlite_artifacts("http://h:1") is None


class _FakeMlflowError(Exception):
    def __init__(self, message: str, error_code: str) -> None:
        super().__init__(message)
        self.error_code = error_code


_FakeMlflowError.__module__ = "mlflow.exceptions"


def test_error_translation() -> None:
    with pytest.raises(StoreNotFoundError, match="reading run 'r': not found .* Run 'r' not found"):
        with mlflow_errors("reading run 'r'", "sqlite:///x.db"):
            raise _FakeMlflowError("Run 'r' not found", "RESOURCE_DOES_NOT_EXIST")
    with pytest.raises(StoreError, match="must be active"):
        with mlflow_errors("uploading", "sqlite:///x.db"):
            raise _FakeMlflowError("The run must be active", "INVALID_PARAMETER_VALUE")
    with pytest.raises(ServiceError, match=r"at http://\*\*\*@host:1; it could not be reached"):
        with mlflow_errors("listing", "http://user:secret@host:1"):
            try:
                raise ConnectionRefusedError("refused")
            except ConnectionRefusedError as exc:
                raise _FakeMlflowError("API request failed", "INTERNAL_ERROR") from exc
    with pytest.raises(KeyError):  # not an MLflow or connection error: left alone
        with mlflow_errors("listing", "sqlite:///x.db"):
            raise KeyError("k")
    assert describe_uri("https://a:b@host/x") == "https://***@host/x"


def test_scoped_env_keeps_user_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PELLUCID_TEST_SET", "mine")
    monkeypatch.delenv("PELLUCID_TEST_UNSET", raising=False)
    with scoped_env({"PELLUCID_TEST_SET": "ours", "PELLUCID_TEST_UNSET": "ours"}):
        assert os.environ["PELLUCID_TEST_SET"] == "mine" and os.environ["PELLUCID_TEST_UNSET"] == "ours"
    assert os.environ["PELLUCID_TEST_SET"] == "mine" and "PELLUCID_TEST_UNSET" not in os.environ


def test_database_store_without_sqlalchemy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(MissingDependencyError, match="mlflow-skinny has no SQL store"):
        require_database_support("sqlite:///x.db")
    require_database_support("http://host:1")  # a server needs no SQL store
