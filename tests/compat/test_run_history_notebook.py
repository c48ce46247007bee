"""Azure/MachineLearningNotebooks ``explain-model/azure-integration/run-history/save-retrieve-explanations-run-history``.

The notebook explains an SVC on the IBM attrition data through a ``ColumnTransformer``, uploads the global and a
local explanation to the run history with comments, lists them, downloads each (all features and ``top_k=2``)
and opens the dashboard on the download. Only the imports change; the workspace's experiment run is an MLflow run
on a tracking store set with ``mlflow.set_tracking_uri``.
"""

from __future__ import annotations

import mlflow
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

# was: from interpret.ext.blackbox import TabularExplainer; from azureml.interpret import ExplanationClient
# was: from raiwidgets import ExplanationDashboard
from pellucid import ExplanationClient, ExplanationDashboard, TabularExplainer
from tests.compat._data import attrition_frame


def test_save_retrieve_explanations_run_history(mlflow_tracking):
    data = attrition_frame(140, seed=3)
    data = data.drop(["EmployeeCount", "EmployeeNumber", "Over18", "StandardHours"], axis=1)
    data["Attrition_numerical"] = data["Attrition"].map({"Yes": 1, "No": 0})
    target = data["Attrition_numerical"]
    x_data = data.drop(["Attrition_numerical", "Attrition"], axis=1)
    x_train, x_test, y_train, y_test = train_test_split(x_data, target, test_size=0.2, random_state=0,
                                                        stratify=target)
    categorical = [col for col, value in x_data.items() if value.dtype == "object"]
    numerical = x_data.columns.difference(categorical)
    transformations = ColumnTransformer(transformers=[
        ("num", Pipeline(steps=[("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]),
         numerical),
        ("cat", Pipeline(steps=[("imputer", SimpleImputer(strategy="constant", fill_value="missing")),
                                ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical),
    ])
    clf = Pipeline(steps=[("preprocessor", transformations), ("classifier", SVC(C=1.0, probability=True,
                                                                                 random_state=0))])
    model = clf.fit(x_train, y_train)
    x_train, x_test = x_train.iloc[:20], x_test.iloc[:3]  # fewer rows than the notebook, to stay fast

    explainer = TabularExplainer(clf.steps[-1][1], initialization_examples=x_train, features=x_data.columns,
                                 classes=["Not leaving", "leaving"], transformations=transformations)
    global_explanation = explainer.explain_global(x_test)
    instance_num = 1
    local_explanation = explainer.explain_local(x_test[:instance_num])

    # was: ws = Workspace.from_config(); experiment = Experiment(ws, name); run = experiment.start_logging()
    mlflow.set_experiment("explain-model-sample")
    run = mlflow.start_run()
    client = ExplanationClient.from_run(run)
    client.upload_model_explanation(global_explanation, comment="global explanation: all features")
    client.upload_model_explanation(local_explanation, comment="local explanation for test point 1: all features")

    listed = client.list_model_explanations()
    assert sorted(entry["comment"] for entry in listed) == [
        "global explanation: all features", "local explanation for test point 1: all features"]
    for explanation in client.list_model_explanations():
        if explanation["comment"] == "local explanation for test point 1: all features":
            downloaded_local_explanation = client.download_model_explanation(explanation_id=explanation["id"])
            downloaded_local_explanation_top2 = client.download_model_explanation(
                top_k=2, explanation_id=explanation["id"])
        elif explanation["comment"] == "global explanation: all features":
            downloaded_global_explanation = client.download_model_explanation(explanation_id=explanation["id"])
            downloaded_global_explanation_top2 = client.download_model_explanation(
                top_k=2, explanation_id=explanation["id"])
    mlflow.end_run()

    features = list(x_data.columns)
    # round trips: the downloads hold the uploaded values, in raw features
    assert downloaded_global_explanation.features == features
    np.testing.assert_array_equal(downloaded_global_explanation.local_importance_values,
                                  global_explanation.local_importance_values)
    assert downloaded_global_explanation.expected_values == global_explanation.expected_values
    assert downloaded_global_explanation.get_ranked_global_names() == global_explanation.get_ranked_global_names()
    np.testing.assert_array_equal(downloaded_local_explanation.local_importance_values,
                                  local_explanation.local_importance_values)
    # top_k=2 (pellucid's documented rule): per row and class the two largest |values| kept, the others 0
    for full, top2 in ((global_explanation, downloaded_global_explanation_top2),
                       (local_explanation, downloaded_local_explanation_top2)):
        values = np.asarray(full.local_importance_values)
        trimmed = np.asarray(top2.local_importance_values)
        threshold = -np.sort(-np.abs(values), axis=-1)[..., 1:2]
        np.testing.assert_array_equal(trimmed, np.where(np.abs(values) >= threshold, values, 0.0))
        assert (np.count_nonzero(trimmed, axis=-1) == 2).all()

    # was: from raiwidgets import ExplanationDashboard; ExplanationDashboard(explanation, model, dataset=x_test)
    page = ExplanationDashboard(downloaded_global_explanation, model, dataset=x_test).to_html()
    assert "MonthlyIncome" in page
