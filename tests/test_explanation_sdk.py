"""The old SDK's explanation behaviour (issue 20: items 1, 5, 7, 9, 12): views, duck-typing, data(), names, folders.

Each test encodes what the SDK's explanation objects did (interpret-community's explanation.py,
serialization.py and constants.py), checked against values computed here independently.
"""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from pellucid import load_explanation, save_explanation
from pellucid.errors import ArgumentError, ExplanationFormatError
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explanation import Explanation

IRIS = load_iris()
X, Y = IRIS.data, IRIS.target
NAMES = list(IRIS.feature_names)
CLASSES = list(IRIS.target_names)


@pytest.fixture(scope="module")
def classifier():
    return LogisticRegression(max_iter=500).fit(X, Y)


@pytest.fixture(scope="module")
def regressor():
    return LinearRegression().fit(X[:, 1:], X[:, 0])


# ---------------------------------------------------------------------- 20.1: one 1-D row
def test_one_row_drops_the_row_axis_for_a_classifier(classifier):
    explainer = LinearExplainer(classifier, X, features=NAMES, classes=CLASSES)
    single = explainer.explain_local(X[7])
    batch = explainer.explain_local(X[7:8])
    assert single.single_row and not batch.single_row
    assert single.local_values.shape == (1, 4, 3)  # pellucid's arrays keep the row axis
    values = np.asarray(single.local_importance_values)
    assert values.shape == (3, 4)  # [class][feature], as the SDK gave it
    assert np.array_equal(values, np.asarray(batch.local_importance_values)[:, 0, :])
    predicted = int(classifier.predict(X[7:8])[0])
    names = single.get_ranked_local_names()[predicted]  # the notebooks' indexing
    row = batch.local_values[0, :, predicted]
    assert names == [NAMES[i] for i in np.argsort(-row, kind="stable")]
    assert single.get_ranked_local_values(top_k=2)[predicted] == sorted(row.tolist(), reverse=True)[:2]
    assert np.asarray(single.get_local_importance_rank()).shape == (3, 4)


def test_one_row_drops_the_row_axis_for_a_regressor_and_survives_saving(regressor, tmp_path):
    explainer = TabularExplainer(regressor, X[:, 1:], features=NAMES[1:])
    single = explainer.explain_local(X[3, 1:])
    assert np.asarray(single.local_importance_values).shape == (3,)  # [feature]
    assert np.array_equal(single.local_importance_values, single.local_values[0, :, 0])
    assert len(single.get_ranked_local_names()) == 3 and isinstance(single.get_ranked_local_names()[0], str)
    loaded = Explanation.load(single.save(tmp_path / "one.json"))
    assert loaded.single_row and loaded.local_importance_values == single.local_importance_values
    # a Series is one row as well; a 2-D frame of one row is not
    frame = pd.DataFrame(X[:, 1:], columns=NAMES[1:])
    assert explainer.explain_local(frame.iloc[3]).single_row
    assert not explainer.explain_local(frame.iloc[3:4]).single_row


# ---------------------------------------------------------------------- 20.5: duck-typing with hasattr
PER_CLASS = ("per_class_values", "per_class_rank", "get_ranked_per_class_names", "get_ranked_per_class_values",
             "num_classes")
LOCAL = ("local_importance_values", "get_local_importance_rank", "get_ranked_local_names",
         "get_ranked_local_values", "num_examples", "is_local_sparse", "eval_y_predicted", "eval_y_predicted_proba")


def test_hasattr_answers_as_for_the_sdk_explanations(classifier, regressor):
    local_classifier = LinearExplainer(classifier, X, classes=CLASSES).explain_local(X[:5])
    local_regressor = LinearExplainer(regressor, X[:, 1:]).explain_local(X[:5, 1:])
    global_only = PFIExplainer(regressor).explain_global(X[:40, 1:], true_labels=X[:40, 0])
    for name in PER_CLASS:
        assert hasattr(local_classifier, name), name
        assert not hasattr(local_regressor, name), name
        assert not hasattr(global_only, name), name
    for name in LOCAL:
        assert hasattr(local_classifier, name) and hasattr(local_regressor, name), name
        assert not hasattr(global_only, name), name
    assert not hasattr(global_only, "expected_values")  # PFI has no base value
    for name in ("global_importance_values", "global_importance_rank", "get_ranked_global_names", "features",
                 "method", "model_task", "model_type", "id", "is_raw", "is_engineered", "num_features"):
        assert hasattr(global_only, name), name
    # the methods still work where they exist
    assert local_classifier.get_ranked_per_class_names(top_k=1)[0][0] in local_classifier.features
    with pytest.raises(AttributeError):
        global_only.get_ranked_local_names(2)


