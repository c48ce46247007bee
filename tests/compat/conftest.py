"""Fixtures of the notebook-flow tests: an MLflow tracking store standing in for an Azure ML workspace."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def mlflow_tracking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite tracking store set with ``mlflow.set_tracking_uri`` (artifacts under ``tmp_path``)."""
    import mlflow

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)  # the default artifact root (./mlruns) lands in tmp_path
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
