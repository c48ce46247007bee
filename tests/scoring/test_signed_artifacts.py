"""Signed artifacts: a checksum is not authentication, so a signed artifact never loads unverified.

The attack the tests replay: flip a classifier's ``classes`` in ``manifest.json`` and recompute the manifest's
plain SHA-256 (anyone who can edit the folder can). Only the HMAC signature, checked with the key, catches it.
"""

import hashlib
import json
import logging

import pytest

from pellucid.errors import ArgumentError, UnsafeArtifactError
from pellucid.explainers.linear import LinearExplainer
from pellucid.scoring import ScoringExplainer
from pellucid.scoring._artifact import MANIFEST_NAME
from pellucid.serve.service import ScoringService

KEY = "a-long-enough-signing-key"


def _forge(folder, change, *, drop_signature=False):
    """Edit the manifest like an attacker: change it, optionally strip the signature, recompute the digest."""
    path = folder / MANIFEST_NAME
    document = json.loads(path.read_text())
    change(document)
    if drop_signature:
        document.pop("signature", None)
    body = {k: v for k, v in document.items() if k not in ("manifest_sha256", "signature")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    document["manifest_sha256"] = hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(document))


def _flip_classes(document):
    document["classes"] = list(reversed(document["classes"]))


@pytest.fixture()
def binary_scoring(iris_logistic):
    model, X = iris_logistic
    from sklearn.linear_model import LogisticRegression

    y = (X[:, 2] > 3.0).astype(int)
    binary = LogisticRegression(max_iter=2000).fit(X, y)
    return LinearExplainer(binary, X, classes=["no", "yes"]).create_scoring_explainer(), X


def test_unsigned_forgery_loads_flipped_labels(tmp_path, binary_scoring):
    """The documented limit: without a signature, a forged manifest is indistinguishable from a real one."""
    scoring, X = binary_scoring
    folder = scoring.save(tmp_path / "unsigned")
    _forge(folder, _flip_classes)
    loaded = ScoringExplainer.load(folder)
    assert loaded.signature_verified is False
    assert loaded.predict(X[:20]).tolist() == ["yes" if p == "no" else "no" for p in scoring.predict(X[:20])]


def test_signed_artifact_never_loads_unverified(tmp_path, binary_scoring):
    scoring, X = binary_scoring
    folder = scoring.save(tmp_path / "signed", signing_key=KEY)
    loaded = ScoringExplainer.load(folder, signing_key=KEY)
    assert loaded.signature_verified is True
    assert loaded.predict(X).tolist() == scoring.predict(X).tolist()
    with pytest.raises(UnsafeArtifactError, match="it is signed .* no signing key"):
        ScoringExplainer.load(folder)
    with pytest.raises(UnsafeArtifactError, match="signature does not match"):
        ScoringExplainer.load(folder, signing_key="another-long-signing-key")
    _forge(folder, _flip_classes)  # digest recomputed, signature kept
    for key in (None, KEY, "another-long-signing-key"):
        with pytest.raises(UnsafeArtifactError):
            ScoringExplainer.load(folder, signing_key=key)
    _forge(folder, lambda d: None, drop_signature=True)  # stripped signature: looks unsigned
    with pytest.raises(UnsafeArtifactError, match="no hmac-sha256 signature"):
        ScoringExplainer.load(folder, signing_key=KEY)


def test_a_null_signature_still_counts_as_signed(tmp_path, binary_scoring):
    scoring, _ = binary_scoring
    folder = scoring.save(tmp_path / "signed", signing_key=KEY)
    _forge(folder, lambda d: d.__setitem__("signature", None))
    with pytest.raises(UnsafeArtifactError, match="it is signed"):
        ScoringExplainer.load(folder)


def test_service_verifies_warns_and_can_refuse_unsigned(tmp_path, binary_scoring, caplog):
    scoring, X = binary_scoring
    signed = scoring.save(tmp_path / "signed", signing_key=KEY)
    unsigned = scoring.save(tmp_path / "unsigned")
    with caplog.at_level(logging.WARNING, logger="pellucid.serve.service"):
        service = ScoringService(signed, signing_key=KEY)
    assert service.scoring_explainer.signature_verified
    assert not [r for r in caplog.records if "UNSIGNED" in r.getMessage()]
    with pytest.raises(UnsafeArtifactError, match="it is signed"):
        ScoringService(signed)
    with caplog.at_level(logging.WARNING, logger="pellucid.serve.service"):
        ScoringService(unsigned)
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "UNSIGNED ARTIFACT" in r.getMessage()]
    with pytest.raises(UnsafeArtifactError, match="no signing key is configured"):
        ScoringService(unsigned, require_signature=True)
    with pytest.raises(UnsafeArtifactError, match="no hmac-sha256 signature"):
        ScoringService(unsigned, signing_key=KEY, require_signature=True)
    with pytest.raises(ArgumentError, match="in-memory"):
        ScoringService(scoring, require_signature=True)
    _forge(signed, _flip_classes)
    with pytest.raises(UnsafeArtifactError, match="signature does not match"):
        ScoringService(signed, signing_key=KEY)
