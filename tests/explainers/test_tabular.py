import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from pellucid import TabularExplainer
from pellucid.errors import ArgumentError, ModelInterfaceError
from pellucid.explainers.tabular import SamplingPolicy

X, Y = load_breast_cancer(return_X_y=True)
MODEL = LogisticRegression(max_iter=5000).fit(X, Y)


def test_picks_linear_and_records_the_choice():
    explainer = TabularExplainer(MODEL, X[:100], classes=["malignant", "benign"])
    assert explainer.explainer_name == "LinearExplainer"
    explanation = explainer.explain_local(X[0])
    assert explanation.meta["explainer"] == "LinearExplainer"
    assert any("chose LinearExplainer" in note for note in explanation.meta["notes"])
    assert explanation.classes == ["malignant", "benign"]


def test_global_in_batches_equals_one_batch():
    explainer = TabularExplainer(MODEL, X[:100])
    whole = explainer.explain_global(X[100:160], batch_size=1000)
    batched = explainer.explain_global(X[100:160], batch_size=7)
    assert np.array_equal(whole.local_values, batched.local_values)
    assert whole.get_ranked_global_names() == batched.get_ranked_global_names()
    global_only = explainer.explain_global(X[100:160], include_local=False)
    assert global_only.local_values is None
    assert np.allclose(global_only.global_values, whole.global_values)


def test_sampling_policy_is_recorded():
    explainer = TabularExplainer(MODEL, X[:100])
    explanation = explainer.explain_global(X, sampling_policy=SamplingPolicy(allow_eval_sampling=True, max_rows=50))
    assert explanation.n_rows == 50
    assert any("sampled from 569 to 50" in note for note in explanation.meta["notes"])


def test_explain_subset_keeps_named_features():
    explainer = TabularExplainer(MODEL, X[:100], explain_subset=[3, 0])
    explanation = explainer.explain_local(X[:2])
    assert explanation.features == [3, 0] and explanation.local_values.shape == (2, 2, 2)
    with pytest.raises(ArgumentError, match="explain_subset"):
        TabularExplainer(MODEL, X[:100], explain_subset=[99])


def test_bad_model_and_options():
    with pytest.raises(ModelInterfaceError, match="no explainer supports"):
        TabularExplainer(object(), X[:10])
    with pytest.raises(ArgumentError, match="does not take the option"):
        TabularExplainer(MODEL, X[:10], no_such_option=3)
    with pytest.raises(ArgumentError, match="batch_size"):
        TabularExplainer(MODEL, X[:10]).explain_global(X[:5], batch_size=0)


def test_pipeline_is_split_and_reported_in_raw_columns():
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200), "b": rng.choice(["x", "y", "z"], 200), "c": rng.normal(size=200)})
    target = (frame.a + (frame.b == "x") > 0.5).astype(int)
    prep = ColumnTransformer([("num", StandardScaler(), ["a", "c"]), ("cat", OneHotEncoder(), ["b"])])
    pipeline = Pipeline([("prep", prep), ("clf", LogisticRegression())]).fit(frame, target)
    explainer = TabularExplainer(pipeline, frame)
    assert explainer.explainer_name == "LinearExplainer"
    raw = explainer.explain_global(frame.iloc[:30], batch_size=7)
    engineered = explainer.explain_global(frame.iloc[:30], raw=False)
    assert raw.is_raw and raw.features == ["a", "b", "c"] and engineered.n_features == 5
    # the raw value of b is the sum of its three one-hot columns
    assert np.allclose(raw.local_values[:, 1, :], engineered.local_values[:, 2:, :].sum(axis=1))
    total = raw.local_values.sum(axis=1) + raw.expected_values_array
    assert np.allclose(total, pipeline.decision_function(frame.iloc[:30])[:, None] * [-1, 1])


def test_allow_all_transformations_reaches_the_chosen_explainer():
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Ridge

    from pellucid.errors import TransformationError

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    prep = ColumnTransformer([("pca", PCA(n_components=2), ["a", "b"]), ("keep", "passthrough", ["c"])]).fit(frame)
    model = Ridge().fit(prep.transform(frame), frame.a - frame.c)
    with pytest.raises(TransformationError, match="a"):
        TabularExplainer(model, frame, transformations=prep).explain_local(frame.iloc[:3], raw=True)
    explainer = TabularExplainer(model, frame, transformations=prep, allow_all_transformations=True)
    raw = explainer.explain_local(frame.iloc[:5], raw=True)
    assert raw.features == ["a", "b", "c"] and raw.is_raw
    assert np.allclose(raw.local_values.sum(axis=1) + raw.expected_values_array, raw.model_output)
