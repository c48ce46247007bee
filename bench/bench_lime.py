"""Benchmark: pellucid's LIMEExplainer against lime's LimeTabularExplainer on the classic breast-cancer SVC.

Both explain the same ``svm.SVC(gamma=0.001, C=100., probability=True)`` (train_test_split test_size=0.2,
random_state=0) with 5000 samples and 10 features per row, class 1. Printed per tool: seconds per row, the
seconds of it spent inside the model's predict_proba, and the ratio to lime. Also printed: the model
evaluation floor (one predict_proba on 5000 rows, what one row's neighbourhood costs at least when every row
gets its own), and the share of rows whose top-5 features agree with lime's. Since LIME is a sampled
estimate, lime's agreement with itself under another seed is printed as the yardstick.

pellucid runs twice: with its default shared neighbourhood (one neighbourhood per call, shared by all rows:
each row's estimate has lime's distribution, the model sees num_samples + n_rows rows in all) and with
``shared_samples=False`` (an independent neighbourhood per row, like lime).

Run: ``PYTHONPATH=src python bench/bench_lime.py [--rows 20] [--samples 5000] [--model svc|forest]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn import svm
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from pellucid.explainers.lime import LIMEExplainer


class TimedModel:
    """predict_proba that adds up the seconds spent in it."""

    def __init__(self, model):
        self.model = model
        self.seconds = 0.0

    def __call__(self, rows):
        start = time.perf_counter()
        output = self.model.predict_proba(rows)
        self.seconds += time.perf_counter() - start
        return output


def lime_run(train, rows, predict, *, samples, seed):
    from lime.lime_tabular import LimeTabularExplainer

    explainer = LimeTabularExplainer(train, random_state=seed)
    values = np.zeros(rows.shape)
    start = time.perf_counter()
    for i, row in enumerate(rows):
        explanation = explainer.explain_instance(row, predict, labels=(1,), num_features=10, num_samples=samples)
        for feature, weight in explanation.local_exp[1]:
            values[i, feature] = weight
    return values, time.perf_counter() - start


def pellucid_run(train, rows, predict, *, samples, shared):
    explainer = LIMEExplainer(predict, train, num_samples=samples, num_features=10, shared_samples=shared,
                              model_task="classification")
    start = time.perf_counter()
    values = explainer.explain_local(rows).local_values[:, :, 1]
    return values, time.perf_counter() - start


def agreement(a, b):
    """Share of rows with the same top-5 features, with at least 4 shared, and the mean row correlation."""
    top_a = np.argsort(-np.abs(a), axis=1, kind="stable")[:, :5]
    top_b = np.argsort(-np.abs(b), axis=1, kind="stable")[:, :5]
    overlap = np.array([len(set(x) & set(y)) for x, y in zip(top_a, top_b)])
    correlation = np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)])
    return float(np.mean(overlap == 5)), float(np.mean(overlap >= 4)), float(correlation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--model", choices=("svc", "forest"), default="svc",
                        help="svc: the classic SVC (default); forest: a random forest, on which LIME is less noisy")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.2, random_state=0)
    if args.model == "svc":
        model = svm.SVC(gamma=0.001, C=100.0, probability=True).fit(X_train, y_train)
    else:
        model = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_train, y_train)
    rows = X_test[: args.rows]
    n = len(rows)

    probe = np.random.default_rng(0).normal(size=(args.samples, X.shape[1])) * X_train.std(0) + X_train.mean(0)
    floor = min(_seconds(lambda: model.predict_proba(probe)) for _ in range(5))

    results = {}
    for name, run in (
        ("lime", lambda p: lime_run(X_train, rows, p, samples=args.samples, seed=0)),
        ("pellucid (shared neighbourhood)", lambda p: pellucid_run(X_train, rows, p, samples=args.samples,
                                                                   shared=True)),
        ("pellucid (one neighbourhood per row)", lambda p: pellucid_run(X_train, rows, p, samples=args.samples,
                                                                        shared=False)),
    ):
        timed = TimedModel(model)
        values, seconds = run(timed)
        results[name] = (values, seconds / n, timed.seconds / n)
    lime_again, _ = lime_run(X_train, rows, model.predict_proba, samples=args.samples, seed=1)

    print(f"breast-cancer {args.model}, {n} rows, {args.samples} samples, num_features=10, class 1")
    print(f"model evaluation floor (predict_proba on {args.samples} rows): {floor * 1e3:.1f} ms")
    lime_per_row = results["lime"][1]
    lime_values = results["lime"][0]
    print("agreement columns compare with lime (seed 0); lime's own row compares lime seed 1 with seed 0")
    print(f"{'':38s} {'s/row':>8s} {'model s/row':>12s} {'lime/this':>10s} {'same top-5':>11s} "
          f"{'top-5 >= 4':>11s} {'corr':>6s}")
    for name, (values, per_row, model_per_row) in results.items():
        same, close, correlation = agreement(lime_again if name == "lime" else values, lime_values)
        print(f"{name:38s} {per_row:8.4f} {model_per_row:12.4f} {lime_per_row / per_row:10.1f} "
              f"{same:11.2f} {close:11.2f} {correlation:6.2f}")


def _seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
