"""Scoring explainers whose transformations were fitted on DataFrames save and load without pickle.

Each scikit-learn transformer a user fits on a DataFrame (and pellucid's DataFrameMapper) goes through
save -> load -> explain, and the loaded explainer must give bit-identical values to the in-memory one, in raw and
in engineered features. A transformer holding something skops cannot store safely is refused with a typed error
naming it, before the folder is created.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from pellucid.errors import UnsafeArtifactError
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.scoring import ScoringExplainer
from pellucid.transformations import DataFrameMapper

pytest.importorskip("skops")


def _double(x):
    """A user's own function: skops cannot store it without pickle (module-level, so pickle can)."""
    return 2.0 * np.asarray(x, dtype=float)


@pytest.fixture(scope="module")
def people():
    rng = np.random.default_rng(3)
    n = 240
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "income": rng.gamma(4.0, 10.0, n),
        "dept": rng.choice(["sales", "r&d", "hr"], n),
        "travel": rng.choice(["rarely", "often"], n),
    })
    frame.loc[rng.choice(n, 12, replace=False), "income"] = np.nan
    score = 0.04 * (frame["age"] - 45) + (frame["dept"] == "sales") * 0.9 - (frame["travel"] == "often") * 0.6
    target = (score + rng.normal(0, 0.4, n) > 0).astype(int)
    return frame, target


def _numeric(frame):
    return frame[["age", "income"]].fillna(frame["income"].median())


def _cases(frame):
    """name -> (fitted transformer, the raw frame it takes)."""
    numerical = frame.columns.difference(["dept", "travel"])  # a pandas Index, as the SDK's notebooks build it
    categorical = frame.columns[frame.dtypes != np.float64]
    notebook = ColumnTransformer([
        ("num", Pipeline([("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]), numerical),
        ("cat", Pipeline([("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical),
    ])
    numeric = _numeric(frame)
    categories = frame[["dept", "travel"]]
    mapper = DataFrameMapper([(["age"], StandardScaler()), (["income"], [SimpleImputer(), StandardScaler()]),
                              (["dept"], OneHotEncoder(sparse_output=False))])
    cases = {
        "column_transformer": (notebook, frame),
        "pipeline": (Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]),
                     frame[["age", "income"]]),
        "simple_imputer": (SimpleImputer(strategy="mean"), frame[["age", "income"]]),
        "standard_scaler": (StandardScaler(), numeric),
        "one_hot_encoder": (OneHotEncoder(sparse_output=False), categories),
        "ordinal_encoder": (OrdinalEncoder(), categories),
        "function_ufunc": (FunctionTransformer(np.log1p, feature_names_out="one-to-one"), numeric),
        "function_clip": (FunctionTransformer(np.clip, kw_args={"a_min": 20.0, "a_max": 60.0},
                                              feature_names_out="one-to-one"), numeric),
        "dataframe_mapper": (mapper, frame[["age", "income", "dept"]]),
    }
    return {name: (transformer.fit(data), data) for name, (transformer, data) in cases.items()}


CASES = ["column_transformer", "pipeline", "simple_imputer", "standard_scaler", "one_hot_encoder", "ordinal_encoder",
         "function_ufunc", "function_clip", "dataframe_mapper"]


@pytest.mark.parametrize("case", CASES)
def test_transformers_fitted_on_frames_round_trip_without_pickle(tmp_path, people, case):
    frame, target = people
    transformer, data = _cases(frame)[case]
    engineered = np.asarray(transformer.transform(data), dtype=float)
    model = LogisticRegression(max_iter=2000).fit(engineered, target)
    explainer = TabularExplainer(model, data.iloc[:150], transformations=transformer)
    scoring = explainer.create_scoring_explainer(data.iloc[:150])
    folder = scoring.save(tmp_path / case)
    assert sorted(p.name for p in folder.iterdir()) == ["arrays.npz", "manifest.json", "transformations.skops"]
    loaded = ScoringExplainer.load(folder)
    rows = data.iloc[150:190]
    assert loaded.default_raw and scoring.default_raw
    for get_raw in (None, True, False):
        assert np.array_equal(loaded.explain_local(rows, get_raw=get_raw).local_values,
                              scoring.explain_local(rows, get_raw=get_raw).local_values)
    raw = loaded.explain_local(rows)
    assert raw.features == [str(c) for c in data.columns] and raw.is_raw
    # the loaded explainer's raw values are the in-memory explainer's, and add up to the model's log-odds
    np.testing.assert_allclose(raw.local_values, explainer.explain_local(rows).local_values, rtol=0, atol=1e-10)
    margin = model.decision_function(np.asarray(transformer.transform(rows), dtype=float))
    np.testing.assert_allclose(raw.local_values[:, :, 1].sum(axis=1) + raw.expected_values_array[1], margin,
                               rtol=0, atol=1e-9)
    assert loaded.predict(rows).tolist() == model.predict(np.asarray(transformer.transform(rows), float)).tolist()


def test_the_users_transformer_keeps_its_pandas_column_selection(tmp_path, people):
    frame, target = people
    transformer, data = _cases(frame)["column_transformer"]
    model = LogisticRegression(max_iter=2000).fit(transformer.transform(data), target)
    LinearExplainer(model, data, transformations=transformer).create_scoring_explainer().save(tmp_path / "s")
    assert isinstance(transformer.transformers[0][2], pd.Index)  # only the stored copy holds lists
    assert isinstance(transformer.transformers_[0][2], pd.Index)


def test_a_function_skops_cannot_store_is_named_before_anything_is_written(tmp_path, people):
    frame, target = people
    numeric = _numeric(frame)
    transformer = ColumnTransformer([
        ("num", Pipeline([("double", FunctionTransformer(_double, feature_names_out="one-to-one")),
                          ("scale", StandardScaler())]), ["age", "income"]),
    ]).fit(numeric)
    model = LogisticRegression(max_iter=2000).fit(transformer.transform(numeric), target)
    scoring = LinearExplainer(model, numeric, transformations=transformer).create_scoring_explainer()
    with pytest.raises(UnsafeArtifactError, match=r"ColumnTransformer > 'num' Pipeline > 'double' FunctionTransformer"
                                                  r".*_double"):
        scoring.save(tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    # the user may store it as a pickle they trust, and load it back only by saying so again
    folder = scoring.save(tmp_path / "pickled", allow_pickle=True)
    assert (folder / "transformations.pkl").is_file()
    with pytest.raises(UnsafeArtifactError):
        ScoringExplainer.load(folder)
    loaded = ScoringExplainer.load(folder, allow_pickle=True)
    assert np.array_equal(loaded.explain_local(numeric.iloc[:5]).local_values,
                          scoring.explain_local(numeric.iloc[:5]).local_values)


def test_a_dataframe_kept_as_state_is_refused_and_a_series_becomes_a_list(people):
    from pellucid.scoring._storable import storable_transformer

    frame, _ = people
    numeric = _numeric(frame)
    keeps_frame = FunctionTransformer(np.clip, kw_args={"a_min": numeric.iloc[:1], "a_max": 60.0}).fit(numeric)
    with pytest.raises(UnsafeArtifactError, match="FunctionTransformer keeps a pandas DataFrame"):
        storable_transformer(keeps_frame)
    mask = pd.Series([True, False], index=["age", "income"])
    selecting = ColumnTransformer([("num", StandardScaler(), mask)]).fit(numeric)
    stored = storable_transformer(selecting)
    assert stored.transformers_[0][2] == [True, False] and isinstance(selecting.transformers_[0][2], pd.Series)
    np.testing.assert_array_equal(stored.transform(numeric), selecting.transform(numeric))
