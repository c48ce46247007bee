"""Saving and loading scoring explainers: exact round trips, tampered artifacts, the skops policy, pickle."""


import hashlib
import json
import os
import pickle

import numpy as np
import pytest
from sklearn.preprocessing import FunctionTransformer

from pellucid.errors import ArgumentError, UnsafeArtifactError
from pellucid.explainers.linear import LinearExplainer
from pellucid.scoring import LinearScoringExplainer, ScoringExplainer, load, save
from pellucid.scoring._artifact import MANIFEST_NAME, write_artifact
from pellucid.scoring._model_files import load_model_file, serialize_model, skops_trusted_types


# ---------------------------------------------------------------------- save / load
def test_linear_round_trip_is_exact(tmp_path, iris_logistic):
    model, X = iris_logistic
    scoring = LinearExplainer(model, X, features=["a", "b", "c", "d"], classes=["x", "y", "z"]).create_scoring_explainer()
    folder = scoring.save(tmp_path / "linear")
    loaded = ScoringExplainer.load(folder)
    assert type(loaded) is LinearScoringExplainer
    assert (loaded.features, loaded.classes, loaded.task, loaded.output_space) == (
        ["a", "b", "c", "d"], ["x", "y", "z"], "classification", "logit")
    assert np.array_equal(np.asarray(loaded.explain(X)), np.asarray(scoring.explain(X)))
    assert np.array_equal(loaded.expected_values, scoring.expected_values)
    assert loaded.predict(X).tolist() == scoring.predict(X).tolist()
    assert type(LinearScoringExplainer.load(folder)) is LinearScoringExplainer
    # SDK-style functions
    save(loaded, tmp_path / "again")
    assert np.array_equal(np.asarray(load(tmp_path / "again").explain(X[:5])), np.asarray(scoring.explain(X[:5])))


def test_save_refuses_a_non_empty_folder_unless_exist_ok(tmp_path, diabetes_ridge):
    model, X = diabetes_ridge
    scoring = LinearExplainer(model, X).create_scoring_explainer()
    scoring.save(tmp_path / "s")
    with pytest.raises(ArgumentError, match="not empty"):
        scoring.save(tmp_path / "s")
    scoring.save(tmp_path / "s", exist_ok=True)
    assert ScoringExplainer.load(tmp_path / "s").kind == "linear"


@pytest.fixture()
def saved_linear(tmp_path, diabetes_ridge):
    model, X = diabetes_ridge
    return LinearExplainer(model, X).create_scoring_explainer().save(tmp_path / "artifact")


def _rewrite_manifest(folder, change, *, fix_digest):
    path = folder / MANIFEST_NAME
    document = json.loads(path.read_text())
    change(document)
    if fix_digest:  # a forger who also recomputes the digest: the other checks must still hold
        body = {k: v for k, v in document.items() if k not in ("manifest_sha256", "signature")}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
        document["manifest_sha256"] = hashlib.sha256(canonical).hexdigest()
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("change", "fix_digest", "message"),
    [
        (lambda d: d["features"].__setitem__(0, "edited"), False, "edited after saving"),
        (lambda d: d.__setitem__("kind", "quantum"), True, "unknown scoring explainer kind 'quantum'"),
        (lambda d: d.__setitem__("format_version", 99), True, "newer than version 1"),
        (lambda d: d.__setitem__("format", "someone.else"), True, "expected format"),
        (lambda d: d["files"].__setitem__("../escape.npz", dict(d["files"]["arrays.npz"])), True, "plain name"),
        (lambda d: d["files"]["arrays.npz"].__setitem__("sha256", "0" * 64), True, "SHA-256 of 'arrays.npz'"),
        (lambda d: d.__setitem__("task", "astrology"), True, "inconsistent"),
    ],
    ids=["edited", "unknown-kind", "newer-version", "foreign-format", "path-escape", "checksum-field", "bad-task"],
)
def test_tampered_manifests_are_refused(saved_linear, change, fix_digest, message):
    _rewrite_manifest(saved_linear, change, fix_digest=fix_digest)
    with pytest.raises(UnsafeArtifactError, match=message):
        ScoringExplainer.load(saved_linear)


