"""One shared tree explainer called from many threads gives exactly the single-threaded answers.

The path-dependent engine grows its per-leaf tables as more rows are explained, so concurrent calls of
different sizes exercise the lazy builds (the engine, the layout, table growth) while other threads read.
The oracle is a fresh explainer of the same model, called from one thread.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

from pellucid.explainers._tree_engine import PathDependentEngine
from pellucid.explainers._tree_ensemble import extract_ensemble
from pellucid.explainers.tree import TreeExplainer
from pellucid.scoring import create_scoring_explainer

N_THREADS = 32
CALLS_PER_THREAD = 6

X, Y = make_classification(400, 10, n_informative=6, n_classes=3, random_state=0)


def _calls(thread: int) -> list[tuple[int, int]]:
    """(start, stop) row slices one thread explains: sizes from 1 to 150 rows, different per thread."""
    rng = np.random.default_rng(thread)
    sizes = rng.choice([1, 3, 17, 60, 150], size=CALLS_PER_THREAD)
    starts = rng.integers(0, len(X) - 150, size=CALLS_PER_THREAD)
    return [(int(s), int(s + n)) for s, n in zip(starts, sizes)]


def _hammer(explain) -> dict[tuple[int, int], list[np.ndarray]]:
    """Call ``explain(rows)`` from N_THREADS threads released together; answers keyed by row slice."""
    barrier = threading.Barrier(N_THREADS)
    answers: dict[tuple[int, int], list[np.ndarray]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        try:
            barrier.wait()
            for start, stop in _calls(thread):
                values = explain(X[start:stop])
                with lock:
                    answers.setdefault((start, stop), []).append(values)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the main thread)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(N_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    assert sum(len(v) for v in answers.values()) == N_THREADS * CALLS_PER_THREAD
    return answers


def _check(answers: dict[tuple[int, int], list[np.ndarray]], reference) -> None:
    worst = 0.0
    for (start, stop), values in answers.items():
        expected = reference(X[start:stop])
        for got in values:
            worst = max(worst, float(np.abs(got - expected).max()))
    assert worst <= 1e-9, f"concurrent answers differ from the single-threaded ones by up to {worst}"


@pytest.fixture(scope="module")
def forest():
    return RandomForestClassifier(n_estimators=12, max_depth=9, random_state=0).fit(X, Y)


@pytest.mark.parametrize("perturbation", ["tree_path_dependent", "interventional"])
def test_shared_tree_explainer_from_32_threads(forest, perturbation):
    background = X[:50]
    shared = TreeExplainer(forest, background, feature_perturbation=perturbation)
    answers = _hammer(lambda rows: shared.explain_local(rows).local_values)
    reference = TreeExplainer(forest, background, feature_perturbation=perturbation)
    _check(answers, lambda rows: reference.explain_local(rows).local_values)
    # and the shared explainer still answers right afterwards, alone
    _check({(0, 150): [shared.explain_local(X[:150]).local_values]},
           lambda rows: reference.explain_local(rows).local_values)


def test_shared_tree_scoring_explainer_from_32_threads(forest):
    shared = create_scoring_explainer(TreeExplainer(forest))
    answers = _hammer(lambda rows: shared.explain_local(rows).local_values)
    reference = TreeExplainer(forest)
    _check(answers, lambda rows: reference.explain_local(rows).local_values)


def test_shared_engine_tables_grow_safely_from_32_threads():
    """The engine itself, on a boosted model: interaction values and SHAP values mixed, tables growing."""
    model = GradientBoostingClassifier(n_estimators=15, max_depth=6, random_state=0).fit(X, Y)
    ensemble = extract_ensemble(model)
    shared = PathDependentEngine(ensemble, table_budget_bytes=2**20)
    calls = [0]

    def explain(rows):
        calls[0] += 1
        if calls[0] % 5 == 0:
            phi, _ = shared.interaction_values(rows)
            return phi
        return shared.shap_values(rows)

    answers = _hammer(explain)
    # the v1 recurrence without tables is an independent route to the same values
    reference = PathDependentEngine(ensemble, table_budget_bytes=0)
    _check(answers, reference.shap_values)
    assert shared.rows_explained >= N_THREADS


@pytest.mark.parametrize("perturbation", ["tree_path_dependent", "interventional"])
def test_used_explainer_pickles_without_its_locks(forest, perturbation):
    """Explainers travel to Dask workers by pickle: the locks stay behind and are made anew."""
    import pickle

    explainer = TreeExplainer(forest, X[:30], feature_perturbation=perturbation)
    before = explainer.explain_local(X[:20]).local_values
    copy = pickle.loads(pickle.dumps(explainer))
    np.testing.assert_allclose(copy.explain_local(X[:20]).local_values, before, rtol=0, atol=1e-12)
    answers = _hammer(lambda rows: copy.explain_local(rows).local_values)
    _check(answers, lambda rows: explainer.explain_local(rows).local_values)
