"""Raw explanations through feature transformations (pellucid.transformations and BaseExplainer's wiring).

Oracles: hand-derived raw <- engineered groups from scikit-learn's documented output names; the sum of an
encoded column's engineered values selected by name; the additivity identity in raw space; exact
interventional Shapley values of the whole raw pipeline, enumerated over every coalition of raw columns.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    KBinsDiscretizer,
    OneHotEncoder,
    PolynomialFeatures,
    SplineTransformer,
    StandardScaler,
)

from pellucid.errors import ArgumentError, DataShapeError, TransformationError, UnsupportedInputError
from pellucid.explainers.base import BaseExplainer, LocalResult
from pellucid.explanation import CLASSIFICATION, REGRESSION, Explanation
from pellucid.transformations import (
    DataFrameMapper,
    FeatureMap,
    get_feature_map,
    raw_explanation,
    split_pipeline,
)

RAW_COLUMNS = ["a", "b", "c", "d", "e", "t"]
TEXTS = ["red apple", "green pear", "apple pie", "blue sky"]


# ---------------------------------------------------------------------- data, model and a tiny exact explainer
def make_frame(n_rows: int = 120, seed: int = 0) -> pd.DataFrame:
    """Numeric columns with missing values, an integer column, string columns (one with missing values), text."""
    rng = np.random.default_rng(seed)
    colours = np.array(["x"] * 6 + ["y"] * 3 + ["z"] * 2 + ["w"] * 1, dtype=object)
    frame = pd.DataFrame({
        "a": rng.normal(size=n_rows),
        "b": rng.normal(size=n_rows) * 3 + 1,
        "c": colours[rng.permutation(np.arange(n_rows) % len(colours))],
        "d": np.where(rng.random(n_rows) < 0.5, "p", "q").astype(object),
        "e": rng.integers(0, 5, n_rows),
        "t": np.asarray(TEXTS, dtype=object)[np.arange(n_rows) % len(TEXTS)],
    })
    frame.loc[np.arange(3, n_rows, 9), "a"] = np.nan
    frame.loc[np.arange(5, n_rows, 13), "c"] = np.nan
    return frame


def make_target(frame: pd.DataFrame) -> np.ndarray:
    score = frame["a"].fillna(0) - 0.3 * frame["b"] + (frame["c"] == "x") - 0.5 * (frame["d"] == "q") + 0.2 * frame["e"]
    return (score > score.median()).to_numpy().astype(int)


class ExactLinearExplainer(BaseExplainer):
    """Exact SHAP values of a linear model with independent features: coef * (x - background mean).

    A classifier is explained in log-odds: class 1 gets the margin's values, class 0 their negation.
    """

    method = "test_exact_linear"

    def __init__(self, model, initialization_examples=None, features=None, classes=None, transformations=None,
                 **options):
        super().__init__(model, initialization_examples, features, classes, transformations, **options)
        self.output_space = "log_odds" if hasattr(model, "predict_proba") else "raw"
        self._mean = self.background.row_weights() @ self.background.values

    @classmethod
    def supports(cls, model):
        return hasattr(model, "coef_")

    def _task_and_classes(self):
        if hasattr(self.model, "predict_proba"):
            return CLASSIFICATION, self.classes or list(self.model.classes_)
        return REGRESSION, None

    def _explain_rows(self, rows):
        coef = np.ravel(self.model.coef_)
        contributions = coef * (rows.values - self._mean)
        base = float(np.ravel(self.model.intercept_)[0] + coef @ self._mean)
        if hasattr(self.model, "predict_proba"):
            margin = np.ravel(self.model.decision_function(rows.to_model_input()))
            return LocalResult(
                values=np.stack([-contributions, contributions], axis=2),
                expected_values=np.array([-base, base]),
                model_output=np.column_stack([-margin, margin]),
            )
        prediction = np.ravel(self.model.predict(rows.to_model_input()))
        return LocalResult(contributions[:, :, None], np.array([base]), prediction[:, None])


def exact_raw_shapley(predict, background: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Interventional Shapley values over raw columns by enumerating every coalition (independent oracle).

    v(S) = mean over background rows z of predict(x_S, z_rest); returns (n_rows, n_columns).
    """
    columns = list(rows.columns)
    n_columns = len(columns)
    masks = np.array(list(itertools.product([False, True], repeat=n_columns)))
    x = rows.to_numpy(dtype=object)
    z = background.to_numpy(dtype=object)
    hybrid = np.where(masks[None, :, None, :], x[:, None, None, :], z[None, None, :, :])
    frame = pd.DataFrame(hybrid.reshape(-1, n_columns), columns=columns).astype(rows.dtypes.to_dict())
    values = np.asarray(predict(frame)).reshape(len(x), len(masks), len(z)).mean(axis=2)
    index = {tuple(m): i for i, m in enumerate(masks)}
    shapley = np.zeros((len(x), n_columns))
    for mask in masks:
        size = int(mask.sum())
        for j in np.flatnonzero(~mask):
            weight = math.factorial(size) * math.factorial(n_columns - size - 1) / math.factorial(n_columns)
            with_j = mask.copy()
            with_j[j] = True
            shapley[:, j] += weight * (values[:, index[tuple(with_j)]] - values[:, index[tuple(mask)]])
    return shapley


