"""The numpy TreeSHAP that answers while the compiled kernels build, and the switch between the two.

Oracle: the compiled numba kernels (themselves checked against shap and brute force in test_tree.py), called
directly. A numpy path that dropped a leaf, mixed up a path's features, ignored missing-value directions,
categorical splits, background weights or per-output trees would differ from them by far more than 1e-9.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.tree import DecisionTreeRegressor

from pellucid.explainers import _tree_numpy, _tree_warmup
from pellucid.explainers._tree_engine import PathDependentEngine
from pellucid.explainers._tree_ensemble import extract_ensemble
from pellucid.explainers._tree_interventional import InterventionalEngine
from pellucid.explainers.tree import TreeExplainer

pytestmark = pytest.mark.filterwarnings("ignore:.*(feature names|LightGBM binary classifier).*")

XC, YC = make_classification(400, 8, n_informative=5, n_classes=3, random_state=0)
XR, YR = make_regression(400, 8, noise=3.0, random_state=0)
RNG = np.random.default_rng(0)
XC_NAN = np.where(RNG.random(XC.shape) < 0.1, np.nan, XC)
XR_NAN = np.where(RNG.random(XR.shape) < 0.1, np.nan, XR)


def _lightgbm_categorical():
    import lightgbm

    X = XC_NAN.copy()
    X[:, 0] = np.where(RNG.random(len(X)) < 0.05, np.nan, YC * 13 + RNG.integers(0, 13, len(X)))  # categories
    model = lightgbm.LGBMClassifier(n_estimators=15, num_leaves=12, verbose=-1, random_state=0)
    return model.fit(X, YC, categorical_feature=[0]), X


def _lightgbm_zero_missing():
    import lightgbm

    X = np.round(XR_NAN, 1)
    model = lightgbm.LGBMRegressor(n_estimators=15, num_leaves=12, zero_as_missing=True, verbose=-1)
    return model.fit(X, YR), X


MODELS = {
    "decision_tree": lambda: (DecisionTreeRegressor(max_depth=12, random_state=0).fit(XR_NAN, YR), XR_NAN),
    "random_forest": lambda: (RandomForestClassifier(15, max_depth=10, random_state=0).fit(XC_NAN, YC), XC_NAN),
    "extra_trees": lambda: (ExtraTreesRegressor(10, random_state=0).fit(XR, YR), XR),
    "gradient_boosting": lambda: (GradientBoostingClassifier(n_estimators=8, max_depth=4, random_state=0)
                                  .fit(XC, YC), XC),
    "hist_gradient_boosting": lambda: (HistGradientBoostingClassifier(max_iter=8).fit(XC_NAN, YC > 0), XC_NAN),
    "lightgbm_categorical": _lightgbm_categorical,
    "lightgbm_zero_missing": _lightgbm_zero_missing,
    "xgboost": lambda: (pytest.importorskip("xgboost").XGBClassifier(n_estimators=8, max_depth=5)
                        .fit(XC_NAN, YC), XC_NAN),
    "catboost": lambda: (pytest.importorskip("catboost").CatBoostRegressor(iterations=8, depth=5, verbose=0,
                                                                          random_seed=0).fit(XR, YR), XR),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_numpy_values_equal_the_compiled_kernels(kind):
    model, X = MODELS[kind]()
    ensemble = extract_ensemble(model)
    rows = ensemble.cast_rows(X[:23])
    paths = _tree_numpy.leaf_paths(ensemble)
    lazy = _tree_numpy.LazyLeafPaths(ensemble)

    reference = PathDependentEngine(ensemble, table_budget_bytes=0).compiled_shap_values(rows)
    phi = np.zeros_like(reference)
    for start, stop in _tree_numpy.path_dependent_chunks(ensemble, paths, rows):
        _tree_numpy.path_dependent_values(ensemble, paths, rows[start:stop], phi[start:stop], lazy.w1)
    assert np.abs(reference).max() > 1e-3
    np.testing.assert_allclose(phi, reference, rtol=0, atol=1e-9)

    background = ensemble.cast_rows(X[100:130])
    weights = RNG.random(30)
    weights /= weights.sum()
    engine = InterventionalEngine(ensemble, background, weights)
    reference = engine.compiled_shap_values(rows)
    phi = np.zeros_like(reference)
    from pellucid.explainers._tree_interventional import unanimity_weights

    patterns = _tree_numpy.background_patterns(paths, paths.follows(ensemble, background))
    _tree_numpy.interventional_values(ensemble, paths, rows, patterns, weights, phi, *unanimity_weights(lazy.max_d))
    np.testing.assert_allclose(phi, reference, rtol=0, atol=1e-9)

    # the plain-numpy prediction and node means are the compiled ones bit for bit
    assert np.array_equal(_tree_numpy.predict(ensemble, rows) + ensemble.base_offset,
                          ensemble.compiled_predict(rows))
    # each internal node holds the cover-weighted mean of its children (what path-dependent values assume)
    internal = np.flatnonzero(ensemble.children_left >= 0)
    left, right = ensemble.children_left[internal], ensemble.children_right[internal]
    cover = ensemble.cover
    weighted = cover[left, None] * ensemble.value[left] + cover[right, None] * ensemble.value[right]
    np.testing.assert_allclose(cover[internal, None] * ensemble.value[internal], weighted, rtol=1e-12, atol=1e-12)


def test_goes_left_matches_the_kernel_on_every_special_case():
    from pellucid.explainers._tree_shap_numba import goes_left

    model, X = _lightgbm_categorical()
    ensemble = extract_ensemble(model)
    internal = np.flatnonzero(ensemble.children_left >= 0)
    values = np.concatenate([X[:40, 0], [np.nan, -1.0, 0.0, 1e-36, 3.7, 1e9, 31.0, 32.0, 63.0]])
    got = _tree_numpy.goes_left(ensemble, internal, np.broadcast_to(values, (len(internal), len(values))))
    for i, node in enumerate(internal):
        for j, x in enumerate(values):
            expected = goes_left(x, node, ensemble.threshold, ensemble.flags, ensemble.cat_start, ensemble.cat_len,
                                 ensemble.cat_bits)
            assert got[i, j] == expected, (node, x)
    assert ensemble.has_categorical


@pytest.fixture
def not_ready(monkeypatch):
    """Make every kind of compiled kernel look still compiling: the engines must use numpy."""
    monkeypatch.setattr(_tree_warmup, "ready", lambda kind: False)


@pytest.mark.parametrize("perturbation", ["tree_path_dependent", "interventional"])
def test_explainer_answers_with_numpy_while_compiling_and_says_so(not_ready, perturbation):
    model, X = MODELS["random_forest"]()
    cold = TreeExplainer(model, X[:40], feature_perturbation=perturbation).explain_local(X[50:60])
    assert any("10 of 10 rows explained by pellucid's numpy TreeSHAP" in note for note in cold.meta["notes"])
    ensemble = extract_ensemble(model)
    if perturbation == "interventional":
        engine = InterventionalEngine(ensemble, X[:40], np.full(40, 1 / 40))
    else:
        engine = PathDependentEngine(ensemble)
    np.testing.assert_allclose(cold.local_values, engine.compiled_shap_values(X[50:60]), rtol=0, atol=1e-9)
    np.testing.assert_allclose(cold.local_values.sum(axis=1) + cold.expected_values_array, cold.model_output,
                               atol=1e-9)


@pytest.mark.parametrize("perturbation", ["tree_path_dependent", "interventional"])
def test_call_switches_to_the_compiled_kernels_between_chunks(monkeypatch, perturbation):
    """Ready after the first numpy chunk: the rest of the call runs compiled, the note counts the numpy rows."""
    model, X = MODELS["gradient_boosting"]()
    calls = []

    def ready_after_first_chunk(kind):
        calls.append(kind)
        return kind == "predict" or len([c for c in calls if c != "predict"]) > 1

    ensemble = extract_ensemble(model)
    if perturbation == "interventional":
        engine = InterventionalEngine(ensemble, X[:20], np.full(20, 1 / 20))
    else:
        engine = PathDependentEngine(ensemble)
    monkeypatch.setattr(_tree_warmup, "ready", ready_after_first_chunk)
    monkeypatch.setattr(_tree_numpy, "BLOCK_BUDGET_BYTES", 1)  # one row per numpy chunk
    values, notes = engine.shap_values_and_notes(X[:7])
    assert any("1 of 7 rows explained by pellucid's numpy TreeSHAP" in note for note in notes), notes
    np.testing.assert_allclose(values, engine.compiled_shap_values(X[:7]), rtol=0, atol=1e-9)


def test_cold_cache_probe_answers_at_once_and_a_warm_cache_loads_synchronously(tmp_path):
    """In a new process with an empty numba cache, ``ready`` is False without compiling in the caller's thread,
    the background build finishes, and the next process loads the kernels from the cache (``ready`` True)."""
    script = textwrap.dedent("""
        import threading
        from pellucid.explainers import _tree_warmup
        first = _tree_warmup.ready("predict")
        builders = [t.name for t in threading.enumerate() if t.name.startswith("pellucid-treeshap")]
        finished = _tree_warmup.wait("predict", timeout=600)
        print(first, builders, finished)
    """)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PELLUCID_TREESHAP_COLD": "numpy"}
    run = [sys.executable, "-c", script]
    cold = subprocess.run(run, env=env, capture_output=True, text=True, timeout=900, check=True).stdout.split()
    assert cold == ["False", "['pellucid-treeshap-predict']", "True"]
    warm = subprocess.run(run, env=env, capture_output=True, text=True, timeout=900, check=True).stdout.split()
    assert warm == ["True", "[]", "True"]
    waiting = subprocess.run(run, env={**env, "NUMBA_CACHE_DIR": str(tmp_path / "empty"),
                                       "PELLUCID_TREESHAP_COLD": "wait"},
                             capture_output=True, text=True, timeout=900, check=True).stdout.split()
    assert waiting == ["True", "[]", "True"]
