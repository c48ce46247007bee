"""The classic example end to end: what ``make demo`` and ``pellucid demo`` run.

Trains the SVC of the old SDK's documentation on scikit-learn's breast-cancer data (its probabilities from
``CalibratedClassifierCV(SVC(...), ensemble=False)``, scikit-learn's replacement for the deprecated
``SVC(probability=True)``), explains it globally and locally with TabularExplainer, saves the explanation as
JSON and loads it back.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pellucid.explanation import Explanation

__all__ = ["run", "classic_example"]

#: Test rows the demo explains globally (all 114 take minutes on a 2-core machine).
DEMO_ROWS = 40


def classic_example():
    """The classic breast-cancer SVC: (model, x_train, x_test, y_test, feature_names, classes)."""
    from sklearn import svm
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.2, random_state=0)
    model = CalibratedClassifierCV(svm.SVC(gamma=0.001, C=100.0), ensemble=False).fit(x_train, y_train)
    return model, x_train, x_test, y_test, [str(n) for n in data.feature_names], [str(c) for c in data.target_names]


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def run(out_dir: str | Path = "demo_output") -> int:
    """Run the demo, writing its files under ``out_dir``; returns 0 on success."""
    from pellucid.explainers.tabular import TabularExplainer

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model, x_train, x_test, _, feature_names, classes = classic_example()

    _section("TabularExplainer on the classic breast-cancer SVC")
    explainer = TabularExplainer(model, x_train, features=feature_names, classes=classes)
    print(f"chosen explainer: {explainer.explainer_name}")
    start = time.perf_counter()
    rows = x_test[:DEMO_ROWS]  # Kernel SHAP on an SVC costs ~0.3-1 s a row: a first look, not a long wait
    global_explanation = explainer.explain_global(rows)
    seconds = time.perf_counter() - start
    print(f"explained {len(rows)} of {len(x_test)} test rows in {seconds:.1f} s ({seconds / len(rows):.3f} s/row)")
    print("top 5 features overall:")
    for name, value in global_explanation.get_feature_importance_dict(top_k=5).items():
        print(f"  {name:28s} {value:.5f}")
    additivity = np.abs(
        global_explanation.local_values.sum(axis=1) + global_explanation.expected_values_array - global_explanation.model_output
    ).max()
    print(f"additivity (sum of values + expected value - model output): max |error| = {additivity:.2e}")

    _section("local explanation of x_test[0]")
    local = explainer.explain_local(x_test[0])
    names = local.get_ranked_local_names(top_k=3)
    values = local.get_ranked_local_values(top_k=3)
    for index, label in enumerate(classes):
        pairs = ", ".join(f"{n} ({v:+.4f})" for n, v in zip(names[index][0], values[index][0]))
        print(f"  class {label!r}: expected {local.expected_values_array[index]:.4f}; top 3: {pairs}")

    _section("MimicExplainer: a LightGBM surrogate of the SVC")
    from pellucid.explainers.mimic import MimicExplainer
    from pellucid.mimic.models import LGBMExplainableModel

    start = time.perf_counter()
    mimic = MimicExplainer(model, x_train, LGBMExplainableModel, features=feature_names, classes=classes)
    mimic_explanation = mimic.explain_global(x_test)
    fidelity = mimic.fidelity
    print(f"surrogate trained and explained in {time.perf_counter() - start:.1f} s; held-out fidelity: "
          f"accuracy {fidelity['accuracy']:.3f}, log-loss {fidelity['log_loss']:.3f} "
          f"({fidelity['held_out_rows']} rows)")
    print(f"top 5 features by the surrogate: {mimic_explanation.get_ranked_global_names(top_k=5)}")

    _section("save and load")
    path = global_explanation.save(out / "explanation.json")
    loaded = Explanation.load(path)
    print(f"saved {path} ({path.stat().st_size / 1024:.0f} KiB); loaded back equal: {loaded.equals(global_explanation)}")
    if not loaded.equals(global_explanation):
        return 1

    _section("scoring explainer: create, save, load, score")
    from pellucid.scoring import ScoringExplainer

    scoring = explainer.create_scoring_explainer(x_train)
    scoring.save(out / "scoring_explainer", exist_ok=True)
    scoring = ScoringExplainer.load(out / "scoring_explainer")
    scored = np.asarray(scoring.explain(x_test[:3]))
    print(f"{type(scoring).__name__} saved to {out / 'scoring_explainer'} and loaded back (checksums verified)")
    print(f"predictions for 3 rows: {[str(p) for p in scoring.predict(x_test[:3])]}; local importance values shape {scored.shape}")
    print(f"serve it: pellucid serve --scoring-explainer {out / 'scoring_explainer'} --port 8000")

    _section("explanation history (MLflow)")
    from pellucid.store import ExplanationClient, trim_top_k

    client = ExplanationClient.create_run("pellucid-demo", tracking_uri=f"sqlite:///{out.resolve()}/runs/mlflow.db")
    explanation_id = client.upload_model_explanation(global_explanation, top_k=5, comment="classic example")
    downloaded = client.download_model_explanation(explanation_id)
    listed = client.list_model_explanations(comment="classic example")
    same = downloaded.equals(trim_top_k(global_explanation, 5))
    print(f"uploaded explanation {explanation_id} (top 5 features per row) to run {client.run_id}; "
          f"{len(listed)} listed; downloaded back equal: {same}")
    if not same:
        return 1

    _section("dashboard")
    from pellucid.dashboard import ExplanationDashboard

    page = ExplanationDashboard(global_explanation).save_html(out / "dashboard.html")
    print(f"dashboard written to {Path(page).resolve()} (open it in a browser; works offline)")
    print("\ndemo finished")
    return 0
