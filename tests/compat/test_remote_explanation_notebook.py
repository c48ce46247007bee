"""Azure/MachineLearningNotebooks ``explain-model/azure-integration/remote-explanation/explain-model-on-amlcompute``.

The notebook submits ``train_explain.py`` (a Ridge regression on the Boston data, explained by
``TabularExplainer``, its global explanation uploaded to the run with a comment and a model id) to a compute
cluster, then downloads the explanation (all of it, and ``top_k=4``) by run and by run id and opens the dashboard
with ``datasetX=``. Here the script's body runs in-process under an MLflow run (the Azure run context); only the
imports change.
"""

from __future__ import annotations

import mlflow
import numpy as np
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

# was: from interpret.ext.blackbox import TabularExplainer
# was: from azureml.contrib.interpret.explanation.explanation_client import ExplanationClient
# was: from interpret_community.widget import ExplanationDashboard
from pellucid import ExplanationDashboard, TabularExplainer
from pellucid.store.client import ExplanationClient
from tests.compat._data import boston_housing


def train_explain(run) -> tuple[Ridge, np.ndarray, np.ndarray, list[str]]:
    """The body of ``train_explain.py``: train, explain, upload (``run`` is the script's run context)."""
    data, target, feature_names = boston_housing(200)
    client = ExplanationClient.from_run(run)
    X_train, X_test, y_train, y_test = train_test_split(data, target, test_size=0.2, random_state=0)
    alpha = 0.5
    reg = Ridge(alpha)
    model = reg.fit(X_train, y_train)
    mlflow.log_metric("alpha", alpha)
    tabular_explainer = TabularExplainer(model, X_train, features=feature_names)
    global_explanation = tabular_explainer.explain_global(X_test)
    comment = "Global explanation on regression model trained on boston dataset"
    client.upload_model_explanation(global_explanation, comment=comment, model_id="model_explain_model_on_amlcomp:1")
    return model, X_train, X_test, feature_names


def test_explain_model_on_amlcompute(mlflow_tracking):
    mlflow.set_experiment("explain-model-on-amlcompute")
    with mlflow.start_run() as run:  # was: run = experiment.submit(config=src); run.wait_for_completion()
        model, X_train, X_test, feature_names = train_explain(run)
    assert mlflow.get_run(run.info.run_id).data.metrics["alpha"] == 0.5

    client = ExplanationClient.from_run(run)
    global_explanation = client.download_model_explanation()
    local_importance_values = global_explanation.local_importance_values
    expected_values = global_explanation.expected_values
    assert global_explanation.features == feature_names
    local = np.asarray(local_importance_values)
    assert local.shape == (len(X_test), len(feature_names))  # [row][feature] for a regressor
    # the linear explainer's exact values: coef * (x - mean of the background); sum + expected = prediction
    np.testing.assert_allclose(local, model.coef_ * (X_test - X_train.mean(axis=0)), atol=1e-8)
    np.testing.assert_allclose(local.sum(axis=1) + np.ravel(expected_values)[0], model.predict(X_test),
                               atol=1e-8)
    listed = client.list_model_explanations()
    assert [entry["comment"] for entry in listed] == [
        "Global explanation on regression model trained on boston dataset"]

    # was: ExplanationClient.from_run_id(ws, experiment_name, run.id); the workspace is the tracking URI
    client = ExplanationClient.from_run_id(run.info.run_id)
    again = client.download_model_explanation()
    np.testing.assert_array_equal(again.local_importance_values, local_importance_values)
    assert again.expected_values == expected_values

    global_explanation_topk = client.download_model_explanation(top_k=4)
    global_importance_values = global_explanation_topk.get_ranked_global_values()
    global_importance_names = global_explanation_topk.get_ranked_global_names()
    assert global_importance_names == global_explanation.get_ranked_global_names()[:4]
    np.testing.assert_allclose(global_importance_values, global_explanation.get_ranked_global_values()[:4])

    page = ExplanationDashboard(global_explanation, model, datasetX=X_test).to_html()
    assert "LSTAT" in page
