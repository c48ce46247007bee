"""``pellucid history upload|list|download`` through the subcommand's own parser."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pellucid.errors import ArgumentError, StoreNotFoundError
from pellucid.explanation import Explanation
from pellucid.store import cli
from tests.store.helpers import Store, classification_explanation


def _history(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pellucid")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["history", *argv])
    return args.handler(args)


def test_upload_list_download(in_embedded_root: Store, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    explanation = classification_explanation(seed=21)
    source = explanation.save(tmp_path / "in.json")

    assert _history(["upload", str(source), "--experiment", "cli", "--comment", "from the shell"]) == 0
    created = json.loads(capsys.readouterr().out)
    run_id = created["run_id"]
    assert _history(["upload", str(source), "--run-id", run_id, "--top-k", "2"]) == 0
    top_id = json.loads(capsys.readouterr().out)["explanation_id"]

    assert _history(["list", "--run-id", run_id, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["comment"], r["top_k"]) for r in records] == [
        (created["explanation_id"], "from the shell", None), (top_id, None, 2)]
    assert _history(["list", "--run-id", run_id]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["id", "upload_time", "method"] and created["explanation_id"] in table[1]

    full_out, top_out = tmp_path / "full.json", tmp_path / "top.json"
    assert _history(["download", "--run-id", run_id, "--id", created["explanation_id"], "--out", str(full_out)]) == 0
    assert Explanation.load(full_out).equals(explanation)
    assert _history(["download", "--run-id", run_id, "--top-k", "1", "--out", str(top_out)]) == 0  # newest
    downloaded = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert downloaded["explanation_id"] == top_id and Explanation.load(top_out).meta["top_k"] == 1


def test_cli_errors(in_embedded_root: Store, tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="no file at"):
        _history(["upload", str(tmp_path / "absent.json"), "--experiment", "cli"])
    with pytest.raises(StoreNotFoundError, match="f" * 32):
        _history(["list", "--run-id", "f" * 32])
    with pytest.raises(SystemExit):  # argparse: --run-id or --experiment is required
        _history(["upload", str(tmp_path / "absent.json")])


def test_list_an_experiment_across_runs(in_embedded_root: Store, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    first = classification_explanation(seed=31).save(tmp_path / "first.json")
    second = classification_explanation(seed=32).save(tmp_path / "second.json")
    uploaded = []
    for source, comment in ((first, "a"), (second, "b"), (first, "b")):
        assert _history(["upload", str(source), "--experiment", "browse", "--comment", comment]) == 0
        uploaded.append(json.loads(capsys.readouterr().out))
    assert _history(["upload", str(first), "--experiment", "elsewhere"]) == 0  # another experiment: not listed
    capsys.readouterr()
    assert _history(["list", "--experiment", "browse", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["run_id"], r["id"]) for r in records] == [(u["run_id"], u["explanation_id"]) for u in uploaded]
    assert len({r["run_id"] for r in records}) == 3  # one new run per upload
    assert _history(["list", "--experiment", "browse", "--comment", "b"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:2] == ["run_id", "id"] and len(table) == 3
    assert {line.split()[1] for line in table[1:]} == {u["explanation_id"] for u in uploaded[1:]}
    with pytest.raises(StoreNotFoundError, match="no-such-experiment"):
        _history(["list", "--experiment", "no-such-experiment"])
    with pytest.raises(SystemExit):  # argparse: --run-id or --experiment, not both
        _history(["list", "--experiment", "browse", "--run-id", uploaded[0]["run_id"]])


def test_mlflow_info_logs_stay_out_of_the_output(tmp_path: Path) -> None:
    """A first upload creates the embedded store; MLflow logs that at INFO, which `pellucid` keeps quiet."""
    import os
    import subprocess
    import sys

    import pellucid

    source = classification_explanation(seed=41).save(tmp_path / "e.json")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    environment["PYTHONPATH"] = str(Path(pellucid.__file__).resolve().parents[1])
    command = [sys.executable, "-m", "pellucid.cli", "history", "upload", str(source), "--experiment", "quiet"]
    completed = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert list(json.loads(completed.stdout)) == ["run_id", "explanation_id"]
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    verbose = subprocess.run([*command[:3], "-v", *command[3:]], cwd=fresh, env=environment,
                             capture_output=True, text=True, timeout=300)
    assert verbose.returncode == 0 and "INFO" in verbose.stderr  # -v shows what pellucid (and MLflow) did
