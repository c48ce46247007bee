"""Explainers given ``transformations=`` answer in raw features by default, as the old SDK did.

Every explainer (Linear, Kernel, Tree, Deep, Mimic, LIME, PFI and TabularExplainer) is built with a fitted
ColumnTransformer over a raw DataFrame and asked without ``raw=``. Oracles: the raw column names of the frame;
the engineered explanation (``raw=False``) summed over each raw column's engineered columns, selected here by
scikit-learn's documented output names (``num__age``, ``cat__city_<value>``); the additivity identity
``expected + sum(raw values) = model output``; the mean absolute raw local value for global importances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pellucid.dashboard import ExplanationDashboard
from pellucid.errors import ArgumentError
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.mimic import MimicExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explainers.tree import TreeExplainer
from pellucid.mimic.models.linear_model import LinearExplainableModel

RAW = ["age", "income", "city", "plan"]


@pytest.fixture(scope="module")
def customers():
    rng = np.random.default_rng(11)
    n = 160
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "income": rng.normal(50, 15, n),
        "city": rng.choice(["paris", "rome", "oslo"], n),
        "plan": rng.choice(["basic", "premium"], n),
    })
    score = 0.05 * (frame["age"] - 45) + (frame["city"] == "oslo") * 1.2 - (frame["plan"] == "basic") * 0.7
    target = (score + rng.normal(0, 0.5, n) > 0).astype(int).to_numpy()
    transformer = ColumnTransformer([
        ("num", StandardScaler(), ["age", "income"]),
        ("cat", OneHotEncoder(sparse_output=False), ["city", "plan"]),
    ]).fit(frame)
    return frame, target, transformer


def grouped_by_raw_column(engineered, names):
    """Engineered values (rows, n_engineered, outputs) summed per raw column, columns picked by output name."""
    groups = [[i for i, name in enumerate(names) if name == f"num__{raw}" or name.startswith(f"cat__{raw}_")]
              for raw in RAW]
    assert sorted(sum(groups, [])) == list(range(len(names)))  # every engineered column has one raw owner
    return np.stack([engineered[:, group].sum(axis=1) for group in groups], axis=1)


def _build(method, frame, target, transformer):
    engineered = transformer.transform(frame)
    background = frame.iloc[:60]
    if method == "tree":
        model = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(engineered, target)
        return TreeExplainer(model, background, transformations=transformer), model
    model = LogisticRegression(max_iter=2000).fit(engineered, target)
    if method == "linear":
        return LinearExplainer(model, background, transformations=transformer), model
    if method == "kernel":
        return KernelExplainer(model, background.iloc[:8], transformations=transformer, nsamples=300, seed=0), model
    if method == "lime":
        return LIMEExplainer(model, background, transformations=transformer, num_samples=400, seed=0), model
    if method == "mimic":
        return MimicExplainer(model, background, LinearExplainableModel, transformations=transformer), model
    return TabularExplainer(model, background, transformations=transformer), model


@pytest.mark.parametrize("method", ["linear", "kernel", "tree", "lime", "mimic", "tabular"])
def test_local_and_global_explanations_are_in_raw_features_by_default(customers, method):
    frame, target, transformer = customers
    explainer, model = _build(method, frame, target, transformer)
    rows = frame.iloc[100:112]
    raw = explainer.explain_local(rows)
    engineered = explainer.explain_local(rows, raw=False)
    assert raw.features == RAW and raw.is_raw
    assert engineered.features == list(transformer.get_feature_names_out()) and not engineered.is_raw
    np.testing.assert_allclose(raw.local_values, grouped_by_raw_column(engineered.local_values, engineered.features),
                               rtol=0, atol=1e-12)
    if method != "lime":  # SHAP methods: additivity in raw features against the explained output
        np.testing.assert_allclose(raw.local_values.sum(axis=1) + raw.expected_values_array, raw.model_output,
                                   rtol=0, atol=1e-6)
    explicit = explainer.explain_local(rows, raw=True)
    np.testing.assert_allclose(explicit.local_values, raw.local_values, rtol=0, atol=1e-12)
    overall = explainer.explain_global(rows)
    assert overall.features == RAW and overall.is_raw
    np.testing.assert_allclose(overall.global_values, np.abs(raw.local_values).mean(axis=0), rtol=0, atol=1e-12)
    assert explainer.explain_global(rows, raw=False).features == engineered.features


def test_deep_explainer_answers_in_raw_features_by_default(customers):
    torch = pytest.importorskip("torch")
    from pellucid.explainers.deep import DeepExplainer

    torch.set_num_threads(1)
    torch.manual_seed(0)
    frame, _, transformer = customers
    width = len(transformer.get_feature_names_out())
    net = torch.nn.Sequential(torch.nn.Linear(width, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double().eval()
    explainer = DeepExplainer(net, frame.iloc[:20], transformations=transformer)
    rows = frame.iloc[100:106]
    raw = explainer.explain_local(rows)
    engineered = explainer.explain_local(rows, raw=False)
    assert raw.features == RAW and raw.is_raw and not engineered.is_raw
    np.testing.assert_allclose(raw.local_values, grouped_by_raw_column(engineered.local_values, engineered.features),
                               rtol=0, atol=1e-12)
    with torch.no_grad():
        output = net(torch.as_tensor(transformer.transform(rows), dtype=torch.float64)).numpy()
    np.testing.assert_allclose(raw.local_values.sum(axis=1) + raw.expected_values_array, output, rtol=0, atol=1e-6)


def test_pfi_importances_are_per_raw_column_by_default(customers):
    frame, target, transformer = customers
    model = LogisticRegression(max_iter=2000).fit(transformer.transform(frame), target)
    explainer = PFIExplainer(model, transformations=transformer, n_repeats=3, seed=0)
    raw = explainer.explain_global(frame, target)
    engineered = explainer.explain_global(frame, target, raw=False)
    assert raw.features == RAW and raw.is_raw
    summed = grouped_by_raw_column(engineered.global_values[None], engineered.features)[0]
    np.testing.assert_allclose(raw.global_values, summed, rtol=0, atol=1e-12)
    # the engineered result records its map: mapping it afterwards gives the same raw importances
    np.testing.assert_allclose(engineered.get_raw_explanation().global_values, raw.global_values, rtol=0, atol=1e-12)


def test_dashboard_takes_the_raw_rows_as_the_sdk_notebooks_pass_them(customers):
    frame, target, transformer = customers
    pipeline = Pipeline([("prep", transformer), ("clf", LogisticRegression(max_iter=2000))]).fit(frame, target)
    explainer = TabularExplainer(pipeline.steps[-1][1], frame.iloc[:80], features=frame.columns,
                                 classes=["stay", "leave"], transformations=transformer)
    x_test = frame.iloc[120:140]
    explanation = explainer.explain_global(x_test)
    assert explanation.get_ranked_global_names()[0] in RAW
    page = ExplanationDashboard(explanation, pipeline, dataset=x_test).to_html()
    assert all(name in page for name in RAW)


def test_explain_subset_asks_for_the_engineered_view(customers):
    frame, target, transformer = customers
    model = LogisticRegression(max_iter=2000).fit(transformer.transform(frame), target)
    explainer = TabularExplainer(model, frame.iloc[:60], transformations=transformer, explain_subset=[0, 2])
    with pytest.raises(ArgumentError, match="raw=False"):
        explainer.explain_local(frame.iloc[:3])
    subset = explainer.explain_local(frame.iloc[:3], raw=False)
    assert subset.features == ["num__age", "cat__city_oslo"]


def test_without_transformations_the_features_are_the_models(customers):
    frame, target, transformer = customers
    engineered = transformer.transform(frame)
    explainer = LinearExplainer(LogisticRegression(max_iter=2000).fit(engineered, target), engineered[:50])
    assert not explainer.explain_local(engineered[:3]).is_raw
    with pytest.raises(ArgumentError, match="has none"):
        explainer.explain_local(engineered[:3], raw=True)