# ---------------------------------------------------------------------- 20.9: names, flags, expected values
def test_default_and_integer_feature_names_stay_integers(classifier, tmp_path):
    explanation = LinearExplainer(classifier, X).explain_local(X[:3])
    assert explanation.features == [0, 1, 2, 3]  # the SDK's default names are the column indices
    overall = np.abs(explanation.local_values).mean(axis=0).mean(axis=1)
    assert explanation.get_ranked_global_names() == np.argsort(-overall, kind="stable").tolist()
    assert all(type(name) is int for name in explanation.get_ranked_local_names()[0][0])
    for back in (Explanation.from_json(explanation.to_json()), Explanation.load(explanation.save(tmp_path / "e.json"))):
        assert back.features == [0, 1, 2, 3] and back.get_ranked_global_names() == explanation.get_ranked_global_names()
    frame = pd.DataFrame(X, columns=[10, 11, "twelve", 13])
    named = LinearExplainer(classifier, frame).explain_local(frame.iloc[:2])
    assert named.features == [10, 11, "twelve", 13]


def test_expected_values_are_the_sdk_list(classifier, regressor):
    multiclass = LinearExplainer(classifier, X).explain_local(X[:2])
    assert isinstance(multiclass.expected_values, list) and len(multiclass.expected_values) == 3
    assert multiclass.expected_values == multiclass.expected_values_array.tolist()
    # the SDK's ExpectedValuesMixin wrapped a regressor's scalar in a list
    regression = LinearExplainer(regressor, X[:, 1:]).explain_local(X[:2, 1:])
    mean_prediction = regressor.predict(X[:, 1:]).mean()
    assert regression.expected_values == pytest.approx([mean_prediction], rel=1e-12)
    # the constructor keeps taking the array
    built = Explanation(method="m", task="regression", features=["a"], local_values=np.ones((1, 1, 1)),
                        expected_values=np.array([2.5]))
    assert built.expected_values == [2.5] and built.expected_values_array.tolist() == [2.5]


def test_is_engineered_means_what_it_meant_in_the_sdk(classifier):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import StandardScaler

    plain = LinearExplainer(classifier, X).explain_local(X[:2])
    assert plain.is_engineered is False and plain.is_raw is False
    frame = pd.DataFrame(X, columns=NAMES)
    scaler = ColumnTransformer([("scale", StandardScaler(), NAMES)]).fit(frame)
    model = LogisticRegression(max_iter=500).fit(scaler.transform(frame), Y)
    explainer = LinearExplainer(model, frame, transformations=scaler)
    engineered = explainer.explain_local(frame.iloc[:2], raw=False)
    raw = explainer.explain_local(frame.iloc[:2], raw=True)
    assert engineered.is_engineered is True and raw.is_raw is True and raw.is_engineered is False
    mapped = plain.get_raw_explanation(np.eye(4))  # the SDK marked the mapped explanation engineered
    assert plain.is_engineered is True and mapped.is_raw is True


def test_eval_y_predicted_are_the_model_predictions(classifier, regressor):
    from sklearn.ensemble import GradientBoostingClassifier

    from pellucid.explainers.tree import TreeExplainer

    local = LinearExplainer(classifier, X, classes=CLASSES).explain_local(X[::10])
    assert local.eval_y_predicted == [CLASSES[i] for i in classifier.predict(X[::10])]
    np.testing.assert_allclose(local.eval_y_predicted_proba, classifier.predict_proba(X[::10]), rtol=1e-12)
    boosted = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, Y)
    margins = TreeExplainer(boosted).explain_local(X[::15])  # explained in margins, predictions asked of the model
    assert margins.eval_y_predicted == boosted.predict(X[::15]).tolist()
    np.testing.assert_allclose(margins.eval_y_predicted_proba, boosted.predict_proba(X[::15]), rtol=1e-12)
    regression = LinearExplainer(regressor, X[:, 1:]).explain_local(X[:4, 1:])
    np.testing.assert_allclose(regression.eval_y_predicted, regressor.predict(X[:4, 1:]), rtol=1e-12)
    assert regression.eval_y_predicted_proba is None


