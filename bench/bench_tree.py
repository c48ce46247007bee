"""Rows per second of pellucid's TreeExplainer and shap's TreeExplainer, side by side, in one run.

For each model and thread count, both explainers are built fresh and timed on the same rows ("cold":
construction + first explain call, which includes pellucid's extraction and table building, and shap's own
model loading), then timed again on the same object ("warm"). Rows are chosen so each timing lasts about
``--seconds``. numba is warmed up first; its first-call time (compile, or loading the on-disk cache) is
printed separately.

Threads: numba's thread count, OpenMP (threadpoolctl, which also covers LightGBM) and XGBoost's ``nthread``
are all set to the same number for both libraries; shap's own C++ TreeSHAP (sklearn models, interventional) is
single-threaded whatever the setting.

Usage::

    python bench/bench_tree.py                       # everything, 1 and 2 threads
    python bench/bench_tree.py --only rf100_cancer lgb500_interventional --threads 1
    python bench/bench_tree.py --cold-cache          # measure true numba compile time (empty cache)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

if "--cold-cache" in sys.argv:  # must happen before numba is imported
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="pellucid-bench-numba-")

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")


@dataclass
class Case:
    """One benchmark: a fitted model, rows to explain and an optional background."""

    name: str
    build: Callable[[], tuple]
    perturbation: str = "tree_path_dependent"


def _cancer():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def _synthetic():
    from sklearn.datasets import make_regression

    return make_regression(20_000, 50, n_informative=20, noise=10.0, random_state=0)


def _cases() -> list[Case]:
    from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor

    def sklearn_case(estimator, data):
        def build():
            X, y = data()
            return estimator.fit(X, y), X, None
        return build

    def lightgbm_case(background: int | None = None):
        def build():
            import lightgbm as lgb

            X, y = _synthetic()
            fitted = lgb.LGBMRegressor(n_estimators=500, verbose=-1, n_jobs=2, random_state=0).fit(X, y)
            return fitted, X, (X[:background] if background else None)
        return build

    def xgboost_case():
        import xgboost as xgb

        X, y = _synthetic()
        return xgb.XGBRegressor(n_estimators=500, max_depth=6, n_jobs=2, random_state=0).fit(X, y), X, None

    return [
        Case("rf100_cancer", sklearn_case(RandomForestRegressor(100, random_state=0, n_jobs=2), _cancer)),
        Case("et300_cancer", sklearn_case(ExtraTreesRegressor(300, random_state=0, n_jobs=2), _cancer)),
        Case("rf100_synthetic", sklearn_case(RandomForestRegressor(100, random_state=0, n_jobs=2), _synthetic)),
        Case("hgb500_synthetic", sklearn_case(
            HistGradientBoostingRegressor(max_iter=500, early_stopping=False, random_state=0), _synthetic)),
        Case("lgb500_synthetic", lightgbm_case()),
        Case("xgb500_synthetic", xgboost_case),
        Case("lgb500_interventional", lightgbm_case(100), "interventional"),
        Case("et300_synthetic", sklearn_case(ExtraTreesRegressor(300, random_state=0, n_jobs=2), _synthetic)),
    ]


def _set_threads(model, n: int) -> None:
    import numba

    numba.set_num_threads(n)
    # LightGBM's OpenMP pool is limited by threadpoolctl (Booster.reset_parameter on a fitted booster
    # segfaults in LightGBM 4.7)
    if type(model).__module__.startswith("xgboost"):
        model.get_booster().set_param({"nthread": n})


def _rows(X: np.ndarray, n: int) -> np.ndarray:
    reps = -(-n // len(X))
    return np.tile(X, (reps, 1))[:n] if reps > 1 else X[:n]


def _timed(make, explain, rows: np.ndarray) -> tuple[float, float, object]:
    """(cold seconds: construct + explain, warm seconds: explain again with the same object, last result)."""
    start = time.perf_counter()
    explainer = make()
    explain(explainer, rows)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    result = explain(explainer, rows)
    return cold, time.perf_counter() - start, result


def _calibrated(make, explain, X: np.ndarray, seconds: float) -> tuple[int, float, float, object]:
    """Grow the number of rows until one warm timing lasts about ``seconds``."""
    n = 1
    while True:
        cold, warm, result = _timed(make, explain, _rows(X, n))
        if warm >= seconds * 0.5 or n >= 200_000:
            return n, cold, warm, result
        n = int(min(max(n * 2, n * seconds / max(warm, 1e-4)), 200_000))


def run_case(case: Case, threads: list[int], seconds: float) -> list[dict]:
    import shap
    from threadpoolctl import threadpool_limits

    from pellucid.explainers.tree import TreeExplainer

    start = time.perf_counter()
    model, X, background = case.build()
    fit_seconds = time.perf_counter() - start
    explain_rows = X[len(X) // 2:] if background is not None else X

    def make_pellucid():
        return TreeExplainer(model, background, feature_perturbation=case.perturbation)

    def make_shap():
        return shap.TreeExplainer(model, background, feature_perturbation=case.perturbation)

    def pellucid_explain(explainer, rows):
        return explainer.explain_local(rows)

    def shap_explain(explainer, rows):
        return explainer.shap_values(rows, check_additivity=False)

    # warm numba up (compile or load the cache) on a few rows, and check both agree
    start = time.perf_counter()
    explanation = make_pellucid().explain_local(explain_rows[:2])
    first_call = time.perf_counter() - start
    reference = np.asarray(shap_explain(make_shap(), explain_rows[:2]))
    error = float(np.abs(explanation.local_values[:, :, 0] - reference.reshape(2, -1)).max())
    results = []
    for n_threads in threads:
        with threadpool_limits(limits=n_threads):
            _set_threads(model, n_threads)
            n_p, cold_p, warm_p, last = _calibrated(make_pellucid, pellucid_explain, explain_rows, seconds)
            n_s, cold_s, warm_s, _ = _calibrated(make_shap, shap_explain, explain_rows, seconds)
        notes = last.meta
        results.append({
            "case": case.name, "threads": n_threads, "fit_s": fit_seconds, "first_call_s": first_call,
            "pellucid_cold": n_p / cold_p, "pellucid_warm": n_p / warm_p, "shap_cold": n_s / cold_s,
            "shap_warm": n_s / warm_s, "rows_pellucid": n_p, "rows_shap": n_s, "max_abs_diff": error,
            "algorithm": notes["algorithm"], "notes": notes["notes"],
        })
        print(_format(results[-1]), flush=True)
    return results


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def _format(r: dict) -> str:
    return (f"{r['case']:24s} {r['threads']:>2d}  pellucid {_rate(r['pellucid_cold']):>9s} cold "
            f"{_rate(r['pellucid_warm']):>9s} warm   shap {_rate(r['shap_cold']):>8s} cold {_rate(r['shap_warm']):>8s} "
            f"warm   ratio cold "
            f"{r['pellucid_cold'] / r['shap_cold']:>6.1f}x warm {r['pellucid_warm'] / r['shap_warm']:>6.1f}x   "
            f"|diff| {r['max_abs_diff']:.1e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    parser.add_argument("--seconds", type=float, default=1.0, help="target length of one timing")
    parser.add_argument("--cold-cache", action="store_true", help="compile numba kernels from scratch")
    args = parser.parse_args(argv)
    cases = [c for c in _cases() if not args.only or c.name in args.only]
    print(f"rows per second (higher is better); numba cache: "
          f"{os.environ.get('NUMBA_CACHE_DIR', 'default (__pycache__)')}", flush=True)
    all_results = []
    for case in cases:
        results = run_case(case, args.threads, args.seconds)
        r = results[0]
        print(f"    fit {r['fit_s']:.1f}s, pellucid first call (numba compile/cache load + setup) "
              f"{r['first_call_s']:.2f}s, {r['algorithm']}; {'; '.join(r['notes'])}", flush=True)
        all_results.extend(results)
    print("\nsummary (cold ratio = fresh explainers, construction included; warm = second call)")
    for r in all_results:
        print(_format(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
