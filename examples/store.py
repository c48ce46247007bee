"""Keep explanations on MLflow: upload them to a run, list them, download them back (checksums verified).

Uses a local SQLite tracking store in the output folder, so nothing needs to be started.
Run: ``python examples/store.py [OUTPUT_FOLDER]`` (default: a new temporary folder).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pellucid import ExplanationClient, LinearExplainer


def main(out: Path) -> None:
    iris = load_iris()
    model = LogisticRegression(max_iter=500).fit(iris.data, iris.target)
    explainer = LinearExplainer(model, iris.data, features=iris.feature_names, classes=list(iris.target_names))
    global_explanation = explainer.explain_global(iris.data)
    local_explanation = explainer.explain_local(iris.data[:3])

    tracking_uri = f"sqlite:///{(out / 'mlflow.db').resolve()}"
    client = ExplanationClient.create_run("iris", run_name="logistic regression", tracking_uri=tracking_uri)
    global_id = client.upload_model_explanation(global_explanation, comment="global: all features")
    client.upload_model_explanation(local_explanation, top_k=2, comment="local: top 2 features, rows 0-2")

    for record in client.list_model_explanations():
        print(f"{record['id']}  {record['method']:12s} top_k={record['top_k']}  {record['comment']}")

    downloaded = client.download_model_explanation(global_id)
    assert downloaded.equals(global_explanation), "the downloaded explanation differs from the uploaded one"
    newest = client.download_model_explanation()  # the latest upload: the top-2 local explanation
    assert newest.meta["top_k"] == 2 and newest.n_rows == 3
    print(f"run {client.run_id} in {tracking_uri}: downloaded both back intact")

    # another process (or a notebook) finds the run by its id
    again = ExplanationClient.from_run_id(client.run_id, tracking_uri=tracking_uri)
    assert len(again.list_model_explanations(comment="global: all features")) == 1


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pellucid-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    main(folder)
