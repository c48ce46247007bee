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


def test_signature_flags(tmp_path, monkeypatch, caplog):
    import logging

    import numpy as np
    import uvicorn
    from sklearn.linear_model import Ridge

    from pellucid.explainers.linear import LinearExplainer

    X = np.random.default_rng(0).normal(size=(40, 3))
    scoring = LinearExplainer(Ridge().fit(X, X @ [1.0, 2.0, 3.0]), X).create_scoring_explainer()
    key = "a-long-enough-signing-key"
    signed = scoring.save(tmp_path / "signed", signing_key=key)
    unsigned = scoring.save(tmp_path / "unsigned")
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append((app, options)))
    monkeypatch.delenv("PELLUCID_SIGNING_KEY", raising=False)
    with pytest.raises(UnsafeArtifactError, match="it is signed"):
        cli.run(_parse("--scoring-explainer", str(signed)))
    with pytest.raises(UnsafeArtifactError, match="no signing key is configured"):
        cli.run(_parse("--scoring-explainer", str(unsigned), "--require-signature"))
    with caplog.at_level(logging.WARNING):
        assert cli.run(_parse("--scoring-explainer", str(unsigned))) == 0
    assert any("UNSIGNED ARTIFACT" in record.getMessage() for record in caplog.records)
    monkeypatch.setenv("PELLUCID_SIGNING_KEY", key)  # the default variable, verified without any flag
    assert cli.run(_parse("--scoring-explainer", str(signed), "--require-signature")) == 0
    assert served[-1][0].state.service.scoring_explainer.signature_verified
    with pytest.raises(UnsafeArtifactError, match="no hmac-sha256 signature"):
        cli.run(_parse("--scoring-explainer", str(unsigned)))
    monkeypatch.setenv("OTHER_KEY", "another-long-signing-key")
    with pytest.raises(UnsafeArtifactError, match="signature does not match"):
        cli.run(_parse("--scoring-explainer", str(signed), "--signing-key-env", "OTHER_KEY"))
    assert cli.environment_for_workers("d", None, None, key, max_rows=5, max_body_bytes=9, allow_pickle=False,
                                       require_signature=True)["PELLUCID_REQUIRE_SIGNATURE"] == "1"
