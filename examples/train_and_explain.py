"""Train a model, explain it globally and locally, check the explanation, save it as JSON and load it back.

Run: ``python examples/train_and_explain.py [OUTPUT_FOLDER]`` (default: a new temporary folder).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from pellucid import Explanation, TabularExplainer


def main(out: Path) -> None:
    # train
    data = load_breast_cancer()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.2, random_state=0)
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(x_train, y_train)
    print(f"test accuracy: {model.score(x_test, y_test):.3f}")

    # explain: TabularExplainer picks exact TreeSHAP for a gradient-boosted model
    explainer = TabularExplainer(model, x_train, features=list(data.feature_names),
                                 classes=list(data.target_names))
    global_explanation = explainer.explain_global(x_test)
    print(f"explainer: {explainer.explainer_name}, output space: {global_explanation.meta['output_space']}")
    print("top 5 features:")
    for name, value in global_explanation.get_feature_importance_dict(top_k=5).items():
        print(f"  {name:24s} {value:.4f}")

    # one prediction, explained: expected value + sum of SHAP values = the model's log-odds
    local = explainer.explain_local(x_test[0])
    predicted = int(model.predict(x_test[:1])[0])
    names = local.get_ranked_local_names(top_k=3)[predicted][0]
    print(f"row 0 predicted {str(data.target_names[predicted])!r}; pushed there most by {names}")
    error = np.abs(local.expected_values_array + local.local_values.sum(axis=1) - local.model_output).max()
    assert error < 1e-6, f"additivity broken: {error}"

    # save and load: versioned JSON, never pickle
    path = global_explanation.save(out / "explanation.json")
    assert Explanation.load(path).equals(global_explanation)
    print(f"saved and reloaded {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pellucid-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    main(folder)