# ---------------------------------------------------------------------- 20.7: data() and visualize()
def test_data_has_the_sdk_keys(classifier):
    explanation = LinearExplainer(classifier, X, features=NAMES, classes=CLASSES).explain_local(X[:3])
    overall = explanation.data()
    assert set(overall) == {"mli", "names", "scores", "intercept"} and overall["mli"] == []
    assert overall["names"] == NAMES and overall["scores"] == explanation.global_importance_values
    assert overall["intercept"] == explanation.expected_values
    row = explanation.data(1)
    assert set(row) == {"mli", "type", "names", "perf", "scores", "intercept", "values", "extra"}
    assert row["type"] == "univariate" and np.array_equal(row["values"], X[1])
    assert np.array_equal(row["scores"], np.moveaxis(explanation.local_values, 2, 0))
    predicted = CLASSES[int(classifier.predict(X[1:2])[0])]
    assert row["perf"] == {"actual": predicted, "predicted": predicted, "residual": 1, "actual_score": predicted,
                           "predicted_score": predicted}
    assert row["extra"] == {"names": ["Base Value"], "scores": explanation.expected_values, "values": [1]}
    everything = explanation.data(-1)
    assert set(everything) == {"overall", "specific", "mli"} and len(everything["specific"]) == 3
    kinds = [entry["explanation_type"] for entry in everything["mli"]]
    assert kinds == ["local_feature_importance", "global_feature_importance"]
    assert everything["mli"][0]["value"]["scores"] == explanation.local_importance_values
    with pytest.raises(ArgumentError, match="row index"):
        explanation.data(3)


def test_visualize_draws_the_largest_importances():
    rng = np.random.default_rng(3)
    local = rng.normal(size=(5, 20, 1))
    explanation = Explanation(method="m", task="regression", features=[f"f{i}" for i in range(20)],
                              local_values=local)
    figure = explanation.visualize()
    bar = figure.data[0]
    overall = np.abs(local).mean(axis=0)[:, 0]
    top = np.argsort(-overall)[:15]
    assert list(bar.y) == [f"f{i}" for i in top[::-1]]  # largest on top: plotly draws the first bar lowest
    np.testing.assert_allclose(bar.x, overall[top[::-1]])
    row_bar = explanation.visualize(2).data[0]
    assert row_bar.y[-1] == f"f{int(np.argmax(np.abs(local[2, :, 0])))}"
    global_only = explanation.global_only()
    with pytest.raises(ArgumentError, match="global-only"):
        global_only.visualize(0)


# ---------------------------------------------------------------------- 20.12: folders, parents, bit-identity
def _write_sdk_folder(folder, metadata, properties):
    """A folder laid out as the SDK's save_explanation wrote it (serialization.py): one JSON file per property."""
    folder.mkdir()
    (folder / "explanation_metadata.json").write_text(json.dumps(metadata))
    for name, (kind, data) in properties.items():
        (folder / f"{name}.json").write_text(json.dumps({"metadata": kind, "data": data}))


def _sdk_metadata(**changes):
    metadata = {"explanation_id": "3f1c", "model_type": "classification", "data_type": "tabular",
                "model_task": "classification", "method": "shap_kernel", "model_class": "sklearn.svm.SVC",
                "is_raw": False, "is_engineered": False, "global": True, "local": True, "num_classes": 3,
                "num_examples": 4, "num_features": 2, "is_local_sparse": False, "serialization_version": 1}
    metadata.update(changes)
    return metadata


