"""Azure/MachineLearningNotebooks ``explain-model/azure-integration/scoring-time/train-explain-model-locally-and-deploy``
and its entry script ``score_local_explain.py``.

The notebook fits a ``DataFrameMapper`` + random forest pipeline on the IBM attrition data, explains the forest
with ``TabularExplainer(..., transformations=...)``, builds a ``TreeScoringExplainer``, saves it with
``save(scoring_explainer, exist_ok=True)`` (the working folder), registers it with the model and deploys
``score_local_explain.py``, whose ``init()`` loads both and whose ``run(raw_data)`` returns predictions and
``local_importance_values`` for rows posted as JSON. The registry and web service are replaced by the working
folder and an in-process call of the entry script; only the imports change.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

# was: from interpret.ext.blackbox import TabularExplainer; from sklearn_pandas import DataFrameMapper
# was: from azureml.interpret.scoring.scoring_explainer import TreeScoringExplainer, save
# was: from interpret_community.widget import ExplanationDashboard
from pellucid import DataFrameMapper, ExplanationDashboard, TabularExplainer
from pellucid.scoring.scoring_explainer import TreeScoringExplainer, load, save
from tests.compat._data import attrition_frame


class ScoreLocalExplain:
    """``score_local_explain.py``: ``init()`` loads the model and the scoring explainer, ``run`` scores JSON rows.

    ``Model.get_model_path(name)`` becomes the folder the explainer was saved in; the original model, which the
    script unpickled with joblib, is handed over in-process (pellucid loads no pickle).
    """

    def __init__(self, original_model, scoring_explainer_path):
        self.original_model = original_model
        self.path = scoring_explainer_path

    def init(self):
        self.scoring_explainer = load(self.path)

    def run(self, raw_data):
        data = pd.read_json(io.StringIO(raw_data))  # pandas 3 reads JSON text through a buffer
        predictions = self.original_model.predict(data)
        local_importance_values = self.scoring_explainer.explain(data)
        return {"predictions": predictions.tolist(), "local_importance_values": local_importance_values}


@pytest.fixture
def in_tmp_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_train_explain_model_locally_and_deploy(in_tmp_folder):
    data = attrition_frame(160, seed=7)
    data = data.drop(["EmployeeCount", "EmployeeNumber", "Over18", "StandardHours"], axis=1)
    data["Attrition_numerical"] = data["Attrition"].map({"Yes": 1, "No": 0})
    target = data["Attrition_numerical"]
    attritionXData = data.drop(["Attrition_numerical", "Attrition"], axis=1)
    categorical = [col for col, value in attritionXData.items() if value.dtype == "object"]
    numerical = attritionXData.columns.difference(categorical)
    numeric_transformations = [([f], Pipeline(steps=[("imputer", SimpleImputer(strategy="median")),
                                                     ("scaler", StandardScaler())])) for f in numerical]
    categorical_transformations = [([f], OneHotEncoder(handle_unknown="ignore", sparse_output=False))
                                   for f in categorical]
    transformations = numeric_transformations + categorical_transformations
    clf = Pipeline(steps=[("preprocessor", DataFrameMapper(transformations)),
                          ("classifier", RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0))])
    x_train, x_test, y_train, y_test = train_test_split(attritionXData, target, test_size=0.2, random_state=0,
                                                        stratify=target)
    clf.fit(x_train, y_train)
    model = clf.steps[-1][1]

    tabular_explainer = TabularExplainer(model, initialization_examples=x_train, features=attritionXData.columns,
                                         classes=["Not leaving", "leaving"], transformations=transformations)
    global_explanation = tabular_explainer.explain_global(x_test)
    features = list(attritionXData.columns)
    assert global_explanation.features == features

    scoring_explainer = TreeScoringExplainer(tabular_explainer)
    save(scoring_explainer, exist_ok=True)  # the working folder, as in the SDK
    page = ExplanationDashboard(global_explanation, clf, datasetX=x_test).to_html()
    assert "MonthlyIncome" in page

    service = ScoreLocalExplain(clf, ".")
    service.init()
    sample = x_test.iloc[[3]]
    sample_data = sample.to_json()  # the notebook's sample_data: {"Age": {"899": 49}, ...}
    result = json.loads(json.dumps(service.run(sample_data)))  # what the web service returns

    assert result["predictions"] == clf.predict(sample).tolist()
    performance = result["local_importance_values"][0][0]  # the notebook plots [class 0][row 0] per raw column
    labels = list(json.loads(sample_data).keys())
    assert len(performance) == len(labels) == len(features)
    # the saved, loaded scoring explainer gives the training-time explanation of that row (TreeSHAP is exact)
    expected = np.asarray(tabular_explainer.explain_local(sample).local_importance_values)
    np.testing.assert_allclose(np.asarray(result["local_importance_values"]), expected, atol=1e-9)
    # and the values add up to the forest's probabilities
    explanation = load().explain_local(sample)  # load() reads the working folder, as save() wrote it
    total = np.asarray(explanation.local_importance_values).sum(axis=2).T + np.asarray(explanation.expected_values)
    np.testing.assert_allclose(total, clf.predict_proba(sample), atol=1e-9)
