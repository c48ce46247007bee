"""Rows carrying column names are matched to the explainer's features by name, never by position (issue 16.2).

Each case explains the same rows twice, once with the columns in training order and once shuffled; the values
must be identical (the explanation lists features in the explainer's order either way). Unknown or missing
names raise a DataShapeError naming them; numpy rows keep their positional meaning.
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge

from pellucid.cli import main
from pellucid.data import align_columns, as_dataset
from pellucid.errors import DataShapeError
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explainers.tree import TreeExplainer
from pellucid.explanation import Explanation
from pellucid.model import model_feature_names

COLUMNS = ["age", "income", "debt", "score"]
SHUFFLED = ["score", "debt", "age", "income"]
SCALE = np.array([1.0, 10.0, 100.0, 1000.0])  # very different scales: a positional mix-up shows at once


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(300, 4)) * SCALE, columns=COLUMNS)
    y = X.age + 0.2 * X.income - 0.03 * X.debt + 0.001 * X.score + rng.normal(scale=0.1, size=300)
    return X, y


def _same(explainer, X):
    ordered = explainer.explain_local(X.iloc[:25])
    shuffled = explainer.explain_local(X[SHUFFLED].iloc[:25])
    assert shuffled.features == ordered.features
    np.testing.assert_allclose(shuffled.local_values, ordered.local_values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(shuffled.eval_data, ordered.eval_data)
    # the values are not trivially equal: a positional reading of the shuffled rows gives other values
    positional = explainer.explain_local(X[SHUFFLED].iloc[:25].to_numpy())
    assert np.abs(positional.local_values - ordered.local_values).max() > 1e-3
    return ordered


def _refuses_unknown(explainer, X):
    with pytest.raises(DataShapeError, match=r"missing columns \['age'\] and unexpected columns \['AGE'\]"):
        explainer.explain_local(X.rename(columns={"age": "AGE"}).iloc[:5])
    with pytest.raises(DataShapeError, match=r"missing columns \['score'\]"):
        explainer.explain_local(X.drop(columns="score").assign(extra=1.0).iloc[:5])


def test_lightgbm_tree_matches_columns_by_name(data):
    X, y = data
    explainer = TreeExplainer(lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(X, y), X)
    _same(explainer, X)
    _refuses_unknown(explainer, X)


def test_lightgbm_booster_names_are_used_without_a_dataframe_background(data):
    X, y = data
    model = lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(X, y)
    assert model_feature_names(model.booster_) == COLUMNS
    for explainer in (TreeExplainer(model.booster_), TreeExplainer(model, X.to_numpy())):
        assert explainer.column_names == COLUMNS
        _same(explainer, X)
        _refuses_unknown(explainer, X)


def test_linear_matches_columns_by_name(data):
    X, y = data
    explainer = LinearExplainer(Ridge().fit(X, y), X)
    ordered = _same(explainer, X)
    coef = Ridge().fit(X, y).coef_
    np.testing.assert_allclose(ordered.local_values[:, :, 0], (X.iloc[:25] - X.mean()).to_numpy() * coef, atol=1e-8)
    _refuses_unknown(explainer, X)


def test_a_background_in_another_order_than_the_model_is_reordered(data):
    X, y = data
    model = Ridge().fit(X, y)
    explainer = LinearExplainer(model, X[SHUFFLED])
    assert explainer.features == COLUMNS
    explanation = explainer.explain_local(X.iloc[:10])
    np.testing.assert_allclose(explanation.local_values[:, :, 0], (X.iloc[:10] - X.mean()).to_numpy() * model.coef_,
                               atol=1e-8)


def test_kernel_matches_columns_by_name(data):
    X, y = data
    model = LogisticRegression(max_iter=1000).fit(X, y > y.median())
    explainer = KernelExplainer(model, X.iloc[:40], nsamples=40, nclusters=5, seed=3)
    _same(explainer, X)
    _refuses_unknown(explainer, X)


def test_tabular_matches_columns_by_name_in_local_and_batched_global(data):
    X, y = data
    explainer = TabularExplainer(RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X, y), X)
    _same(explainer, X)
    _refuses_unknown(explainer, X)
    ordered = explainer.explain_global(X.iloc[:60], batch_size=16)
    shuffled = explainer.explain_global(X[SHUFFLED].iloc[:60], batch_size=16)
    np.testing.assert_allclose(shuffled.local_values, ordered.local_values, rtol=0, atol=1e-12)
    assert shuffled.get_ranked_global_names() == ordered.get_ranked_global_names()


@pytest.mark.parametrize("kind", ["linear", "tree"])
def test_scoring_explainers_match_columns_by_name(data, kind):
    X, y = data
    model = Ridge().fit(X, y) if kind == "linear" else lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(X, y)
    explainer = (LinearExplainer if kind == "linear" else TreeExplainer)(model, X)
    scoring = explainer.create_scoring_explainer(X)
    ordered = np.asarray(scoring.explain(X.iloc[:20]))
    np.testing.assert_allclose(np.asarray(scoring.explain(X[SHUFFLED].iloc[:20])), ordered, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ordered, explainer.explain_local(X.iloc[:20]).local_values[:, :, 0], atol=1e-9)
    with pytest.raises(DataShapeError, match=r"unknown feature names \['AGE'\] and missing feature names \['age'\]"):
        scoring.explain(X.rename(columns={"age": "AGE"}).iloc[:5])


def test_numpy_rows_and_unnamed_frames_keep_positional_meaning(data):
    X, y = data
    explainer = LinearExplainer(Ridge().fit(X, y), X)
    by_array = explainer.explain_local(X.iloc[:5].to_numpy())
    by_unnamed = explainer.explain_local(pd.DataFrame(X.iloc[:5].to_numpy()))
    np.testing.assert_array_equal(by_array.local_values, explainer.explain_local(X.iloc[:5]).local_values)
    np.testing.assert_array_equal(by_unnamed.local_values, by_array.local_values)


def test_align_columns_permutes_values_names_and_dtypes():
    frame = pd.DataFrame({"b": [1, 2], "a": [0.5, 1.5], "c": ["x", "y"]})
    aligned = align_columns(as_dataset(frame), ["a", "b", "c"])
    assert aligned.columns == ["a", "b", "c"] and aligned.feature_names == ["a", "b", "c"]
    assert aligned.values.tolist() == [[0.5, 1, "x"], [1.5, 2, "y"]]
    frame_back = aligned.to_model_input()
    assert list(frame_back.columns) == ["a", "b", "c"] and frame_back["c"].tolist() == ["x", "y"]
    assert frame_back["b"].tolist() == [1.0, 2.0] and frame_back["a"].tolist() == [0.5, 1.5]
    with pytest.raises(DataShapeError, match=r"duplicated columns \['a'\]"):
        align_columns(as_dataset(pd.DataFrame([[1, 2, 3]], columns=["a", "a", "b"])), ["a", "b", "c"])


def test_cli_explains_a_reordered_csv_by_name(tmp_path, data, capsys):
    X, y = data
    booster = lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(X, y).booster_
    model_file = tmp_path / "model.txt"
    booster.save_model(str(model_file))
    results = {}
    for name, columns in (("ordered", COLUMNS), ("shuffled", SHUFFLED)):
        csv, out = tmp_path / f"{name}.csv", tmp_path / f"{name}.json"
        X.iloc[:40][columns].to_csv(csv, index=False)
        assert main(["explain", "--model", str(model_file), "--data", str(csv), "--out", str(out)]) == 0
        results[name] = Explanation.load(out)
    assert results["shuffled"].features == COLUMNS
    np.testing.assert_allclose(results["shuffled"].local_values, results["ordered"].local_values, rtol=0, atol=1e-12)
    total = results["shuffled"].local_values[:, :, 0].sum(axis=1) + results["shuffled"].expected_values_array[0]
    np.testing.assert_allclose(total, booster.predict(X.iloc[:40]), atol=1e-6)
    bad = tmp_path / "bad.csv"
    X.iloc[:5].rename(columns={"age": "AGE"}).to_csv(bad, index=False)
    assert main(["explain", "--model", str(model_file), "--data", str(bad), "--out", str(tmp_path / "x.json")]) == 2
    err = capsys.readouterr().err
    assert "'age'" in err and "AGE" in err  # the missing column and the columns found are named


def test_lightgbm_sanitised_names_still_match_the_frame(data):
    X, y = data
    spaced = X.rename(columns=lambda c: f"the {c}")  # LightGBM stores "the age" as "the_age"
    booster = lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(spaced, y).booster_
    assert model_feature_names(booster) == [f"the_{c}" for c in COLUMNS]
    explainer = TreeExplainer(booster)
    ordered = explainer.explain_local(spaced.iloc[:10])
    assert ordered.features == list(spaced.columns)
    shuffled = explainer.explain_local(spaced[[f"the {c}" for c in SHUFFLED]].iloc[:10])
    assert shuffled.features == list(spaced.columns)
    np.testing.assert_allclose(shuffled.local_values, ordered.local_values, rtol=0, atol=1e-12)
    with pytest.raises(DataShapeError, match="unexpected columns"):
        explainer.explain_local(X.iloc[:3])
