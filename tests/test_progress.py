"""The progress bar of explain calls: shown when asked or when a visible call is slow, silent otherwise,
and never changing the values (blocks are explained exactly as one call would)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LinearRegression, LogisticRegression

import pellucid._progress as progress_module
from pellucid._progress import explain_in_blocks
from pellucid.errors import ArgumentError
from pellucid.explainers import kernel as kernel_module
from pellucid.explainers.kernel import KernelExplainer
from pellucid.explainers.lime import LIMEExplainer
from pellucid.explainers.linear import LinearExplainer
from pellucid.explainers.tabular import TabularExplainer


@pytest.fixture(scope="module")
def diabetes():
    data = load_diabetes()
    X, y = data.data[:200], data.target[:200]
    return LinearRegression().fit(X, y), X


def test_progress_true_writes_a_bar_and_false_writes_nothing(diabetes, capsys):
    model, X = diabetes
    explainer = LinearExplainer(model, X)
    shown = explainer.explain_local(X, progress=True)
    err = capsys.readouterr().err
    assert "explaining (linear" in err and f"/{X.shape[0]} [" in err
    silent = explainer.explain_local(X, progress=False)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(shown.local_values, silent.local_values)
    np.testing.assert_array_equal(shown.model_output, silent.model_output)


def test_default_is_silent_when_stderr_is_not_a_terminal(diabetes, monkeypatch, capsys):
    model, X = diabetes
    monkeypatch.setattr(progress_module, "THRESHOLD_S", 0.0)  # every call counts as slow
    assert not progress_module.visible(None)  # pytest's captured stderr is not a terminal, and no notebook
    LinearExplainer(model, X).explain_local(X)
    TabularExplainer(model, X).explain_global(X, batch_size=50)
    assert capsys.readouterr().err == ""


def test_default_shows_a_bar_on_a_slow_visible_call_only(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "visible", lambda progress: progress is not False)

    def explain(start, stop):
        time.sleep(0.01 * (stop - start))
        return np.arange(start, stop)

    monkeypatch.setattr(progress_module, "THRESHOLD_S", 0.2)
    parts = explain_in_blocks(100, explain)  # about 1 s expected: a bar
    assert "/100 [" in capsys.readouterr().err
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(100))
    monkeypatch.setattr(progress_module, "THRESHOLD_S", 50.0)
    parts = explain_in_blocks(100, explain)  # fast enough: no bar, the first block then the rest in one call
    assert capsys.readouterr().err == ""
    assert [len(p) for p in parts] == [2, 98]
    with pytest.raises(ArgumentError, match="progress"):
        explain_in_blocks(3, explain, progress="yes")


def test_kernel_values_are_identical_with_and_without_the_bar(monkeypatch, capsys):
    monkeypatch.setattr(kernel_module, "MAX_BLOCK_ROWS", 4)  # several coalition blocks in 23 rows
    data = load_breast_cancer()
    X = data.data[:, :6]
    model = LogisticRegression(max_iter=2000).fit(X, data.target)
    explainer = KernelExplainer(model, X[:30], nsamples=40, nclusters=None)
    with_bar = explainer.explain_local(X[:23], progress=True)
    assert "/23 [" in capsys.readouterr().err
    without = explainer.explain_local(X[:23], progress=False)
    np.testing.assert_array_equal(with_bar.local_values, without.local_values)
    np.testing.assert_array_equal(with_bar.standard_errors, without.standard_errors)
    assert with_bar.meta["kernel_shap"]["model_evaluations"] == without.meta["kernel_shap"]["model_evaluations"]
    assert with_bar.meta["kernel_shap"]["blocks"] == without.meta["kernel_shap"]["blocks"] == 6


def test_lime_is_explained_in_one_call_under_the_bar(capsys):
    data = load_breast_cancer()
    X = data.data[:, :5]
    model = LogisticRegression(max_iter=2000).fit(X, data.target)
    explainer = LIMEExplainer(model, X[:50], num_samples=200)
    with_bar = explainer.explain_local(X[:12], progress=True)
    assert "explaining (lime)" in capsys.readouterr().err
    without = explainer.explain_local(X[:12], progress=False)
    np.testing.assert_array_equal(with_bar.local_values, without.local_values)


def test_tabular_explain_global_batches_under_one_bar(diabetes, capsys):
    model, X = diabetes
    explainer = TabularExplainer(model, X)
    shown = explainer.explain_global(X, batch_size=30, progress=True)
    err = capsys.readouterr().err
    assert "explaining (LinearExplainer)" in err and "/200 [" in err
    assert "explaining (linear" not in err  # the batches' own explain calls stay quiet under the outer bar
    silent = explainer.explain_global(X, batch_size=30, progress=False)
    assert capsys.readouterr().err == ""
    np.testing.assert_allclose(shown.local_values, silent.local_values)


def test_permutation_importance_shows_a_bar_over_its_shuffles(diabetes, capsys):
    from pellucid.explainers.pfi import PFIExplainer

    model, X = diabetes
    y = model.predict(X) + np.random.default_rng(0).normal(size=X.shape[0])
    explainer = PFIExplainer(model, n_repeats=3)
    shown = explainer.explain_global(X, y, progress=True)
    err = capsys.readouterr().err
    assert "explaining (permutation_importance)" in err and "shuffle" in err
    silent = explainer.explain_global(X, y, progress=False)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(shown.global_values, silent.global_values)
