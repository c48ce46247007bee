"""The explainer registry and the capabilities callers ask instead of class names."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import pellucid
from pellucid import cli
from pellucid.errors import ArgumentError
from pellucid.explainers.base import CAPABILITIES, BaseExplainer
from pellucid.explainers.registry import AUTO_ORDER, EXPLAINERS
from pellucid.explainers.tabular import EXPLAINER_ORDER, TabularExplainer
from pellucid.scoring import KINDS

SRC = Path(pellucid.__file__).parent


def test_every_explainer_declares_itself() -> None:
    for name, cls in EXPLAINERS.items():
        assert issubclass(cls, BaseExplainer) and cls.name == name
        assert cls.capabilities and cls.capabilities <= CAPABILITIES, cls
        assert "global" in cls.capabilities
        assert cls.scoring_kind in (*KINDS, "surrogate", None)
    assert {cls.scoring_kind for cls in EXPLAINERS.values()} - {None, "surrogate"} == set(KINDS)


def test_the_cli_and_tabular_use_the_registry() -> None:
    assert set(cli.METHODS) == {"auto", *EXPLAINERS}
    assert EXPLAINER_ORDER == AUTO_ORDER and set(AUTO_ORDER) <= set(EXPLAINERS.values())
    for name, cls in EXPLAINERS.items():
        assert cli._explainer_class(name) is cls
    assert cli._explainer_class("auto") is TabularExplainer


def test_pfi_is_declared_global_only_and_refused_by_the_dask_backend() -> None:
    from pellucid.distributed.explain import _direct

    pfi = EXPLAINERS["pfi"]
    assert pfi.is_global_only() and not any(cls.is_global_only() for n, cls in EXPLAINERS.items() if n != "pfi")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, 2.0, 0.0])
    explainer = pfi(LinearRegression().fit(X, y), X)
    with pytest.raises(ArgumentError, match="does not explain rows independently"):
        _direct(explainer, None)
    linear = EXPLAINERS["linear"](LinearRegression().fit(X, y), X)
    assert _direct(linear, None)[0] is linear


def test_no_explainer_is_recognised_by_its_class_name_outside_its_module() -> None:
    names = "|".join(cls.__name__ for cls in EXPLAINERS.values())
    pattern = re.compile(rf"__name__\s*(==|!=|in)\s*\(?\s*[\"']({names})[\"']|[\"']({names})[\"']\s*:\s*[\"']")
    # pellucid/__init__.py maps public names to their modules for the lazy import (checked by test_imports.py)
    offenders = [f"{p.relative_to(SRC)}: {m.group(0)}" for p in sorted(SRC.rglob("*.py")) if p != SRC / "__init__.py"
                 for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert pattern.search('if type(x).__name__ == "KernelExplainer":')
    assert pattern.search('KIND_OF = {"TreeExplainer": "tree"}')


def test_linear_to_state_is_the_fitted_model_and_a_copy() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    model = LinearRegression().fit(X, X @ np.array([1.0, -2.0, 0.5]) + 3.0)
    explainer = EXPLAINERS["linear"](model, X)
    state = explainer.to_state()
    assert np.allclose(state["coef"], model.coef_[None, :]) and np.allclose(state["intercept"], [model.intercept_])
    assert np.allclose(state["mean"], X.mean(axis=0)) and state["task"] == "regression" and state["classes"] is None
    state["coef"][:] = 0.0  # the explainer keeps its own arrays
    local = explainer.explain_local(X[:2]).local_values[:, :, 0]
    assert np.allclose(local, (X[:2] - X.mean(axis=0)) * model.coef_)


def test_the_public_interface_the_backends_read() -> None:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    labels = (frame["a"] + frame["b"] > 0).astype(int)
    plain = EXPLAINERS["linear"](LogisticRegression().fit(frame.values, labels), frame.values)
    assert not plain.has_transformations and plain.expected_n_features() == 2
    assert np.array_equal(plain.default_rows().values, frame.values)
    assert plain.task_and_classes() == ("classification", [0, 1])
    scaler = ColumnTransformer([("scale", StandardScaler(), ["a", "b"])]).fit(frame)
    model = LogisticRegression().fit(scaler.transform(frame), labels)
    transformed = EXPLAINERS["linear"](model, frame, transformations=scaler)
    assert transformed.has_transformations
    assert np.allclose(np.asarray(transformed.default_rows(), dtype=float), frame.values)  # raw, not scaled
    assert not np.allclose(transformed.background.values, frame.values)
