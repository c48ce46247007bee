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

Run: ``PYTHONPATH=src python bench/bench_kernel.py [--rows 20] [--error-rows 5] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def load():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    return train_test_split(data.data, data.target, test_size=0.2, random_state=0)


def models(x_train, y_train, quick):
    from sklearn import svm
    from sklearn.linear_model import LogisticRegression

    found = {"svc": svm.SVC(gamma=0.001, C=100.0, probability=True).fit(x_train, y_train)}
    found["logistic"] = LogisticRegression(max_iter=10000).fit(x_train, y_train)
    try:
        import lightgbm

        found["lightgbm"] = lightgbm.LGBMClassifier(n_estimators=50, num_leaves=15, verbose=-1).fit(x_train, y_train)
    except ImportError:
        print("lightgbm not installed: skipped")
    if quick:
        found.pop("svc")
    return found


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

    explainer = KernelExplainer(model, background)
    explainer.explain_local(rows[:2])  # compile and warm up
    seconds, explanation = best_of(repeats, lambda: explainer.explain_local(rows))
    evaluations = explanation.meta["kernel_shap"]["model_evaluations"]

    # The floor: the model alone on as many synthetic rows, in calls of pellucid's size.
    rng = np.random.default_rng(0)
    synthetic = np.where(rng.random((evaluations, rows.shape[1])) < 0.5,
                         rows[rng.integers(0, len(rows), evaluations)],
                         background.data[rng.integers(0, len(background.data), evaluations)])
    per_call = DEFAULT_BATCH_CELLS // rows.shape[1]
    floor, _ = best_of(repeats, lambda: [model.predict_proba(synthetic[s:s + per_call])
                                         for s in range(0, evaluations, per_call)])

    peer = shap.KernelExplainer(model.predict_proba, background)
    shap_seconds, _ = best_of(1, lambda: peer.shap_values(rows, silent=True))
    n = len(rows)
    print(f"{name:10s} {evaluations // n:>10d} {seconds / n:12.4f} {shap_seconds / n:12.4f} {floor / n:12.4f} "
          f"{seconds / floor:16.2f} {shap_seconds / floor:12.2f} {shap_seconds / seconds:14.2f}")


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
    args = parser.parse_args()

    import shap

    x_train, x_test, y_train, _ = load()
    background = shap.kmeans(x_train, 10)
    found = models(x_train, y_train, args.quick)

    print(f"Time: {args.rows} test rows, background shap.kmeans(x_train, 10), nsamples='auto' in both "
          "(shap with its default l1_reg)")
    print(f"{'model':10s} {'evals/row':>10s} {'pellucid s/row':>12s} {'shap s/row':>12s} {'floor s/row':>12s} "
          f"{'pellucid/floor':>16s} {'shap/floor':>12s} {'shap/pellucid':>14s}")
    for name, model in found.items():
        time_section(name, model, background, x_test[: args.rows], args.repeats)

    budgets = [200, 1000] if args.quick else [200, 500, 1000, 2108]
    print("\nAccuracy at equal model evaluations (RMSE against the reference over rows x features x classes, "
          "3 seeds)")
    for name, model in found.items():
        reference_budget = 20000 if name == "svc" else 100000
        error_section(name, model, background, x_test[100:100 + args.error_rows], budgets, reference_budget)


if __name__ == "__main__":
    main()