def test_changed_or_missing_files_are_refused(saved_linear, tmp_path):
    arrays = saved_linear / "arrays.npz"
    content = bytearray(arrays.read_bytes())
    content[-10] ^= 0xFF
    arrays.write_bytes(bytes(content))
    with pytest.raises(UnsafeArtifactError, match="SHA-256 of 'arrays.npz' does not match"):
        ScoringExplainer.load(saved_linear)
    arrays.unlink()
    with pytest.raises(UnsafeArtifactError, match="missing"):
        ScoringExplainer.load(saved_linear)
    (saved_linear / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(UnsafeArtifactError, match="not valid JSON"):
        ScoringExplainer.load(saved_linear)
    with pytest.raises(UnsafeArtifactError, match="no such folder"):
        ScoringExplainer.load(tmp_path / "nowhere")


def test_signed_manifest(tmp_path, diabetes_ridge):
    model, X = diabetes_ridge
    scoring = LinearExplainer(model, X).create_scoring_explainer()
    key = "a-long-enough-signing-key"
    scoring.save(tmp_path / "signed", signing_key=key)
    scoring.save(tmp_path / "unsigned")
    assert ScoringExplainer.load(tmp_path / "signed", signing_key=key).kind == "linear"
    with pytest.raises(UnsafeArtifactError, match="signature does not match"):
        ScoringExplainer.load(tmp_path / "signed", signing_key="another-long-signing-key")
    with pytest.raises(UnsafeArtifactError, match="no hmac-sha256 signature"):
        ScoringExplainer.load(tmp_path / "unsigned", signing_key=key)
    # re-signing needs the key: a forger who recomputes the plain digest still fails the signature
    _rewrite_manifest(tmp_path / "signed", lambda d: d["features"].__setitem__(0, "x"), fix_digest=True)
    with pytest.raises(UnsafeArtifactError, match="signature does not match"):
        ScoringExplainer.load(tmp_path / "signed", signing_key=key)


# ---------------------------------------------------------------------- models: skops policy and pickle
class _HandMadeModel:
    """A model with no safe storage format."""

    def predict(self, X):
        return np.asarray(X).sum(axis=1)


def test_skops_policy_accepts_sklearn_and_refuses_functions_and_foreign_types(iris_logistic):
    skops_io = pytest.importorskip("skops.io")
    model, _ = iris_logistic
    assert skops_trusted_types(data=skops_io.dumps(model)) == []
    with pytest.raises(UnsafeArtifactError, match="posix.system|nt.system"):
        skops_trusted_types(data=skops_io.dumps(FunctionTransformer(func=os.system)))
    with pytest.raises(UnsafeArtifactError, match="_HandMadeModel"):
        skops_trusted_types(data=skops_io.dumps(_HandMadeModel()))


def test_model_without_safe_format_needs_allow_pickle(tmp_path):
    with pytest.raises(UnsafeArtifactError, match="allow_pickle=True"):
        serialize_model(_HandMadeModel())
    name, file_format, content, _ = serialize_model(_HandMadeModel(), allow_pickle=True)
    assert (name, file_format) == ("model.pkl", "pickle")
    # an artifact holding that pickle is refused unless the loader allows pickle too
    folder = write_artifact(tmp_path / "p", kind="linear", header={"task": "regression", "features": ["a"]},
                            state={}, arrays={"x": np.zeros(1)}, extra_files={name: (file_format, "model", content)})
    with pytest.raises(UnsafeArtifactError, match="is a pickle"):
        ScoringExplainer.load(folder)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(_HandMadeModel()))
    with pytest.raises(UnsafeArtifactError, match="runs code"):
        load_model_file(tmp_path / "model.pkl")


def test_model_file_formats(tmp_path, iris_logistic):
    skops_io = pytest.importorskip("skops.io")
    model, X = iris_logistic
    skops_io.dump(model, tmp_path / "model.skops")
    loaded = load_model_file(tmp_path / "model.skops")
    assert np.array_equal(loaded.predict(X), model.predict(X))
    skops_io.dump(FunctionTransformer(func=os.system), tmp_path / "evil.skops")
    with pytest.raises(UnsafeArtifactError, match="does not trust"):
        load_model_file(tmp_path / "evil.skops")
    with pytest.raises(ArgumentError, match="expected a model file ending"):
        (tmp_path / "model.bin").write_bytes(b"x")
        load_model_file(tmp_path / "model.bin")