def fit_quietly(estimator, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return estimator.fit(*args)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


def numeric_categorical_text_ct() -> ColumnTransformer:
    """Imputer+scaler (with missing-value indicator) on two numeric columns, one-hot with drop='first' on two
    string columns, TF-IDF on the text column, KBins (ordinal) on the integer column."""
    return ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), ["a", "b"]),
        ("cat", OneHotEncoder(drop="first", handle_unknown="ignore", sparse_output=False), ["c", "d"]),
        ("txt", TfidfVectorizer(), "t"),
        ("bins", KBinsDiscretizer(n_bins=3, encode="ordinal"), ["e"]),
    ])


# ---------------------------------------------------------------------- one map per kind of transformation
GROUP_CASES = {
    "imputer_scaler_onehot_drop_first_text_kbins_ordinal": (
        numeric_categorical_text_ct,
        {
            "a": ["num__a", "num__missingindicator_a"],
            "b": ["num__b"],
            "c": ["cat__c_x", "cat__c_y", "cat__c_z", "cat__c_nan"],
            "d": ["cat__d_q"],
            "e": ["bins__e"],
            "t": ["txt__apple", "txt__blue", "txt__green", "txt__pear", "txt__pie", "txt__red", "txt__sky"],
        },
    ),
    "onehot_min_frequency_infrequent_if_exist_remainder_drop": (
        lambda: ColumnTransformer([
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(min_frequency=0.12, handle_unknown="infrequent_if_exist")),
             ["c", "d"]),
        ], remainder="drop"),
        {
            "a": [], "b": [],
            "c": ["cat__c_x", "cat__c_y", "cat__c_z", "cat__c_infrequent_sklearn"],
            "d": ["cat__d_p", "cat__d_q"],
            "e": [], "t": [],
        },
    ),
    "kbins_onehot_of_two_columns_remainder_passthrough": (
        lambda: ColumnTransformer([
            ("kb", make_pipeline(SimpleImputer(), KBinsDiscretizer(n_bins=3, encode="onehot")), ["a", "b"]),
        ], remainder="passthrough"),
        {
            "a": ["kb__a_0.0", "kb__a_1.0", "kb__a_2.0"],
            "b": ["kb__b_0.0", "kb__b_1.0", "kb__b_2.0"],
            "c": ["remainder__c"], "d": ["remainder__d"], "e": ["remainder__e"], "t": ["remainder__t"],
        },
    ),
    "spline_of_two_columns_polynomial_of_one_count_vectoriser": (
        lambda: ColumnTransformer([
            ("sp", make_pipeline(SimpleImputer(), SplineTransformer(n_knots=3, degree=2)), ["a", "b"]),
            ("poly", PolynomialFeatures(degree=3), ["e"]),
            ("words", CountVectorizer(), "t"),
        ]),
        {
            "a": [f"sp__a_sp_{i}" for i in range(4)],
            "b": [f"sp__b_sp_{i}" for i in range(4)],
            "c": [], "d": [],
            "e": ["poly__1", "poly__e", "poly__e^2", "poly__e^3"],
            "t": ["words__apple", "words__blue", "words__green", "words__pear", "words__pie", "words__red",
                  "words__sky"],
        },
    ),
}


@pytest.mark.parametrize("case", sorted(GROUP_CASES))
def test_column_transformer_maps_each_engineered_column_to_its_raw_column(frame, case):
    build, expected = GROUP_CASES[case]
    ct = fit_quietly(build(), frame)
    fmap = get_feature_map(ct, frame)
    assert fmap.raw_features == RAW_COLUMNS
    assert fmap.engineered_features == list(ct.get_feature_names_out())
    assert fmap.groups() == expected
    np.testing.assert_allclose(np.asarray(fmap.weights.sum(axis=0)).ravel(), 1.0)


def test_category_missing_from_the_background_is_attributed_by_its_name(frame):
    # one encoder over two columns, probed on rows where 'w' never occurs: its column cannot be seen changing
    ct = fit_quietly(ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["d", "c"])]), frame)
    background = frame[frame["c"] != "w"]
    fmap = get_feature_map(ct, background)
    assert fmap.groups()["c"] == ["cat__c_w", "cat__c_x", "cat__c_y", "cat__c_z", "cat__c_nan"]
    assert fmap.groups()["d"] == ["cat__d_p", "cat__d_q"]


