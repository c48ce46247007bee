"""TreeScoringExplainer: values of TreeExplainer, additivity against the models' own outputs, saving without pickle."""

import json
import os

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, make_classification
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier

from pellucid.explainers import tree
from pellucid.scoring import ScoringExplainer, TreeScoringExplainer, create_scoring_explainer


@pytest.fixture(scope="module")
def binary_data():
    return make_classification(n_samples=600, n_features=8, n_informative=5, random_state=0)


def _round_trip(tmp_path, scoring, name):
    folder = scoring.save(tmp_path / name)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["pickle"] is False
    return ScoringExplainer.load(folder), sorted(os.listdir(folder))


@pytest.mark.parametrize("perturbation", ["tree_path_dependent", "interventional"])
def test_lightgbm_native_format_and_additivity(tmp_path, binary_data, perturbation):
    lightgbm = pytest.importorskip("lightgbm")
    X, y = binary_data
    model = lightgbm.LGBMClassifier(n_estimators=40, verbose=-1, random_state=0).fit(X, y)
    explainer = tree.TreeExplainer(model, X[:80], classes=["no", "yes"], feature_perturbation=perturbation)
    scoring = create_scoring_explainer(explainer)
    assert isinstance(scoring, TreeScoringExplainer) and scoring.output_space == "log_odds"
    rows = X[100:140]
    values = scoring.explain_local(rows)
    assert np.allclose(values.local_values, explainer.explain_local(rows).local_values, rtol=0, atol=1e-12)
    margin = model.predict(rows, raw_score=True)
    assert np.allclose(values.local_values[:, :, 1].sum(axis=1) + values.expected_values_array[1], margin, atol=1e-9)
    assert np.allclose(values.local_values[:, :, 0], -values.local_values[:, :, 1])
    loaded, files = _round_trip(tmp_path, scoring, "lightgbm")
    assert files == ["arrays.npz", "manifest.json", "model.txt"]
    assert np.array_equal(loaded.explain_local(rows).local_values, values.local_values)
    assert loaded.predict(rows).tolist() == np.asarray(["no", "yes"])[model.predict(rows)].tolist()
    assert loaded.allows_missing
    with_missing = rows.copy()
    with_missing[0, 2] = np.nan
    assert np.isfinite(np.asarray(loaded.explain(with_missing))).all()


def test_xgboost_json_format(tmp_path, binary_data):
    xgboost = pytest.importorskip("xgboost")
    X, y = binary_data
    model = xgboost.XGBClassifier(n_estimators=30, max_depth=3).fit(X, y)
    scoring = tree.TreeExplainer(model).create_scoring_explainer()
    loaded, files = _round_trip(tmp_path, scoring, "xgboost")
    assert "model.json" in files
    rows = X[:25]
    assert np.array_equal(np.asarray(loaded.explain(rows)), np.asarray(scoring.explain(rows)))
    values = np.asarray(loaded.explain(rows))  # [classes][rows][features], log-odds
    margin = model.predict(rows, output_margin=True)
    assert np.allclose(values[1].sum(axis=1) + loaded.expected_values[1], margin, atol=1e-4)  # float32 trees
    assert loaded.predict(rows).tolist() == model.predict(rows).tolist()


@pytest.mark.parametrize("perturbation", ["tree_path_dependent", "interventional"])
def test_sklearn_forest_as_arrays_only(tmp_path, binary_data, perturbation):
    X, y = binary_data
    model = RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0).fit(X, y)
    explainer = tree.TreeExplainer(model, X[:60], feature_perturbation=perturbation)
    scoring = explainer.create_scoring_explainer()
    loaded, files = _round_trip(tmp_path, scoring, "forest")
    assert files == ["arrays.npz", "manifest.json"]  # the trees as arrays: no scikit-learn object stored
    rows = X[200:230]
    values = loaded.explain_local(rows)
    assert np.allclose(values.local_values, explainer.explain_local(rows).local_values, rtol=0, atol=1e-12)
    assert np.allclose(values.local_values.sum(axis=1) + values.expected_values_array, model.predict_proba(rows), atol=1e-9)
    assert values.meta["output_space"] == "probability"
    assert loaded.predict(rows).tolist() == model.predict(rows).tolist()


def test_sklearn_boosting_predictions_from_arrays(tmp_path):
    X, y = load_diabetes(return_X_y=True)
    poisson = HistGradientBoostingRegressor(loss="poisson", max_iter=30, random_state=0).fit(X, y)
    loaded, _ = _round_trip(tmp_path, tree.TreeExplainer(poisson).create_scoring_explainer(), "hgb")
    assert loaded.output_space == "margin"
    assert np.allclose(loaded.predict(X[:20]), poisson.predict(X[:20]), rtol=1e-9)  # exp of the margin
    values = np.asarray(loaded.explain(X[:20]))
    assert np.allclose(values.sum(axis=1) + loaded.expected_values[0], np.log(poisson.predict(X[:20])), atol=1e-9)
    Xc, yc = make_classification(n_samples=300, n_features=5, random_state=1)
    boosted = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(Xc, yc)
    scoring = tree.TreeExplainer(boosted).create_scoring_explainer()
    assert not scoring.allows_missing  # GradientBoosting refuses NaN
    loaded, _ = _round_trip(tmp_path, scoring, "gb")
    assert loaded.predict(Xc).tolist() == boosted.predict(Xc).tolist()


def test_path_dependent_notes_unused_rows(binary_data):
    X, y = binary_data
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    scoring = create_scoring_explainer(tree.TreeExplainer(model), X[:10])
    assert any("not used" in note for note in scoring.notes)


def test_engines_agree_and_native_is_the_library_path(tmp_path, binary_data):
    lightgbm = pytest.importorskip("lightgbm")
    X, y = binary_data
    model = lightgbm.LGBMClassifier(n_estimators=25, verbose=-1, random_state=0).fit(X, y)
    explainer = tree.TreeExplainer(model)
    pellucid_engine = TreeScoringExplainer(explainer)
    native = TreeScoringExplainer(explainer, engine="native")
    assert pellucid_engine.ensemble is not None and native.ensemble is None
    rows = X[:30]
    # the native engine is LightGBM's own pred_contrib; TreeExplainer runs pellucid's kernel: equal to rounding
    contributions = model.booster_.predict(rows, pred_contrib=True)[:, :-1]
    assert np.allclose(native.explain_local(rows).local_values[:, :, 1], contributions, rtol=0, atol=1e-12)
    assert np.allclose(native.explain_local(rows).local_values, explainer.explain_local(rows).local_values,
                       rtol=0, atol=1e-12)
    assert np.allclose(pellucid_engine.explain_local(rows).local_values, native.explain_local(rows).local_values,
                       rtol=0, atol=1e-12)
    loaded = ScoringExplainer.load(native.save(tmp_path / "native"))
    assert loaded.ensemble is None
    assert np.allclose(np.asarray(loaded.explain(rows)), np.asarray(native.explain(rows)), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="engine must be one of"):
        TreeScoringExplainer(explainer, engine="gpu")
