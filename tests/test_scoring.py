"""Scoring explainers: values against the direct explainers and the models, save/load, and the artifact checks."""

import hashlib
import json
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from pellucid.errors import ArgumentError, DataShapeError, DataValueError, UnsafeArtifactError
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.scoring import LinearScoringExplainer, ScoringExplainer, create_scoring_explainer, load, save
from pellucid.scoring._artifact import MANIFEST_NAME, write_artifact
from pellucid.scoring._model_files import load_model_file, serialize_model, skops_trusted_types


def _sdk_to_array(values, task):
    """SDK layout -> ndarray (n_rows, n_features, n_outputs)."""
    array = np.asarray(values)
    return np.moveaxis(array, 0, 2) if task == "classification" else array[:, :, None]


@pytest.fixture(scope="module")
def diabetes_ridge():
    X, y = load_diabetes(return_X_y=True)
    return Ridge(alpha=0.5).fit(X[:300], y[:300]), X


@pytest.fixture(scope="module")
def iris_logistic():
    X, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=2000).fit(X, y), X


# ---------------------------------------------------------------------- linear values
def test_linear_regression_matches_explainer_and_model(diabetes_ridge):
    model, X = diabetes_ridge
    explainer = LinearExplainer(model, X[:300])
    scoring = create_scoring_explainer(explainer)
    assert isinstance(scoring, LinearScoringExplainer)
    values = scoring.explain(X[300:340])
    assert np.asarray(values).shape == (40, X.shape[1])  # regression: [rows][features]
    reference = explainer.explain_local(X[300:340])
    assert np.allclose(_sdk_to_array(values, "regression"), reference.local_values, rtol=0, atol=1e-12)
    # additivity against the model itself
    explained = np.asarray(values).sum(axis=1) + scoring.expected_values[0]
    assert np.allclose(explained, model.predict(X[300:340]), atol=1e-9)
    assert np.allclose(scoring.predict(X[300:340]), model.predict(X[300:340]), atol=1e-9)


def test_binary_classifier_values_are_log_odds_for_both_classes():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    scoring = LinearExplainer(model, X, classes=["malignant", "benign"]).create_scoring_explainer()
    values = np.asarray(scoring.explain(X[:25]))
    assert values.shape == (2, 25, X.shape[1])  # classification: [classes][rows][features]
    margin = model.decision_function(X[:25])
    assert np.allclose(values[1].sum(axis=1) + scoring.expected_values[1], margin, atol=1e-8)
    assert np.allclose(values[0], -values[1])
    assert scoring.output_space == "log_odds"
    assert scoring.predict(X[:25]).tolist() == np.asarray(["malignant", "benign"])[model.predict(X[:25])].tolist()


def test_multiclass_matches_explainer_and_predict(iris_logistic):
    model, X = iris_logistic
    explainer = LinearExplainer(model, X)
    scoring = explainer.create_scoring_explainer()
    local = _sdk_to_array(scoring.explain(X[::10]), "classification")
    assert np.allclose(local, explainer.explain_local(X[::10]).local_values, rtol=0, atol=1e-12)
    assert np.allclose(local.sum(axis=1) + scoring.expected_values, model.decision_function(X[::10]), atol=1e-9)
    assert np.array_equal(scoring.predict(X), model.predict(X))


def test_reference_from_given_rows(diabetes_ridge):
    model, X = diabetes_ridge
    scoring = create_scoring_explainer(LinearExplainer(model, X[:300]), X[300:320])
    assert np.allclose(scoring.expected_values, model.predict(X[300:320]).mean(), atol=1e-9)
    assert any("reference mean" in note for note in scoring.notes)


def test_through_tabular_explainer_and_its_forwarded_method(iris_logistic):
    model, X = iris_logistic
    tabular = TabularExplainer(model, X, features=["sl", "sw", "pl", "pw"])
    for scoring in (create_scoring_explainer(tabular), tabular.create_scoring_explainer()):
        assert scoring.kind == "linear" and scoring.features == ["sl", "sw", "pl", "pw"]


def test_inputs_records_frames_and_bad_rows(iris_logistic):
    model, X = iris_logistic
    names = ["sl", "sw", "pl", "pw"]
    scoring = LinearExplainer(model, X, features=names).create_scoring_explainer()
    expected = np.asarray(scoring.explain(X[:3]))
    records = [dict(zip(names, row)) for row in X[:3].tolist()]
    assert np.array_equal(np.asarray(scoring.explain(records)), expected)
    shuffled = pd.DataFrame(X[:3], columns=names)[["pw", "sl", "pl", "sw"]]
    assert np.array_equal(np.asarray(scoring.explain(shuffled)), expected)
    assert np.asarray(scoring.explain(X[0])).shape == (3, 1, 4)  # one 1-D row
    with pytest.raises(DataShapeError, match="4 features"):
        scoring.explain(X[:2, :3])
    with pytest.raises(DataShapeError, match="unknown feature names \\['petal'\\]"):
        scoring.explain([{"sl": 1.0, "sw": 1.0, "pl": 1.0, "petal": 1.0}])
    with pytest.raises(DataValueError, match="missing \\(NaN\\)"):
        scoring.explain([[1.0, np.nan, 1.0, 1.0]])
    with pytest.raises(DataValueError, match="infinite"):
        scoring.predict([[1.0, np.inf, 1.0, 1.0]])
    with pytest.raises(DataValueError, match="numbers"):
        scoring.explain(np.array([["a", "b", "c", "d"]], dtype=object))


def test_get_raw_without_transformations_returns_the_same_values(iris_logistic):
    model, X = iris_logistic
    scoring = LinearExplainer(model, X).create_scoring_explainer()
    raw = scoring.explain_local(X[:2], get_raw=True)
    assert raw.is_raw and np.array_equal(raw.local_values, scoring.explain_local(X[:2]).local_values)


def test_unsupported_explainer_is_refused():
    with pytest.raises(ArgumentError, match="no scoring explainer for str"):
        create_scoring_explainer("not an explainer")


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
                            state={}, arrays={"x": np.zeros(1)}, model_files={name: (file_format, content)})
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
