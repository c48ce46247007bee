"""Scoring explainers of explainers given transformations: raw rows in, engineered or raw values out, saved safely."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pellucid.errors import DataShapeError, DataValueError, TransformationError
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.scoring import ScoringExplainer, create_scoring_explainer

pytest.importorskip("skops")


@pytest.fixture(scope="module")
def loans():
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "income": rng.normal(50, 15, n),
        "age": rng.integers(18, 80, n),
        "region": rng.choice(["north", "south", "east"], n),
    })
    score = 0.05 * (frame["income"] - 50) - 0.03 * (frame["age"] - 45) + (frame["region"] == "south") * 0.8
    target = (score + rng.normal(0, 0.5, n) > 0).astype(int)
    preprocessing = ColumnTransformer([
        ("num", StandardScaler(), ["income", "age"]),
        ("cat", OneHotEncoder(sparse_output=False), ["region"]),
    ]).fit(frame)
    model = LogisticRegression(max_iter=1000).fit(preprocessing.transform(frame), target)
    return frame, preprocessing, model


def test_raw_rows_in_engineered_and_raw_values_out(loans):
    frame, preprocessing, model = loans
    explainer = LinearExplainer(model, frame, transformations=preprocessing)
    scoring = explainer.create_scoring_explainer()
    assert scoring.input_features == ["income", "age", "region"]
    rows = frame.iloc[:12]
    engineered = scoring.explain_local(rows, get_raw=False)
    assert engineered.features == explainer.features and len(engineered.features) == 5
    assert np.allclose(engineered.local_values, explainer.explain_local(rows, raw=False).local_values, atol=1e-12)
    raw = scoring.explain_local(rows)  # the SDK default with transformations: raw
    assert raw.features == ["income", "age", "region"] and raw.is_raw
    assert np.allclose(raw.local_values, explainer.explain_local(rows, raw=True).local_values, atol=1e-12)
    # additivity in raw features against the model's own log-odds
    margin = model.decision_function(preprocessing.transform(rows))
    assert np.allclose(raw.local_values[:, :, 1].sum(axis=1) + raw.expected_values_array[1], margin, atol=1e-9)
    assert scoring.predict(rows).tolist() == model.predict(preprocessing.transform(rows)).tolist()
    # the SDK layout, raw: [classes][rows][raw features]
    assert np.asarray(scoring.explain(rows, get_raw=True)).shape == (2, 12, 3)


def test_records_lists_and_bad_raw_rows(loans):
    frame, preprocessing, model = loans
    scoring = LinearExplainer(model, frame, transformations=preprocessing).create_scoring_explainer()
    rows = frame.iloc[:3]
    expected = np.asarray(scoring.explain(rows, get_raw=True))
    records = [{"region": r.region, "age": int(r.age), "income": float(r.income)} for r in rows.itertuples()]
    assert np.allclose(np.asarray(scoring.explain(records, get_raw=True)), expected, atol=1e-12)
    lists = [[float(r.income), int(r.age), r.region] for r in rows.itertuples()]
    assert np.allclose(np.asarray(scoring.explain(lists, get_raw=True)), expected, atol=1e-12)
    with pytest.raises(DataValueError, match="raw column 'age' holds numbers; found 'old'"):
        scoring.explain([[50.0, "old", "north"]])
    with pytest.raises(DataShapeError, match="unknown names \\['colour'\\]"):
        scoring.explain([{"income": 1.0, "age": 30, "colour": "north"}])
    with pytest.raises(TransformationError, match="could not transform"):
        scoring.explain([[50.0, 30, "west"]])  # a category the encoder never saw


def test_round_trip_keeps_the_transformations(tmp_path, loans):
    frame, preprocessing, model = loans
    scoring = LinearExplainer(model, frame, transformations=preprocessing).create_scoring_explainer(frame.iloc[:100])
    folder = scoring.save(tmp_path / "with_transformations")
    assert (folder / "transformations.skops").is_file()
    loaded = ScoringExplainer.load(folder)
    rows = frame.iloc[100:130]
    for get_raw in (False, True):
        assert np.array_equal(np.asarray(loaded.explain(rows, get_raw=get_raw)),
                              np.asarray(scoring.explain(rows, get_raw=get_raw)))
    assert loaded.input_features == ["income", "age", "region"]
    assert loaded.raw_inputs.feature_map.groups() == scoring.raw_inputs.feature_map.groups()
    # the reference mean came from the 100 raw rows given, transformed
    assert np.allclose(loaded.mean, preprocessing.transform(frame.iloc[:100]).mean(axis=0))


def test_split_pipeline_reports_raw_columns_by_default(tmp_path, loans):
    frame, preprocessing, model = loans
    pipeline = Pipeline([("prep", preprocessing), ("model", model)])
    tabular = TabularExplainer(pipeline, frame)
    scoring = create_scoring_explainer(tabular)
    assert scoring.default_raw and scoring.kind == "linear"
    rows = frame.iloc[:7]
    values = scoring.explain_local(rows)
    assert values.features == ["income", "age", "region"]
    assert np.allclose(values.local_values, tabular.explain_local(rows).local_values, atol=1e-12)
    loaded = ScoringExplainer.load(scoring.save(tmp_path / "pipeline"))
    assert loaded.default_raw and np.array_equal(np.asarray(loaded.explain(rows)), np.asarray(scoring.explain(rows)))
