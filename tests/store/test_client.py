"""ExplanationClient against the embedded default and a real MLflow server started by the tests."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pellucid.errors import (
    ArgumentError,
    ServiceError,
    StoreError,
    StoreIntegrityError,
    StoreNotFoundError,
    UnsafeArtifactError,
    UnsupportedInputError,
)
from pellucid.explanation import Explanation
from pellucid.store import ExplanationClient
from pellucid.store.backend import PROBE_ENV
from tests.store.helpers import (
    Store,
    artifact_file,
    classification_explanation,
    free_port,
    global_explanation,
    top_k_oracle,
    upload_worker,
)

mlflow = pytest.importorskip("mlflow")


def test_upload_list_download_round_trip(store: Store) -> None:
    client = ExplanationClient.create_run("roundtrip", tracking_uri=store.uri)
    local = classification_explanation(seed=1)
    overall = global_explanation(seed=2)
    local_id = client.upload_model_explanation(local, comment="baseline", model_id="model-7", init_dataset_id="bg-1")
    global_id = client.upload_model_explanation(overall, comment="pfi run")

    records = client.list_model_explanations()
    assert [r["id"] for r in records] == [local_id, global_id]  # oldest first
    first = records[0]
    assert (first["method"], first["explainer"], first["comment"], first["top_k"]) == (
        "kernel_shap", "TabularExplainer", "baseline", None)
    assert (first["num_examples"], first["num_features"], first["num_classes"]) == (6, 5, 3)
    assert (first["model_id"], first["init_dataset_id"], first["source_explanation_id"]) == ("model-7", "bg-1", local.id)
    assert first["task"] == "classification" and first["is_raw"] is False and first["run_id"] == client.run_id
    assert records[1]["explainer"] == "pfi" and records[1]["num_classes"] is None
    assert [r["id"] for r in client.list_model_explanations(comment="pfi run")] == [global_id]
    assert client.list_model_explanations(comment="nothing like this") == []

    downloaded = client.download_model_explanation(local_id)
    assert downloaded.equals(local) and downloaded.id == local_id
    for name in ("local_values", "expected_values_array", "model_output", "standard_errors"):
        assert np.array_equal(getattr(downloaded, name), getattr(local, name))  # bit for bit, not approximately
    assert downloaded.eval_data.tolist() == local.eval_data.tolist()
    newest = client.download_model_explanation()
    assert newest.equals(overall) and newest.id == global_id

    # the tags name the checksum of the stored manifest, and the run is searchable by method
    tags = client.run.data.tags
    manifest = artifact_file(store, local_id, "manifest.json")
    assert tags[f"pellucid.explanation.{local_id}.checksum"] == hashlib.sha256(manifest.read_bytes()).hexdigest()
    found = mlflow.MlflowClient(client.tracking_uri).search_runs(
        [client.run.info.experiment_id], "tags.`pellucid.method.kernel_shap` = 'true'")
    assert client.run_id in [run.info.run_id for run in found]


def test_top_k_upload_and_download(store: Store) -> None:
    client = ExplanationClient.create_run("topk", tracking_uri=store.uri)
    explanation = classification_explanation(seed=3, n_rows=8, n_features=6)
    top_id = client.upload_model_explanation(explanation, top_k=2, comment="top2")
    full_id = client.upload_model_explanation(explanation)
    assert [r["top_k"] for r in client.list_model_explanations()] == [2, None]

    expected_values, expected_kept = top_k_oracle(explanation.local_values, 2)
    kept_mask = expected_values != 0
    from_top = client.download_model_explanation(top_id)
    from_full = client.download_model_explanation(full_id, top_k=2)
    for trimmed in (from_top, from_full):
        assert np.array_equal(trimmed.local_values, expected_values)
        assert trimmed.meta["top_k"] == 2 and trimmed.meta["top_k_indices"] == expected_kept.tolist()
        assert np.array_equal(trimmed.standard_errors, np.where(kept_mask, explanation.standard_errors, 0.0))
        assert np.array_equal(trimmed.expected_values_array, explanation.expected_values_array)
        assert np.array_equal(trimmed.model_output, explanation.model_output)
        assert any("top 2 of 6 features" in note for note in trimmed.meta["notes"])
    assert from_top.equals(from_full)

    # a further top_k on download trims the stored top-k again
    one_values, one_kept = top_k_oracle(explanation.local_values, 1)
    top_one = client.download_model_explanation(top_id, top_k=1)
    assert np.array_equal(top_one.local_values, one_values) and top_one.meta["top_k_indices"] == one_kept.tolist()
    # a full download is untouched by the top-k upload beside it
    assert client.download_model_explanation(full_id).equals(explanation)


def test_concurrent_uploads_from_eight_processes(mlflow_server: Store, in_embedded_root: Store,
                                                 embedded_root: Path) -> None:
    embedded = ExplanationClient.create_run("concurrent")
    server = ExplanationClient.create_run("concurrent", tracking_uri=mlflow_server.uri)
    seeds = list(range(100, 108))
    jobs = [(str(embedded_root), embedded.run_id, mlflow_server.uri, server.run_id, seed) for seed in seeds]
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        ids = pool.map(upload_worker, jobs)

    for column, client in enumerate((embedded, server)):
        uploaded = {pair[column]: seed for pair, seed in zip(ids, seeds)}
        records = client.list_model_explanations()
        assert len(uploaded) == 8 and sorted(r["id"] for r in records) == sorted(uploaded)
        for record in records:
            seed = uploaded[record["id"]]
            assert record["comment"] == f"worker {seed}"
            assert client.download_model_explanation(record["id"]).equals(classification_explanation(seed))


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "manifest"])
def test_damaged_artifact_is_refused(store: Store, damage: str) -> None:
    client = ExplanationClient.create_run("damage", tracking_uri=store.uri)
    explanation_id = client.upload_model_explanation(classification_explanation(seed=4))
    target = artifact_file(store, explanation_id, "manifest.json" if damage == "manifest" else "explanation.json")
    data = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:  # change one digit: the file still parses as JSON
        position = next(i for i in range(len(data) // 2, len(data)) if chr(data[i]).isdigit())
        target.write_bytes(data[:position] + (b"1" if data[position:position + 1] != b"1" else b"2") + data[position + 1:])

    with pytest.raises(StoreIntegrityError, match="fails its checksum") as caught:
        client.download_model_explanation(explanation_id)
    assert explanation_id in str(caught.value) and "not loaded" in str(caught.value)
    assert isinstance(caught.value, StoreError) and isinstance(caught.value, UnsafeArtifactError)


def test_large_arrays_go_to_a_checked_npz(in_embedded_root: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pellucid.explanation.NPZ_THRESHOLD", 10)  # every array above 10 values goes to .npz
    client = ExplanationClient.create_run("npz")
    explanation = classification_explanation(seed=5)
    explanation_id = client.upload_model_explanation(explanation)
    npz = artifact_file(in_embedded_root, explanation_id, "explanation.json.npz")
    assert client.download_model_explanation(explanation_id).equals(explanation)

    npz.write_bytes(npz.read_bytes()[:-100])
    with pytest.raises(StoreIntegrityError, match=r"explanation\.json\.npz fails its checksum"):
        client.download_model_explanation(explanation_id)


def test_unknown_run_and_explanation_ids(store: Store) -> None:
    missing_run = "0" * 32
    with pytest.raises(StoreNotFoundError, match=missing_run):
        ExplanationClient.from_run_id(missing_run, tracking_uri=store.uri)

    client = ExplanationClient.create_run("lookups", tracking_uri=store.uri)
    with pytest.raises(StoreNotFoundError, match="found none"):
        client.download_model_explanation()
    client.upload_model_explanation(global_explanation(seed=6))
    with pytest.raises(StoreNotFoundError, match="no-such-id"):
        client.download_model_explanation("no-such-id")
    with pytest.raises(StoreNotFoundError, match="experiment 'another'"):
        ExplanationClient.from_run_id(client.run_id, tracking_uri=store.uri, experiment_name="another")
    same = ExplanationClient.from_run_id(client.run_id, tracking_uri=store.uri, experiment_name="lookups")
    assert len(same.list_model_explanations()) == 1


@pytest.mark.timeout(60)  # guards against MLflow's default retries (minutes); not a performance assertion
def test_unreachable_server_raises_service_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROBE_ENV:
        monkeypatch.delenv(name, raising=False)
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceError, match=f"expected an MLflow tracking server at {closed}"):
        ExplanationClient.from_run_id("a" * 32, tracking_uri=closed)
    with pytest.raises(ServiceError, match="could not be reached"):
        ExplanationClient.create_run("anything", tracking_uri=closed)
    assert all(name not in os.environ for name in PROBE_ENV)  # the fast-fail settings were scoped to the probe


def test_mlflows_default_store_and_environment(mlflow_server: Store, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    monkeypatch.chdir(laptop)
    client = ExplanationClient.create_run()
    assert client.tracking_uri == mlflow.get_tracking_uri()  # whatever MLflow itself uses
    explanation_id = client.upload_model_explanation(global_explanation(seed=7))
    stored = artifact_file(Store("default", None, laptop), explanation_id, "manifest.json").parent
    assert sorted(p.name for p in stored.iterdir()) == ["explanation.json", "manifest.json"]
    assert not (laptop / "pellucid_runs").exists()
    # MLflow sees the run where it looks by default
    assert mlflow.MlflowClient().get_run(client.run_id).info.run_id == client.run_id

    server_side = tmp_path / "server_side"
    server_side.mkdir()
    monkeypatch.chdir(server_side)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    remote = ExplanationClient.create_run()
    assert remote.tracking_uri == mlflow_server.uri and list(server_side.iterdir()) == []
    assert remote.download_model_explanation(remote.upload_model_explanation(global_explanation(seed=8))).equals(
        global_explanation(seed=8))


def test_from_run_id_finds_a_run_started_with_set_tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the drop-in flow: mlflow.set_tracking_uri, mlflow.start_run, upload, then from_run_id with no URI
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/tracking/mlflow.db"
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run() as run:
        explanation_id = ExplanationClient.from_run(run).upload_model_explanation(global_explanation(seed=31))
    client = ExplanationClient.from_run_id(run.info.run_id)
    assert client.tracking_uri == uri
    assert client.download_model_explanation(explanation_id).equals(global_explanation(seed=31))
    assert [r["id"] for r in ExplanationClient.create_run("other").list_model_explanations()] == []
    assert not (tmp_path / "pellucid_runs").exists() and not (tmp_path / "mlflow.db").exists()


def test_from_run_id_finds_a_run_started_with_the_environment(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path}/env/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 1)
    explanation_id = ExplanationClient.from_run_id(run.info.run_id).upload_model_explanation(
        global_explanation(seed=32))
    assert ExplanationClient.from_run_id(run.info.run_id).download_model_explanation(explanation_id).equals(
        global_explanation(seed=32))
    # in a fresh process too, and through the CLI
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                                         os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run([sys.executable, "-m", "pellucid", "history", "list", "--run-id", run.info.run_id,
                             "--json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [explanation_id]


def test_cli_uses_mlflows_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a run started in MLflow's default store (no URI anywhere) is found by `pellucid history` in that folder
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    with mlflow.start_run() as run:
        explanation_id = ExplanationClient.from_run().upload_model_explanation(global_explanation(seed=33))
    # in process: from_run_id with no URI looks where mlflow.start_run() wrote (it once raised StoreNotFoundError)
    assert ExplanationClient.from_run_id(run.info.run_id).download_model_explanation(explanation_id).equals(
        global_explanation(seed=33))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                                         os.environ.get("PYTHONPATH", "")])}
    env.pop("MLFLOW_TRACKING_URI", None)
    out = tmp_path / "downloaded.json"
    done = subprocess.run([sys.executable, "-m", "pellucid", "history", "download", "--run-id", run.info.run_id,
                           "--id", explanation_id, "--out", str(out)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert Explanation.load(out).equals(global_explanation(seed=33))


def test_from_run_uses_the_active_run(mlflow_server: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    with pytest.raises(ArgumentError, match="no active run"):
        ExplanationClient.from_run()
    with mlflow.start_run() as run:
        explanation_id = ExplanationClient.from_run().upload_model_explanation(global_explanation(seed=9))
    client = ExplanationClient.from_run(run)
    assert client.run_id == run.info.run_id and client.tracking_uri == mlflow_server.uri
    assert client.download_model_explanation(explanation_id).equals(global_explanation(seed=9))
    with pytest.raises(UnsupportedInputError, match="mlflow Run"):
        ExplanationClient.from_run("not a run")


def test_bad_arguments_are_typed_errors(in_embedded_root: Store) -> None:
    client = ExplanationClient.create_run("arguments")
    explanation = global_explanation(seed=10)
    with pytest.raises(UnsupportedInputError, match="found dict"):
        client.upload_model_explanation(explanation.to_dict())
    for top_k in (0, -1, 2.5, True):
        with pytest.raises(ArgumentError, match="top_k must be a positive integer"):
            client.upload_model_explanation(explanation, top_k=top_k)
    with pytest.raises(ArgumentError, match="at most 4000 characters; found 4001"):
        client.upload_model_explanation(explanation, comment="x" * 4001)
    with pytest.raises(ArgumentError, match="comment must be a string"):
        client.upload_model_explanation(explanation, comment=3)
    with pytest.raises(ArgumentError, match="run_id must be a non-empty string"):
        ExplanationClient.from_run_id("")
    assert client.list_model_explanations() == []  # nothing half-written by the refused calls


_SKINNY_SCRIPT = textwrap.dedent("""
    import sys
    # the packages full mlflow adds to mlflow-skinny: None in sys.modules makes them unimportable
    for name in ("sqlalchemy", "alembic", "flask", "flask_cors", "gunicorn", "graphene", "huey", "docker",
                 "pyarrow", "matplotlib", "skops", "aiohttp"):
        sys.modules[name] = None
    from pellucid.errors import MissingDependencyError
    from pellucid.explanation import Explanation
    from pellucid.store import ExplanationClient

    uri = sys.argv[1]
    explanation = Explanation(method="m", task="regression", features=["a", "b"],
                              local_values=[[[1.0], [-2.0]]], expected_values=[0.5])
    client = ExplanationClient.create_run("skinny", tracking_uri=uri)
    explanation_id = client.upload_model_explanation(explanation, top_k=1)
    assert [r["id"] for r in client.list_model_explanations()] == [explanation_id]
    assert client.download_model_explanation(explanation_id).local_values.tolist() == [[[0.0], [-2.0]]]
    try:
        ExplanationClient.create_run("embedded", tracking_uri="sqlite:///never.db")
    except MissingDependencyError as exc:
        assert "mlflow-skinny" in str(exc), exc
    else:
        raise AssertionError("the SQLite store worked without SQLAlchemy")
    print("SKINNY-OK")
""")


def test_client_needs_only_mlflow_skinny_against_a_server(mlflow_server: Store, tmp_path: Path) -> None:
    """With full mlflow's extra packages unimportable, the client still works against a server."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-c", _SKINNY_SCRIPT, mlflow_server.uri], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "SKINNY-OK" in done.stdout, done.stderr[-3000:]
    assert not (tmp_path / "never.db").exists()


def test_downloaded_explanation_is_a_fresh_object(in_embedded_root: Store) -> None:
    client = ExplanationClient.create_run("identity")
    explanation = global_explanation(seed=11)
    original_id = explanation.id
    explanation_id = client.upload_model_explanation(explanation)
    assert explanation.id == original_id != explanation_id  # the caller's object is not changed
    assert isinstance(client.download_model_explanation(explanation_id), Explanation)
