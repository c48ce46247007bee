"""Benchmark: pellucid's KernelExplainer against shap.KernelExplainer, side by side.

Two questions, on the breast-cancer data (30 features) with a 10-row weighted k-means background
(``shap.kmeans(x_train, 10)``, passed to both libraries):

1. Time. Seconds per explained row for pellucid and shap, and the floor: seconds per row spent in the model
   alone on the same number of synthetic rows (built beforehand, predicted in calls of the size pellucid
   uses). For the classic SVC (expensive model) and for cheap models (logistic regression, a small LightGBM),
   where everything but the model shows.
2. Accuracy per model evaluation. At several budgets (coalitions per row, each costing one model row per
   background row in both libraries), the RMSE against reference values from a very large pellucid budget
   (its own standard error is printed), for pellucid, shap (``l1_reg=False``: its best unregularised
   estimate) and shap's default (``l1_reg="num_features(10)"``).

The time section also reports ``pellucid/model``: pellucid's total time over the time spent inside the model's
``predict_proba`` during that same run (a timing wrapper around the model), the share of the work that is
pellucid's own. ``--data wine`` runs the 13-feature, 3-class wine data with cheap models (an MLP pipeline,
logistic regression, KNN, a small LightGBM) instead. BLAS and OpenMP are limited to one thread for both
libraries (``--threads``), so the figures compare algorithms rather than thread scheduling.

Run: ``PYTHONPATH=src python bench/bench_kernel.py [--data wine] [--rows 20] [--error-rows 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def load(data: str = "cancer"):
    from sklearn.datasets import load_breast_cancer, load_wine
    from sklearn.model_selection import train_test_split

    loaded = load_wine() if data == "wine" else load_breast_cancer()
    return train_test_split(loaded.data, loaded.target, test_size=0.2, random_state=0)


def models(x_train, y_train, quick, data="cancer"):
    from sklearn import svm
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    found = {}
    if data == "wine":
        found["mlp"] = make_pipeline(StandardScaler(), MLPClassifier((32,), max_iter=2000, random_state=0))
        found["logistic"] = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        found["knn"] = make_pipeline(StandardScaler(), KNeighborsClassifier())
    else:
        found["svc"] = svm.SVC(gamma=0.001, C=100.0, probability=True)
        found["logistic"] = LogisticRegression(max_iter=10000)
    try:
        import lightgbm

        found["lightgbm"] = lightgbm.LGBMClassifier(n_estimators=50, num_leaves=15, verbose=-1, n_jobs=1)
    except ImportError:
        print("lightgbm not installed: skipped")
    if quick:
        found.pop("svc", None)
    return {name: model.fit(x_train, y_train) for name, model in found.items()}


class TimedModel:
    """The model with a stopwatch around predict_proba: how long a run spends inside the model."""

    def __init__(self, model):
        self.model = model
        self.classes_ = model.classes_
        self.seconds = 0.0

    def predict_proba(self, X):
        start = time.perf_counter()
        try:
            return self.model.predict_proba(X)
        finally:
            self.seconds += time.perf_counter() - start

    def predict(self, X):
        return self.model.predict(X)


def best_of(repeats, function):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def time_section(name, model, background, rows, repeats):
    import shap

    from pellucid.explainers.kernel import DEFAULT_BATCH_CELLS, KernelExplainer

    timed = TimedModel(model)
    explainer = KernelExplainer(timed, background)
    explainer.explain_local(rows[:2])  # compile and warm up
    runs = []
    for _ in range(repeats):
        timed.seconds = 0.0
        seconds, explanation = best_of(1, lambda: explainer.explain_local(rows))
        runs.append((seconds, timed.seconds))
    seconds, inside = min(runs)
    evaluations = explanation.meta["kernel_shap"]["model_evaluations"]

    # The floor: the model alone on as many synthetic rows, in calls of pellucid's size.
    rng = np.random.default_rng(0)
    synthetic = np.where(rng.random((evaluations, rows.shape[1])) < 0.5,
                         rows[rng.integers(0, len(rows), evaluations)],
                         background.data[rng.integers(0, len(background.data), evaluations)])
    per_call = min(2**15, DEFAULT_BATCH_CELLS // rows.shape[1])
    floor, _ = best_of(repeats, lambda: [model.predict_proba(synthetic[s:s + per_call])
                                         for s in range(0, evaluations, per_call)])

    peer = shap.KernelExplainer(timed.predict_proba, background)
    timed.seconds = 0.0
    shap_seconds, _ = best_of(1, lambda: peer.shap_values(rows, silent=True))
    shap_inside = timed.seconds
    n = len(rows)
    print(f"{name:10s} {evaluations // n:>10d} {seconds / n:12.4f} {shap_seconds / n:12.4f} {floor / n:12.4f} "
          f"{seconds / inside:15.2f} {shap_seconds / shap_inside:11.2f} {seconds / floor:15.2f} "
          f"{shap_seconds / seconds:14.2f}", flush=True)


def error_section(name, model, background, rows, budgets, reference_budget):
    import shap

    from pellucid.explainers.kernel import KernelExplainer

    reference = KernelExplainer(model, background, nsamples=reference_budget, seed=12345).explain_local(rows)
    truth = reference.local_values
    print(f"\n{name}: reference nsamples={reference_budget}, its mean standard error "
          f"{reference.standard_errors.mean():.2e} (mean |value| {np.abs(truth).mean():.2e})")
    print(f"{'nsamples':>9s} {'pellucid':>11s} {'shap l1=False':>14s} {'shap default':>13s} "
          f"{'shap/pellucid':>14s} {'4SE coverage':>13s}")
    for budget in budgets:
        ours, theirs, default, covered = [], [], [], []
        for seed in range(3):
            explanation = KernelExplainer(model, background, nsamples=budget, seed=seed).explain_local(rows)
            ours.append(np.mean((explanation.local_values - truth) ** 2))
            covered.append(np.mean(np.abs(explanation.local_values - truth) < 4 * explanation.standard_errors))
            np.random.seed(seed)  # noqa: NPY002 - shap draws from the global generator
            peer = shap.KernelExplainer(model.predict_proba, background)
            values = np.asarray(peer.shap_values(rows, nsamples=budget, l1_reg=False, silent=True))
            theirs.append(np.mean((values - truth) ** 2))
            np.random.seed(seed)  # noqa: NPY002
            values = np.asarray(peer.shap_values(rows, nsamples=budget, silent=True))
            default.append(np.mean((values - truth) ** 2))
        ours_rmse, theirs_rmse, default_rmse = (np.sqrt(np.mean(v)) for v in (ours, theirs, default))
        print(f"{budget:9d} {ours_rmse:11.2e} {theirs_rmse:14.2e} {default_rmse:13.2e} "
              f"{theirs_rmse / ours_rmse:14.2f} {np.mean(covered):13.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20, help="rows explained in the timing section")
    parser.add_argument("--error-rows", type=int, default=5, help="rows explained in the accuracy section")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip the SVC (minutes) and use fewer budgets")
    parser.add_argument("--data", choices=["cancer", "wine"], default="cancer")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP threads for both libraries")
    args = parser.parse_args()

    import os

    import shap
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    x_train, x_test, y_train, _ = load(args.data)
    background = shap.kmeans(x_train, 10)
    found = models(x_train, y_train, args.quick, args.data)

    print(f"Time ({args.data}, load average {os.getloadavg()[0]:.1f}): {args.rows} test rows, background "
          "shap.kmeans(x_train, 10), nsamples='auto' in both (shap with its default l1_reg)")
    print(f"{'model':10s} {'evals/row':>10s} {'pellucid s/row':>12s} {'shap s/row':>12s} {'floor s/row':>12s} "
          f"{'pellucid/model':>15s} {'shap/model':>11s} {'pellucid/floor':>15s} {'shap/pellucid':>14s}")
    for name, model in found.items():
        time_section(name, model, background, x_test[: args.rows], args.repeats)

    auto = 2 * x_train.shape[1] + 2048  # what nsamples="auto" resolves to
    budgets = [200, 1000] if args.quick else [200, 500, 1000, auto]
    print("\nAccuracy at equal model evaluations (RMSE against the reference over rows x features x classes, "
          "3 seeds)")
    error_rows = x_test[100:100 + args.error_rows] if len(x_test) > 100 + args.error_rows else x_test[:args.error_rows]
    for name, model in found.items():
        reference_budget = 20000 if name == "svc" else 100000
        error_section(name, model, background, error_rows, budgets, reference_budget)


if __name__ == "__main__":
    main()
