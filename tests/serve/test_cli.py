"""`pellucid serve`'s argument handling: the add_parser/run hooks the pellucid command uses."""

import argparse

import pytest

from pellucid.errors import ArgumentError, UnsafeArtifactError
from pellucid.serve import cli


def _parse(*argv):
    parser = argparse.ArgumentParser(prog="pellucid")
    subparsers = parser.add_subparsers(dest="command", required=True)
    sub = cli.add_parser(subparsers)
    assert sub.get_default("handler") is cli.run
    return parser.parse_args(["serve", *argv])


def test_defaults_and_options():
    args = _parse("--scoring-explainer", "dir")
    assert (args.host, args.port, args.max_rows, args.workers, args.model) == ("127.0.0.1", 8000, 1000, 1, None)
    args = _parse("--scoring-explainer", "d", "--model", "m.txt", "--port", "9000", "--api-key-env", "KEY")
    assert (args.model, args.port, args.api_key_env) == ("m.txt", 9000, "KEY")


def test_bad_arguments_are_refused_before_serving(tmp_path, monkeypatch):
    with pytest.raises(ArgumentError, match="--port"):
        cli.run(_parse("--scoring-explainer", str(tmp_path), "--port", "0"))
    monkeypatch.delenv("PELLUCID_NO_SUCH_KEY", raising=False)
    with pytest.raises(ArgumentError, match="PELLUCID_NO_SUCH_KEY"):
        cli.run(_parse("--scoring-explainer", str(tmp_path), "--api-key-env", "PELLUCID_NO_SUCH_KEY"))
    with pytest.raises(UnsafeArtifactError, match="manifest.json"):
        cli.run(_parse("--scoring-explainer", str(tmp_path)))
    assert cli.main(["--scoring-explainer", str(tmp_path / "missing")]) == 2


def test_worker_environment():
    environment = cli.environment_for_workers("d", None, "k" * 20, None, max_rows=5, max_body_bytes=100,
                                              allow_pickle=False)
    assert environment == {"PELLUCID_SCORING_EXPLAINER": "d", "PELLUCID_MAX_ROWS": "5",
                           "PELLUCID_MAX_BODY_BYTES": "100", "PELLUCID_ALLOW_PICKLE": "0", "PELLUCID_API_KEY": "k" * 20}
