"""First-call time of TreeExplainer in a new process with an empty numba cache, next to shap's, in one run.

Each case runs in a fresh subprocess whose ``NUMBA_CACHE_DIR`` is a new empty folder (a fresh install, a
container, a CI job, a new worker). The model is fitted first (not timed); then, in this order:

* ``import``: ``from pellucid import TreeExplainer`` (numba included);
* ``first``: ``TreeExplainer(model[, background]).explain_local(X[:5])``, construction included;
* ``second``: another 5 rows on the same explainer;
* ``shap import`` and ``shap first``: ``shap.TreeExplainer(model[, background]).shap_values(X[:5])``.

``--warm-cache`` also runs each case a second time with a cache the first process filled (it waits for the
background compilation before exiting), which is what every later process sees. Values of the first call are
checked against shap's (max abs difference printed; shap is exact for these models).

Usage::

    python bench/bench_cold.py                          # every family, both perturbations
    python bench/bench_cold.py --only rf50 --warm-cache
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

CHILD = textwrap.dedent("""
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    from sklearn.datasets import make_classification
    case, perturbation, wait = sys.argv[1], sys.argv[2], sys.argv[3] == "wait"
    X, y = make_classification(2000, 20, n_informative=10, n_classes=2, random_state=0)
    def fit():
        if case == "rf50":
            from sklearn.ensemble import RandomForestClassifier
            return RandomForestClassifier(50, random_state=0, n_jobs=1).fit(X, y)
        if case == "extra_trees50":
            from sklearn.ensemble import ExtraTreesClassifier
            return ExtraTreesClassifier(50, max_depth=12, random_state=0, n_jobs=1).fit(X, y)
        if case == "decision_tree":
            from sklearn.tree import DecisionTreeClassifier
            return DecisionTreeClassifier(random_state=0).fit(X, y)
        if case == "gbm100":
            from sklearn.ensemble import GradientBoostingClassifier
            return GradientBoostingClassifier(n_estimators=100, max_depth=4, random_state=0).fit(X, y)
        if case == "hist_gbm100":
            from sklearn.ensemble import HistGradientBoostingClassifier
            return HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X, y)
        if case == "lightgbm200":
            import lightgbm
            return lightgbm.LGBMClassifier(n_estimators=200, verbose=-1, random_state=0, n_jobs=1).fit(X, y)
        if case == "xgboost200":
            import xgboost
            return xgboost.XGBClassifier(n_estimators=200, max_depth=6, n_jobs=1).fit(X, y)
        if case == "catboost200":
            import catboost
            return catboost.CatBoostClassifier(iterations=200, depth=6, verbose=0, random_seed=0,
                                               thread_count=1).fit(X, y)
        raise SystemExit(f"unknown case {case}")
    model = fit()
    background = X[:100] if perturbation == "interventional" else None
    out = {}
    t = time.perf_counter(); from pellucid import TreeExplainer; out["import"] = time.perf_counter() - t
    t = time.perf_counter()
    explainer = TreeExplainer(model, background, feature_perturbation=perturbation)
    first = explainer.explain_local(X[:5])
    out["first"] = time.perf_counter() - t
    t = time.perf_counter(); explainer.explain_local(X[5:10]); out["second"] = time.perf_counter() - t
    out["numpy"] = any("numpy TreeSHAP" in note for note in first.meta["notes"])
    t = time.perf_counter(); import shap; out["shap_import"] = time.perf_counter() - t
    t = time.perf_counter()
    kwargs = {"feature_perturbation": "interventional"} if background is not None else {}
    theirs = shap.TreeExplainer(model, background, **kwargs).shap_values(X[:5], check_additivity=False)
    out["shap_first"] = time.perf_counter() - t
    theirs = np.asarray(theirs)
    ours = first.local_values
    if theirs.ndim == 3 and theirs.shape[0] == 5:  # (rows, features, outputs)
        pass
    elif theirs.ndim == 3:  # (outputs, rows, features)
        theirs = np.moveaxis(theirs, 0, 2)
    else:
        theirs = theirs[:, :, None]
    out["max_diff"] = float(np.abs(ours[:, :, -theirs.shape[2]:] - theirs).max())
    if wait:
        from pellucid.explainers import _tree_warmup
        for kind in _tree_warmup.KINDS:
            _tree_warmup.wait(kind)
    print(json.dumps(out))
""")

CASES = ["rf50", "extra_trees50", "decision_tree", "gbm100", "hist_gbm100", "lightgbm200", "xgboost200",
         "catboost200"]


def run_case(case: str, perturbation: str, cache: str, wait: bool) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
    env.pop("PELLUCID_TREESHAP_COLD", None)
    completed = subprocess.run([sys.executable, "-c", CHILD, case, perturbation, "wait" if wait else "go"],
                               env=env, capture_output=True, text=True, timeout=1800)
    if completed.returncode != 0:
        print(completed.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{case} {perturbation} failed")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=CASES, choices=CASES)
    parser.add_argument("--perturbation", nargs="*", default=["tree_path_dependent", "interventional"],
                        choices=["tree_path_dependent", "interventional"])
    parser.add_argument("--warm-cache", action="store_true", help="also time a process with the cache filled")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    header = (f"{'case':<14}{'perturbation':<14}{'cache':<7}{'import':>8}{'first':>8}{'second':>8}{'numpy':>7}"
              f"{'shap first':>11}{'ratio':>7}{'max diff':>10}")
    print(header)
    for case in args.only:
        for perturbation in args.perturbation:
            with tempfile.TemporaryDirectory(prefix="pellucid-cold-numba-") as cache:
                runs = [("empty", run_case(case, perturbation, cache, wait=args.warm_cache))]
                if args.warm_cache:
                    runs.append(("warm", run_case(case, perturbation, cache, wait=False)))
            for label, r in runs:
                ratio = r["first"] / r["shap_first"]
                print(f"{case:<14}{perturbation[:12]:<14}{label:<7}{r['import']:>8.2f}{r['first']:>8.2f}"
                      f"{r['second']:>8.2f}{'yes' if r['numpy'] else 'no':>7}{r['shap_first']:>11.2f}"
                      f"{ratio:>6.1f}x{r['max_diff']:>10.1e}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}. ratio = pellucid first call / shap first call "
          "(both after import); seconds")


if __name__ == "__main__":
    main()