def test_sdk_folders_load(tmp_path):
    rng = np.random.default_rng(0)
    sdk_local = rng.normal(size=(3, 4, 2))  # [classes][rows][features]
    per_class = np.abs(sdk_local).mean(axis=1)  # the SDK's aggregation (_get_aggregate_kwargs)
    overall = per_class.mean(axis=0)
    _write_sdk_folder(tmp_path / "both", _sdk_metadata(), {
        "features": ("list", ["petal", "sepal"]),
        "classes": ("list", ["a", "b", "c"]),
        "local_importance_values": ("ndarray", sdk_local.tolist()),
        "expected_values": ("list", [0.2, 0.3, 0.5]),
        "global_importance_values": ("ndarray", overall.tolist()),
        "global_importance_rank": ("ndarray", np.argsort(-overall).tolist()),
        "per_class_values": ("ndarray", per_class.tolist()),
        "per_class_rank": ("ndarray", np.argsort(-per_class, axis=1).tolist()),
        "eval_data": ("DatasetWrapper", rng.normal(size=(4, 2)).tolist()),
        "init_data": ("DatasetWrapper", rng.normal(size=(6, 2)).tolist()),
        "eval_y_predicted": ("list", ["a", "c", "b", "a"]),
        "eval_y_predicted_proba": ("list", rng.dirichlet(np.ones(3), size=4).tolist()),
    })
    loaded = load_explanation(tmp_path / "both")
    assert (loaded.id, loaded.method, loaded.model_type, loaded.classes) == ("3f1c", "shap_kernel", "sklearn.svm.SVC",
                                                                            ["a", "b", "c"])
    assert loaded.local_importance_values == sdk_local.tolist()
    np.testing.assert_allclose(loaded.per_class_values, per_class, rtol=1e-14)
    np.testing.assert_allclose(loaded.global_importance_values, overall, rtol=1e-14)
    assert loaded.expected_values == [0.2, 0.3, 0.5] and loaded.eval_y_predicted == ["a", "c", "b", "a"]

    # a global-only regression, and a sparse single-row local classification
    _write_sdk_folder(tmp_path / "global", _sdk_metadata(model_type="regression", model_task="regression",
                                                         local=False, num_classes=1, method="pfi"), {
        "features": ("list", [0, 1, 2]),
        "global_importance_values": ("list", [0.5, 0.1, 0.9]),
        "global_importance_rank": ("list", [2, 0, 1]),
    })
    global_only = load_explanation(tmp_path / "global")
    assert global_only.get_ranked_global_names() == [2, 0, 1] and not hasattr(global_only, "local_importance_values")
    single = np.array([[0.0, 1.5], [-2.0, 0.0]])  # per class, the one row
    sparse = [[[1.5], [1], [0, 1], [1, 2]], [[-2.0], [0], [0, 1], [1, 2]]]  # per class: data, indices, indptr, shape
    _write_sdk_folder(tmp_path / "sparse", _sdk_metadata(num_classes=2, is_local_sparse=True, **{"global": False}), {
        "local_importance_values": ("sparse", sparse),
    })
    sparse_loaded = load_explanation(tmp_path / "sparse")
    assert sparse_loaded.features == [0, 1] and sparse_loaded.classes == [0, 1]
    assert sparse_loaded.local_values.shape == (1, 2, 2)
    assert np.array_equal(np.moveaxis(sparse_loaded.local_values, 2, 0)[:, 0, :], single)
    # broken folders are format errors, never crashes
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "explanation_metadata.json").write_text(json.dumps(_sdk_metadata()))
    (tmp_path / "bad" / "local_importance_values.json").write_text(json.dumps({"metadata": "pickle", "data": 1}))
    with pytest.raises(ExplanationFormatError, match="metadata"):
        load_explanation(tmp_path / "bad")


def test_save_creates_parents_and_reloads_bit_identical(classifier, tmp_path):
    explanation = LinearExplainer(classifier, X[::3], features=NAMES, classes=CLASSES).explain_local(X[1::7])
    loaded = Explanation.load(explanation.save(tmp_path / "a" / "b" / "explanation.json"))
    for view in ("local_importance_values", "per_class_values", "global_importance_values", "expected_values",
                 "eval_y_predicted_proba", "eval_y_predicted"):
        assert getattr(loaded, view) == getattr(explanation, view), view  # exact, not approximate
    for method in ("get_ranked_global_names", "get_ranked_global_values", "get_ranked_local_values",
                   "get_ranked_per_class_values"):
        assert getattr(loaded, method)() == getattr(explanation, method)(), method
    assert loaded.is_engineered is False and loaded.equals(explanation)
    folder = save_explanation(explanation, tmp_path / "x" / "folder")
    assert load_explanation(folder).equals(explanation)
    with pytest.raises(ArgumentError, match="already exists"):
        save_explanation(explanation, folder)
    assert load_explanation(save_explanation(explanation, folder, exist_ok=True)).equals(explanation)


def test_integer_names_survive_a_scoring_explainer_and_json_records(regressor, tmp_path):
    from pellucid.scoring import ScoringExplainer
    from pellucid.serve import entry

    scoring = LinearExplainer(regressor, X[:, 1:]).create_scoring_explainer()
    loaded = ScoringExplainer.load(scoring.save(tmp_path / "scoring"))
    assert loaded.features == [0, 1, 2]
    entry.init(tmp_path / "scoring")
    row = X[5, 1:]
    answer = json.loads(entry.run(json.dumps({"data": [{"2": row[2], "0": row[0], "1": row[1]}]})))
    assert answer["features"] == [0, 1, 2]
    np.testing.assert_allclose(answer["predictions"], regressor.predict(row[None]), rtol=1e-12)