def test_mapper_list_forms_and_pipeline_after_column_transformer(frame):
    features = [
        (["a", "b"], [SimpleImputer(), StandardScaler()]),
        ("d", None),
        (["c"], OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ("t", TfidfVectorizer(), {"alias": "text"}),
        (["e"], PolynomialFeatures(2)),
    ]
    mapper = DataFrameMapper(features)
    engineered = mapper.fit_transform(frame)
    fmap = get_feature_map(features, frame)  # the list itself: its transformers were fitted in place
    assert fmap.n_engineered == engineered.shape[1] == len(mapper.transformed_names_)
    groups = fmap.groups()
    assert groups["a"] == ["a"] and groups["b"] == ["b"] and groups["d"] == ["d"]
    assert groups["c"] == ["c_w", "c_x", "c_y", "c_z", "c_nan"]
    assert groups["t"] == ["text_apple", "text_blue", "text_green", "text_pear", "text_pie", "text_red", "text_sky"]
    assert groups["e"] == ["e_1", "e", "e^2"]
    # a Pipeline of a ColumnTransformer and a scaler: the maps of its steps are composed
    ct = ColumnTransformer([("num", SimpleImputer(), ["a", "b"]),
                            ("cat", OneHotEncoder(sparse_output=False), ["d"])])
    prep = fit_quietly(make_pipeline(ct, StandardScaler()), frame)
    composed = get_feature_map(prep, frame).groups()
    assert composed == {"a": ["num__a"], "b": ["num__b"], "c": [], "d": ["cat__d_p", "cat__d_q"], "e": [], "t": []}


def test_many_to_one_transformation_raises_naming_the_columns(frame):
    ct = fit_quietly(ColumnTransformer([
        ("pca", make_pipeline(SimpleImputer(), PCA(n_components=2)), ["a", "b", "e"]),
        ("cat", OneHotEncoder(), ["d"]),
    ]), frame)
    with pytest.raises(TransformationError) as caught:
        get_feature_map(ct, frame)
    message = str(caught.value)
    assert "PCA" in message and "['a', 'b', 'e']" in message and "'pca0'" in message
    assert "allow_all_transformations=True" in message
    # the explainers raise the same error when built
    model = fit_quietly(LogisticRegression(), ct.transform(frame), make_target(frame))
    with pytest.raises(TransformationError, match=r"\['a', 'b', 'e'\]"):
        ExactLinearExplainer(model, frame, transformations=ct)


def test_unfitted_or_unknown_transformations_are_rejected(frame):
    with pytest.raises(TransformationError, match="not fitted"):
        get_feature_map([(["a"], StandardScaler())], frame)
    with pytest.raises(TransformationError, match="not fitted"):
        get_feature_map(ColumnTransformer([("num", StandardScaler(), ["a"])]), frame)
    with pytest.raises(UnsupportedInputError, match="transformations must be"):
        get_feature_map({"a": StandardScaler()}, frame)
    with pytest.raises(TransformationError, match="non-negative"):
        FeatureMap.from_matrix(np.array([[1.0, -1.0], [0.0, 2.0]]))


# ---------------------------------------------------------------------- explainers with transformations
@pytest.fixture(scope="module")
def fitted(frame):
    ct = fit_quietly(numeric_categorical_text_ct(), frame)
    model = fit_quietly(LogisticRegression(max_iter=1000), ct.transform(frame), make_target(frame))
    return ct, model


def test_raw_explanation_sums_engineered_values_and_keeps_additivity(frame, fitted):
    ct, model = fitted
    explainer = ExactLinearExplainer(model, frame.iloc[:60], transformations=ct)
    rows = frame.iloc[60:80]
    engineered = explainer.explain_local(rows, raw=False)
    raw = explainer.explain_local(rows)  # the SDK default with transformations
    assert engineered.features == list(ct.get_feature_names_out()) and not engineered.is_raw
    assert raw.is_raw and raw.features == RAW_COLUMNS
    assert raw.local_values.shape == (20, len(RAW_COLUMNS), 2)
    # the one-hot encoded column 'c': the sum of its engineered columns, picked by name
    c_columns = [i for i, name in enumerate(engineered.features) if name.startswith("cat__c_")]
    np.testing.assert_allclose(raw.local_values[:, 2, :], engineered.local_values[:, c_columns, :].sum(axis=1))
    # additivity in raw space: raw values + expected value = model output (the margin), per row and class
    np.testing.assert_allclose(raw.local_values.sum(axis=1), engineered.local_values.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(raw.local_values.sum(axis=1) + raw.expected_values_array, raw.model_output, atol=1e-9)
    np.testing.assert_array_equal(raw.expected_values_array, engineered.expected_values_array)
    # raw eval_data are the raw rows, strings and missing values included
    assert raw.eval_data.shape == (20, 6) and raw.eval_data[0, 5] == rows.iloc[0]["t"]
    assert raw.meta["raw_mapping"]["engineered_features"]["d"] == ["cat__d_q"]
    assert "feature_map" in engineered.meta and "feature_map" not in raw.meta
    assert raw.meta["transformations"] == {"kind": "column_transformer", "allow_all_transformations": False,
                                           "probe_rows": 60}


def test_raw_values_equal_exact_shapley_values_of_the_raw_pipeline(frame, fitted):
    ct, model = fitted
    background, rows = frame.iloc[:30], frame.iloc[90:94]
    raw = ExactLinearExplainer(model, background, transformations=ct).explain_local(rows, raw=True)
    expected = exact_raw_shapley(lambda x: model.decision_function(ct.transform(x)), background, rows)
    np.testing.assert_allclose(raw.local_values[:, :, 1], expected, atol=1e-9)
    np.testing.assert_allclose(raw.local_values[:, :, 0], -expected, atol=1e-9)


def classic_sdk_example(frame):
    """The old SDK's documentation example: imputed and scaled numbers, one-hot categories, a DataFrameMapper."""
    numerical, categorical = ["a", "b", "e"], ["c", "d"]
    x_train = frame[numerical + categorical]
    numeric_transformations = [
        ([f], Pipeline(steps=[("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]))
        for f in numerical
    ]
    categorical_transformations = [([f], OneHotEncoder(handle_unknown="ignore", sparse_output=False)) for f in categorical]
    transformations = numeric_transformations + categorical_transformations
    clf = Pipeline(steps=[("preprocessor", DataFrameMapper(transformations)),
                          ("classifier", LogisticRegression(solver="lbfgs"))])
    clf.fit(x_train, make_target(frame))
    return numerical, categorical, x_train, transformations, clf


def test_classic_sdk_example_with_pellucid_dataframe_mapper(frame):
    numerical, categorical, x_train, transformations, clf = classic_sdk_example(frame)
    explainer = ExactLinearExplainer(clf.steps[-1][1], initialization_examples=x_train,
                                     features=list(x_train.columns), classes=["low", "high"],
                                     transformations=transformations)
    global_raw = explainer.explain_global(x_train.iloc[:40])
    assert global_raw.features == numerical + categorical and global_raw.classes == ["low", "high"]
    assert set(global_raw.get_feature_importance_dict()) == set(numerical + categorical)
    expected = exact_raw_shapley(lambda x: clf.decision_function(x), x_train, x_train.iloc[:5])
    np.testing.assert_allclose(global_raw.local_values[:5, :, 1], expected, atol=1e-9)
    engineered = explainer.explain_global(x_train.iloc[:40], raw=False)
    assert engineered.features == clf.steps[0][1].transformed_names_


def test_classic_sdk_example_with_sklearn_pandas(frame, monkeypatch):
    import sklearn.utils

    # sklearn-pandas 2.2 imports sklearn.utils.tosequence, removed from current scikit-learn: restore the
    # trivial helper for the duration of this test only, so the real DataFrameMapper can be exercised.
    monkeypatch.setattr(sklearn.utils, "tosequence", lambda x: x if isinstance(x, (list, tuple)) else list(x),
                        raising=False)
    sklearn_pandas = pytest.importorskip("sklearn_pandas")
    numerical, categorical = ["a", "b"], ["c", "d"]
    x_train = frame[numerical + categorical]
    transformations = [
        ([f], Pipeline(steps=[("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]))
        for f in numerical
    ] + [([f], OneHotEncoder(handle_unknown="ignore", sparse_output=False)) for f in categorical]
    clf = Pipeline(steps=[("preprocessor", sklearn_pandas.DataFrameMapper(transformations)),
                          ("classifier", LogisticRegression(solver="lbfgs"))])
    clf.fit(x_train, make_target(frame))
    for given in (transformations, clf.steps[0][1]):  # the list, and the fitted sklearn-pandas mapper
        explainer = ExactLinearExplainer(clf.steps[-1][1], initialization_examples=x_train,
                                         features=numerical + categorical, classes=[0, 1], transformations=given)
        raw = explainer.explain_local(x_train.iloc[:6], raw=True)
        expected = exact_raw_shapley(lambda x: clf.decision_function(x), x_train, x_train.iloc[:6])
        np.testing.assert_allclose(raw.local_values[:, :, 1], expected, atol=1e-9)
    assert explainer.features == clf.steps[0][1].transformed_names_


def test_split_pipeline_explains_the_final_estimator_in_raw_features(frame):
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["a", "b", "e"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["c", "d"]),
    ])
    pipeline = fit_quietly(Pipeline([("prep", prep), ("model", LogisticRegression())]), frame, make_target(frame))
    transformations, estimator = split_pipeline(pipeline)
    assert transformations is pipeline.steps[0][1] and estimator is pipeline.steps[-1][1]
    raw = ExactLinearExplainer(estimator, frame.iloc[:25], transformations=transformations).explain_local(
        frame.iloc[40:43], raw=True
    )
    expected = exact_raw_shapley(lambda x: pipeline.decision_function(x), frame.iloc[:25], frame.iloc[40:43])
    np.testing.assert_allclose(raw.local_values[:, :, 1], expected, atol=1e-9)
    assert np.allclose(raw.local_values[:, RAW_COLUMNS.index("t"), :], 0.0)  # 't' feeds nothing
    three_steps = fit_quietly(make_pipeline(SimpleImputer(), StandardScaler(), Ridge()),
                              frame[["a", "b"]], frame["e"])
    prep_steps, ridge = split_pipeline(three_steps)
    assert isinstance(prep_steps, Pipeline) and len(prep_steps.steps) == 2 and ridge is three_steps.steps[-1][1]
    with pytest.raises(ArgumentError, match="sklearn Pipeline"):
        split_pipeline(ridge)
    with pytest.raises(TransformationError, match="not a model"):
        split_pipeline(fit_quietly(make_pipeline(SimpleImputer(), StandardScaler()), frame[["a"]]))
    # passing the whole pipeline as the model with its transformations is caught
    with pytest.raises(ArgumentError, match="final estimator"):
        ExactLinearExplainer(pipeline, frame, transformations=pipeline.steps[0][1])


def test_allow_all_transformations_shares_mixed_outputs_equally_and_says_so(frame):
    ct = fit_quietly(ColumnTransformer([
        ("pca", make_pipeline(SimpleImputer(), PCA(n_components=2)), ["a", "b", "e"]),
        ("cat", OneHotEncoder(sparse_output=False), ["d"]),
    ]), frame)
    target = make_target(frame)
    model = fit_quietly(Ridge(), ct.transform(frame), target.astype(float))
    explainer = ExactLinearExplainer(model, frame.iloc[:50], transformations=ct, allow_all_transformations=True)
    engineered = explainer.explain_local(frame.iloc[50:60], raw=False)
    raw = explainer.explain_local(frame.iloc[50:60])
    pca_share = engineered.local_values[:, :2, 0].sum(axis=1) / 3.0
    for column in ("a", "b", "e"):
        np.testing.assert_allclose(raw.local_values[:, RAW_COLUMNS.index(column), 0], pca_share)
    np.testing.assert_allclose(raw.local_values[:, RAW_COLUMNS.index("d"), 0], engineered.local_values[:, 2:, 0].sum(axis=1))
    np.testing.assert_allclose(raw.local_values.sum(axis=1) + raw.expected_values_array, raw.model_output, atol=1e-9)
    assert raw.meta["raw_mapping"]["allow_all_transformations"] is True
    assert raw.meta["transformations"]["allow_all_transformations"] is True
    assert any("shared equally" in note and "'pca0'" in note for note in raw.meta["notes"])


def test_global_views_in_raw_space(frame, fitted):
    ct, model = fitted
    explainer = ExactLinearExplainer(model, frame.iloc[:40], transformations=ct)
    with_local = explainer.explain_global()  # default: the raw background
    assert with_local.n_rows == 40 and with_local.eval_data.shape == (40, 6)
    global_only = explainer.explain_global(frame.iloc[:40], include_local=False)
    np.testing.assert_allclose(global_only.global_values, np.abs(with_local.local_values).mean(axis=0))
    # a global-only engineered explanation maps its global values: sums (an upper bound), with a note
    engineered = explainer.explain_global(frame.iloc[:40], include_local=False, raw=False)
    mapped = raw_explanation(engineered, get_feature_map(ct, frame.iloc[:40]), RAW_COLUMNS)
    c_columns = [i for i, name in enumerate(engineered.features) if name.startswith("cat__c_")]
    np.testing.assert_allclose(mapped.global_values[2], engineered.global_values[c_columns].sum(axis=0))
    assert np.all(mapped.global_values >= global_only.global_values - 1e-12)
    assert any("upper bound" in note for note in mapped.meta["notes"])


def test_explanation_methods_get_raw_explanation_and_importances(frame, fitted):
    ct, model = fitted
    explainer = ExactLinearExplainer(model, frame.iloc[:30], transformations=ct)
    engineered = explainer.explain_local(frame.iloc[30:35], raw=False)
    expected = explainer.explain_local(frame.iloc[30:35], raw=True).local_values
    np.testing.assert_allclose(engineered.get_raw_explanation().local_values, expected)  # map from meta
    matrix = get_feature_map(ct, frame.iloc[:30]).weights
    for maps in (matrix, matrix.toarray(), [matrix]):
        mapped = engineered.get_raw_explanation(maps, raw_feature_names=RAW_COLUMNS)
        np.testing.assert_allclose(mapped.local_values, expected)
        assert mapped.features == RAW_COLUMNS
    # the SDK layout: [classes][rows][raw features]
    importances = np.asarray(engineered.get_raw_feature_importances([matrix]))
    np.testing.assert_allclose(importances, np.moveaxis(expected, 2, 0))
    # chained maps of two successive transformations: (6 x 3) then (3 x n_engineered) compose
    first = np.zeros((6, 3))
    first[[0, 1, 2, 3, 4, 5], [0, 0, 1, 1, 2, 2]] = 1.0
    chained = engineered.get_raw_explanation([first.T, matrix], raw_feature_names=["ab", "cd", "et"])
    np.testing.assert_allclose(chained.local_values[:, 0], expected[:, 0] + expected[:, 1])
    with pytest.raises(TransformationError, match="engineered features"):
        engineered.get_raw_explanation(np.eye(3))
    with pytest.raises(ArgumentError, match="already in raw"):
        engineered.get_raw_explanation().get_raw_explanation()


def test_raw_explanation_round_trips_through_json(frame, fitted):
    ct, model = fitted
    raw = ExactLinearExplainer(model, frame.iloc[:30], transformations=ct).explain_local(frame.iloc[:12], raw=True)
    assert any(pd.isna(v) for v in raw.eval_data[:, 0])  # missing values survive in the raw rows
    loaded = Explanation.from_json(raw.to_json())
    assert loaded.equals(raw) and loaded.is_raw


def test_evaluation_rows_are_checked_and_reordered(frame, fitted):
    ct, model = fitted
    explainer = ExactLinearExplainer(model, frame.iloc[:30], transformations=ct)
    shuffled = frame.iloc[30:33][list(reversed(RAW_COLUMNS))]
    np.testing.assert_allclose(explainer.explain_local(shuffled, raw=True).local_values,
                               explainer.explain_local(frame.iloc[30:33], raw=True).local_values)
    with pytest.raises(DataShapeError, match="missing \\['t'\\]"):
        explainer.explain_local(frame.iloc[30:33].drop(columns="t"))
    with pytest.raises(DataShapeError, match="raw columns"):
        ExactLinearExplainer(model, frame, features=["only", "two"], transformations=ct)
    plain = ExactLinearExplainer(model, ct.transform(frame.iloc[:30]))
    with pytest.raises(ArgumentError, match="has none"):
        plain.explain_local(ct.transform(frame.iloc[:2]), raw=True)


def test_plain_feature_map_as_transformations(frame, fitted):
    ct, model = fitted
    fmap = get_feature_map(ct, frame)
    engineered_rows = ct.transform(frame)
    explainer = ExactLinearExplainer(model, engineered_rows[:30], features=RAW_COLUMNS,
                                     transformations=sp.csr_matrix(fmap.weights))
    raw = explainer.explain_local(engineered_rows[30:34], raw=True)
    reference = ExactLinearExplainer(model, frame.iloc[:30], transformations=ct).explain_local(
        frame.iloc[30:34], raw=True
    )
    np.testing.assert_allclose(raw.local_values, reference.local_values)
    assert raw.features == RAW_COLUMNS and raw.eval_data is None


def test_feature_map_arithmetic():
    weights = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    fmap = FeatureMap.from_matrix(weights, ["u", "v"])
    values = np.arange(24, dtype=float).reshape(3, 4, 2)
    raw = fmap.raw_local(values)
    np.testing.assert_allclose(raw[:, 0], values[:, 0] + values[:, 1])
    np.testing.assert_allclose(raw[:, 1], values[:, 2] + values[:, 3])
    errors = np.full((3, 4, 2), 2.0)
    np.testing.assert_allclose(fmap.raw_standard_errors(errors), np.sqrt(8.0))
    binary = FeatureMap.from_matrix(np.array([[1.0, 1.0], [1.0, 0.0]]))  # column 0 counted twice: rescaled
    np.testing.assert_allclose(binary.weights.toarray(), [[0.5, 1.0], [0.5, 0.0]])
    assert binary.notes and "divided by its sum" in binary.notes[0]


def _indicators(columns):
    """A column-wise one-hot encoding without output names: each input's categories, in order."""
    def encode(X):
        X = np.asarray(X, dtype=object)
        return np.column_stack([(X[:, j] == value).astype(float) for j, values in enumerate(columns)
                                for value in values])
    return encode


def test_unnamed_outputs_unseen_on_probe_rows_take_their_neighbours_owner_or_raise(frame):
    from sklearn.preprocessing import FunctionTransformer

    encoder = FunctionTransformer(_indicators([["w", "x", "y", "z"], ["p", "q"]]))
    ct = ColumnTransformer([("ind", encoder, ["c", "d"])]).fit(frame)
    # 'x' never occurs in these rows: its output sits between two outputs of 'c', so it belongs to 'c'
    fmap = get_feature_map(ct, frame[frame["c"] != "x"])
    expected = np.zeros((6, 6))
    expected[2, :4] = expected[3, 4:] = 1.0
    np.testing.assert_array_equal(fmap.weights.toarray(), expected)
    assert fmap.engineered_features[0] == "ind__functiontransformer0"
    # 'z' never occurs: its output sits between 'c' and 'd' outputs and has no name: it cannot be placed
    with pytest.raises(TransformationError, match=r"did not change when any single one of its raw columns"):
        get_feature_map(ct, frame[frame["c"] != "z"])
    shared = get_feature_map(ct, frame[frame["c"] != "z"], allow_all_transformations=True)
    np.testing.assert_allclose(shared.weights.toarray()[[2, 3], 3], [0.5, 0.5])


def test_sparse_engineered_rows_and_explainer_without_background(frame):
    ct = ColumnTransformer([
        ("num", SimpleImputer(), ["a", "b"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["c", "d"]),
        ("txt", CountVectorizer(), "t"),
    ], sparse_threshold=1.0).fit(frame)
    engineered = ct.transform(frame)
    assert sp.issparse(engineered)  # the model is trained on, and will be given, a CSR matrix
    model = LogisticRegression(max_iter=1000).fit(engineered, make_target(frame))
    explainer = ExactLinearExplainer(model, frame.iloc[:30], transformations=ct)
    assert explainer.background.kind == "sparse"
    raw = explainer.explain_local(frame.iloc[30:34], raw=True)
    expected = exact_raw_shapley(lambda x: model.decision_function(ct.transform(x)), frame.iloc[:30], frame.iloc[30:34])
    np.testing.assert_allclose(raw.local_values[:, :, 1], expected, atol=1e-9)

    class NoBackground(BaseExplainer):
        """Explains against an all-zero engineered reference: values coef * x (needs no background)."""

        method = "test_zero_reference"

        def _task_and_classes(self):
            return REGRESSION, None

        def _explain_rows(self, rows):
            coef = np.ravel(self.model.coef_)
            values = coef * rows.values
            output = np.ravel(self.model.decision_function(rows.to_model_input()))
            return LocalResult(values[:, :, None], np.array([float(self.model.intercept_[0])]), output[:, None])

    lazy = NoBackground(model, features=RAW_COLUMNS, transformations=ct)
    assert lazy.features is None and lazy.raw_features == RAW_COLUMNS
    lazy_raw = lazy.explain_local(frame.iloc[30:34], raw=True)  # the map is learnt from these rows
    assert lazy.features == list(ct.get_feature_names_out())
    np.testing.assert_allclose(lazy_raw.local_values.sum(axis=1) + lazy_raw.expected_values_array, lazy_raw.model_output)
    c_columns = [i for i, name in enumerate(lazy.features) if name.startswith("cat__c_")]
    np.testing.assert_allclose(lazy_raw.local_values[:, 2, 0],
                               (np.ravel(model.coef_)[c_columns] * engineered[30:34][:, c_columns].toarray()).sum(axis=1))


def test_pellucid_dataframe_mapper_matches_sklearn_pandas(frame, monkeypatch):
    import sklearn.utils

    monkeypatch.setattr(sklearn.utils, "tosequence", lambda x: x if isinstance(x, (list, tuple)) else list(x),
                        raising=False)
    sklearn_pandas = pytest.importorskip("sklearn_pandas")

    def features(strings=True):
        # sklearn-pandas stacks sparse outputs (the text counts) with scipy.sparse, which cannot hold strings
        varying = [("d", None)] if strings else [("t", CountVectorizer())]
        return [
            (["a", "b"], [SimpleImputer(), StandardScaler()]),
            *varying,
            (["c"], OneHotEncoder(handle_unknown="ignore", sparse_output=not strings), {"alias": "colour"}),
        ]

    numeric_rest = frame[["a", "b", "c", "t", "e"]]
    cases = [
        (features(), {}, frame),
        (features(), {"default": None}, frame),  # the unselected 'e' passes through
        (features(strings=False), {"default": StandardScaler()}, numeric_rest),  # 'e' goes to the default
        (features(strings=False), {"sparse": True}, frame),
    ]
    for make, options, data in cases:
        ours = DataFrameMapper(make, **options).fit_transform(data)
        theirs = sklearn_pandas.DataFrameMapper(
            [(c, [clone(t) for t in tr] if isinstance(tr, list) else (None if tr is None else clone(tr)), *o)
             for c, tr, *o in make], **options
        ).fit_transform(data)
        assert sp.issparse(ours) == sp.issparse(theirs)
        ours = ours.toarray() if sp.issparse(ours) else ours
        theirs = theirs.toarray() if sp.issparse(theirs) else theirs
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(pd.DataFrame(ours).astype(str).to_numpy(),
                                      pd.DataFrame(theirs).astype(str).to_numpy())
    with_default = DataFrameMapper(features(), default=None).fit(frame)
    groups = get_feature_map(with_default, frame).groups()
    assert groups["e"] == ["e"] and groups["t"] == ["t"]  # unselected columns pass through, in frame order
    assert with_default.transformed_names_[-2:] == ["e", "t"]
    frame_out = DataFrameMapper(features()[:1], df_out=True).fit_transform(frame)
    assert list(frame_out.columns) == ["a", "b"]


def test_classic_sdk_example_with_the_real_explainers(frame):
    from pellucid.explainers.linear import LinearExplainer
    from pellucid.explainers.tabular import TabularExplainer

    numerical, categorical, x_train, transformations, clf = classic_sdk_example(frame)
    expected = exact_raw_shapley(lambda x: clf.decision_function(x), x_train, x_train.iloc[:4])
    for explainer_class in (LinearExplainer, TabularExplainer):
        explainer = explainer_class(clf.steps[-1][1], initialization_examples=x_train,
                                    features=numerical + categorical, classes=["low", "high"],
                                    transformations=transformations)
        raw = explainer.explain_local(x_train.iloc[:4], raw=True)
        assert raw.is_raw and raw.features == numerical + categorical and raw.classes == ["low", "high"]
        np.testing.assert_allclose(raw.local_values[:, :, 1], expected, atol=1e-9)
        global_raw = explainer.explain_global(x_train, raw=True)
        assert global_raw.get_ranked_global_names()[0] in numerical + categorical
        np.testing.assert_allclose(global_raw.local_values.sum(axis=1) + global_raw.expected_values_array,
                                   global_raw.model_output, atol=1e-9)


def test_transformers_receive_the_users_frames_with_their_dtypes(frame, fitted):
    from sklearn.preprocessing import FunctionTransformer

    seen = []

    def record(block):
        seen.append(str(block.dtypes.iloc[0]))
        return block.to_numpy(dtype=float)

    # 'e' alone, and 'e' with 'b' in one transformer (probed column by column)
    ct = ColumnTransformer([("e", FunctionTransformer(record), ["e"]),
                            ("eb", FunctionTransformer(record), ["e", "b"])]).fit(frame)
    model = Ridge().fit(ct.transform(frame), frame["a"].fillna(0))
    explainer = ExactLinearExplainer(model, frame.iloc[:20], transformations=ct)
    explainer.explain_local(frame.iloc[20:23], raw=True)
    explainer.explain_global(raw=True)
    assert seen and set(seen) == {"int64"}


def test_transformations_with_pandas_output_pass_frames_between_steps(frame):
    ct = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["a", "b"]),
        ("cat", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["c", "d"]),
    ]).set_output(transform="pandas").fit(frame)
    model = LogisticRegression().fit(ct.transform(frame), make_target(frame))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "X does not have valid feature names"
        explainer = ExactLinearExplainer(model, frame.iloc[:30], transformations=ct)
        raw = explainer.explain_local(frame.iloc[30:33], raw=True)
    assert explainer.background.kind == "pandas"  # the model gets the DataFrame it was trained on
    expected = exact_raw_shapley(lambda x: model.decision_function(ct.transform(x)), frame.iloc[:30], frame.iloc[30:33])
    np.testing.assert_allclose(raw.local_values[:, :, 1], expected, atol=1e-9)


@pytest.mark.parametrize("method", ["lime", "mimic"])
def test_other_direct_explainers_get_transformations_for_free(frame, fitted, method):
    ct, model = fitted
    rows = frame.iloc[60:63]
    if method == "lime":
        from pellucid.explainers.lime import LIMEExplainer

        explainer = LIMEExplainer(model, frame.iloc[:60], transformations=ct, num_samples=400)
    else:
        from pellucid.explainers.mimic import MimicExplainer
        from pellucid.mimic.models import LinearExplainableModel

        explainer = MimicExplainer(model, frame.iloc[:60], LinearExplainableModel, transformations=ct,
                                   augment_data=False)
    engineered = explainer.explain_local(rows, raw=False)
    raw = explainer.explain_local(rows)
    assert engineered.features == list(ct.get_feature_names_out())
    assert raw.is_raw and raw.features == RAW_COLUMNS and raw.eval_data.shape == (3, 6)
    c_columns = [i for i, name in enumerate(engineered.features) if name.startswith("cat__c_")]
    np.testing.assert_allclose(raw.local_values[:, 2], engineered.local_values[:, c_columns].sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(raw.local_values.sum(axis=1), engineered.local_values.sum(axis=1), atol=1e-9)


@pytest.mark.parametrize("method", ["kernel", "tree"])
def test_kernel_and_tree_explainers_explain_raw_data_through_transformations(frame, method):
    numerical, categorical = ["a", "b", "e"], ["c", "d"]
    x_train = frame[numerical + categorical]
    transformations = [
        ([f], Pipeline(steps=[("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]))
        for f in numerical
    ] + [([f], OneHotEncoder(handle_unknown="ignore", sparse_output=False)) for f in categorical]
    if method == "kernel":
        from pellucid.explainers.kernel import KernelExplainer as explainer_class
        estimator = LogisticRegression(solver="lbfgs")
    else:
        from sklearn.ensemble import GradientBoostingClassifier

        from pellucid.explainers.tree import TreeExplainer as explainer_class

        estimator = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0)
    clf = Pipeline(steps=[("preprocessor", DataFrameMapper(transformations)), ("classifier", estimator)])
    clf.fit(x_train, make_target(frame))
    prep, final = split_pipeline(clf)  # the tree case: what TabularExplainer does with a Pipeline model
    given = transformations if method == "kernel" else prep
    explainer = explainer_class(final, initialization_examples=x_train.iloc[:30], features=numerical + categorical,
                                classes=["low", "high"], transformations=given)
    engineered = explainer.explain_local(x_train.iloc[40:44], raw=False)
    raw = explainer.explain_local(x_train.iloc[40:44])
    assert raw.features == numerical + categorical and raw.classes == ["low", "high"]
    c_columns = [i for i, name in enumerate(engineered.features) if name.startswith("c_")]
    np.testing.assert_allclose(raw.local_values[:, 3], engineered.local_values[:, c_columns].sum(axis=1), atol=1e-12)
    if raw.model_output is not None:  # additivity holds in raw space, in the explainer's output space
        np.testing.assert_allclose(raw.local_values.sum(axis=1) + raw.expected_values_array, raw.model_output, atol=1e-6)
