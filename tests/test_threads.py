"""Every explainer and scoring explainer is safe to call from many threads at once (issue 16.1).

Each case builds two identical objects: a twin answers every request one after the other (the reference), and
one shared, cold object (nothing cached yet, as a service that just started) answers the same requests from
32 threads released together. Every answer must equal the reference: same values, same expected values.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import lightgbm
import numpy as np
import pytest
from sklearn.datasets import load_diabetes, make_classification
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPRegressor

from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.pfi import PFIExplainer
from pellucid.explainers.tabular import TabularExplainer
from pellucid.explainers.tree import TreeExplainer

N_THREADS = 32
DIABETES_X, DIABETES_Y = load_diabetes(return_X_y=True)
CLS_X, CLS_Y = make_classification(n_samples=600, n_features=10, n_informative=6, random_state=0)


def _rows(X: np.ndarray, i: int, n: int = 2) -> np.ndarray:
    start = (i * 7) % (len(X) - n)
    return X[start:start + n]


def _answer(result) -> dict[str, np.ndarray]:
    """The numbers of an answer: an Explanation's arrays, or a scoring explainer's nested lists."""
    if isinstance(result, list):
        return {"values": np.asarray(result)}
    arrays = {}
    if not result.meta.get("algorithm", "").startswith("pellucid path-dependent"):
        # notes say what pellucid did on the caller's behalf, once each; path-dependent TreeSHAP's note describes
        # its table cache, which depends on how many rows were explained before, so it is left out
        arrays["notes"] = np.array([n for n in result.meta.get("notes", []) if "path tables" not in n], dtype=object)
    for name in ("expected_values_array", "local_values", "global_values", "model_output", "standard_errors"):
        value = getattr(result, name, None)
        if value is not None:
            arrays[name] = np.asarray(value)
    return arrays


def _hammer(build, call, rounds: int = 1) -> None:
    twin = build()
    reference = [_answer(call(twin, i)) for i in range(N_THREADS)]
    for _ in range(rounds):  # each round a fresh, cold shared object
        _check_concurrent(build(), call, reference)


def _check_concurrent(shared, call, reference) -> None:
    barrier = threading.Barrier(N_THREADS)

    def work(i: int):
        barrier.wait()
        return _answer(call(shared, i))

    with ThreadPoolExecutor(N_THREADS) as pool:
        answers = list(pool.map(work, range(N_THREADS)))
    wrong = [i for i, (got, want) in enumerate(zip(answers, reference))
             if got.keys() != want.keys()
             or not all(_same(got[k], want[k]) for k in want)]
    assert not wrong, f"{len(wrong)} of {N_THREADS} concurrent answers differ from the single-threaded ones: {wrong}"
    # and the shared object still answers right afterwards, one call at a time
    for i in (0, N_THREADS - 1):
        got = _answer(call(shared, i))
        assert all(_same(got[k], reference[i][k]) for k in reference[i])


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    if want.dtype == object:  # notes: what pellucid did on the caller's behalf, once each
        return got.shape == want.shape and got.tolist() == want.tolist()
    return got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-12, equal_nan=True)


RIDGE = Ridge().fit(DIABETES_X, DIABETES_Y)
LOGISTIC = LogisticRegression(max_iter=2000).fit(CLS_X, CLS_Y)
LGBM = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=15, verbose=-1, random_state=0).fit(CLS_X, CLS_Y)
# deep trees on many features: path tables are built and extended while the threads run
DEEP_X, DEEP_Y = make_classification(n_samples=3000, n_features=20, n_informative=12, random_state=0)
DEEP_LGBM = lightgbm.LGBMClassifier(n_estimators=100, num_leaves=63, min_child_samples=5, verbose=-1,
                                   random_state=0).fit(DEEP_X, DEEP_Y)
FOREST = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(DIABETES_X, DIABETES_Y)
MLP = MLPRegressor(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(DIABETES_X, DIABETES_Y)

CASES = {
    "kernel": (lambda: KernelExplainer(MLP, DIABETES_X[:50], nsamples=120, nclusters=5, seed=11),
               lambda e, i: e.explain_local(_rows(DIABETES_X, i))),
    "linear": (lambda: LinearExplainer(LOGISTIC, CLS_X), lambda e, i: e.explain_local(_rows(CLS_X, i, 5))),
    "lime": (lambda: LIMEExplainer(MLP, DIABETES_X, num_samples=300, seed=5),
             lambda e, i: e.explain_local(_rows(DIABETES_X, i, 1))),
    "pfi": (lambda: PFIExplainer(RIDGE, n_repeats=2, seed=3),
            lambda e, i: e.explain_global(_rows(DIABETES_X, i, 40), _rows(DIABETES_Y[:, None], i, 40)[:, 0])),
    "pfi_function": (lambda: PFIExplainer(lambda Z: np.asarray(Z) @ RIDGE.coef_ + RIDGE.intercept_, n_repeats=2),
                     lambda e, i: e.explain_global(_rows(DIABETES_X, i, 40), _rows(DIABETES_Y[:, None], i, 40)[:, 0])),
    "tree": (lambda: TreeExplainer(LGBM), lambda e, i: e.explain_local(_rows(CLS_X, i, 8))),
    "tree_interventional": (lambda: TreeExplainer(LGBM, CLS_X[:30], feature_perturbation="interventional"),
                            lambda e, i: e.explain_local(_rows(CLS_X, i, 3))),
    "tabular": (lambda: TabularExplainer(FOREST, DIABETES_X[:100]),
                lambda e, i: e.explain_global(_rows(DIABETES_X, i, 6), batch_size=4)),
    "scoring_linear": (lambda: LinearExplainer(RIDGE, DIABETES_X).create_scoring_explainer(DIABETES_X),
                       lambda e, i: e.explain(_rows(DIABETES_X, i, 5))),
    "scoring_tree": (lambda: TreeExplainer(LGBM).create_scoring_explainer(),
                     lambda e, i: e.explain(_rows(CLS_X, i, 8))),
    "scoring_tree_deep": (lambda: TreeExplainer(DEEP_LGBM).create_scoring_explainer(),
                          lambda e, i: e.explain(DEEP_X[20 * i:20 * (i + 1)])),
    "scoring_kernel": (lambda: KernelExplainer(MLP, DIABETES_X[:50], nclusters=4).create_scoring_explainer(),
                       lambda e, i: e.explain(_rows(DIABETES_X, i, 1))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_shared_object_answers_32_threads_like_one_thread(case):
    build, call = CASES[case]
    _hammer(build, call, rounds=3 if case == "scoring_tree_deep" else 1)
