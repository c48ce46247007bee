"""MimicExplainer (LightGBM surrogate) against interpret-community's, on the classic breast-cancer SVC.

Prints seconds for fitting the surrogate and explaining the test rows globally, the ratio, and both fidelities.
Run: ``.venv/bin/python bench/bench_mimic.py``
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from _peers import run_peer
from pellucid.demo import classic_example
from pellucid.explainers.mimic import MimicExplainer
from pellucid.mimic.models import LGBMExplainableModel

PEER = """
import json, time, warnings
warnings.filterwarnings("ignore")
from sklearn import svm
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from interpret_community.mimic import MimicExplainer
from interpret_community.mimic.models import LGBMExplainableModel
d = load_breast_cancer()
x_train, x_test, y_train, y_test = train_test_split(d.data, d.target, test_size=0.2, random_state=0)
model = svm.SVC(gamma=0.001, C=100.0, probability=True).fit(x_train, y_train)
start = time.perf_counter()
explainer = MimicExplainer(model, x_train, LGBMExplainableModel, augment_data=True, max_num_of_augmentations=10)
fit = time.perf_counter() - start
start = time.perf_counter()
explanation = explainer.explain_global(x_test)
explain = time.perf_counter() - start
# its surrogate.predict returns the raw margin; the class is the argmax of its probabilities
agreement = float((explainer.surrogate_model.predict_proba(x_test).argmax(1) == model.predict(x_test)).mean())
print(json.dumps({"fit": fit, "explain": explain, "agreement": agreement,
                  "top5": [int(i) for i in explanation.get_ranked_global_names()[:5]]}))
"""


def main() -> None:
    warnings.filterwarnings("ignore")
    model, x_train, x_test, _, names, classes = classic_example()
    start = time.perf_counter()
    explainer = MimicExplainer(model, x_train, LGBMExplainableModel, classes=classes, max_num_of_augmentations=10)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    explanation = explainer.explain_global(x_test)
    explain = time.perf_counter() - start
    agreement = float(np.mean(explainer.surrogate.predict(x_test) == model.predict(x_test)))
    top5 = explanation.get_ranked_global_names(5)
    print(f"pellucid MimicExplainer: fit {fit:.2f} s, explain {len(x_test)} rows {explain:.3f} s; "
          f"held-out fidelity {explainer.fidelity}; test agreement {agreement:.3f}")
    print(f"  top 5: {top5}")
    peer = run_peer(PEER)
    if peer is None:
        print("interpret-community: not available; nothing to compare")
        return
    print(f"interpret-community MimicExplainer: fit {peer['fit']:.2f} s, explain {peer['explain']:.3f} s; "
          f"test agreement {peer['agreement']:.3f}")
    print(f"  top 5: {[names[i] for i in peer['top5']]}")
    total, peer_total = fit + explain, peer["fit"] + peer["explain"]
    print(f"ratio (interpret-community / pellucid, fit + explain): {peer_total / total:.1f}x")


if __name__ == "__main__":
    main()
