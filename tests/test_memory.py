"""Requests too large for memory are refused before anything is allocated (issue 16.5)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from pellucid._memory import LIMIT_VARIABLE, available_bytes, check_memory, format_bytes
from pellucid.errors import ArgumentError, ResourceLimitError
from pellucid.explainers.kernel import KernelExplainer

W = np.random.default_rng(0).normal(size=(50, 40))
MODEL = Ridge().fit(W, W[:, 0])


def test_nsamples_of_a_trillion_is_refused_before_allocating():
    with pytest.raises(ResourceLimitError, match=r"nsamples=1000000000000 .* needs about 1\.1 PiB of memory") as caught:
        KernelExplainer(MODEL, W[:10], nsamples=10**12)
    assert isinstance(caught.value, ArgumentError) and "Lower nsamples" in str(caught.value)


def test_the_limit_variable_bounds_a_request_at_explain_time(monkeypatch):
    explainer = KernelExplainer(MODEL, W[:10], nsamples=4000)
    needed = explainer.memory_needed(3, 40)
    # 2 * 4000 coalitions x 10 background rows x (40 mask bytes + 8 bytes x 1 output x 3 rows + 16)
    assert needed == 2 * 4000 * 10 * (40 + 24 + 16)
    monkeypatch.setenv(LIMIT_VARIABLE, str(needed - 1))
    with pytest.raises(ResourceLimitError, match="KernelExplainer with nsamples=4000"):
        explainer.explain_local(W[:3])
    monkeypatch.setenv(LIMIT_VARIABLE, str(needed))
    values = explainer.explain_local(W[:3]).local_values[:, :, 0]
    np.testing.assert_allclose(values.sum(axis=1), MODEL.predict(W[:3]) - explainer.expected_values[0], atol=1e-8)


def test_check_memory_and_available_bytes(monkeypatch):
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(3) == "3 B" and format_bytes(2**50 * 1.1) == "1.1 PiB"
    monkeypatch.setenv(LIMIT_VARIABLE, "1e6")
    assert available_bytes() <= 10**6
    check_memory(10**6, "a request", "lower it")
    with pytest.raises(ResourceLimitError, match=r"a request needs about 1\.9 MiB of memory; about 976\.6 KiB"):
        check_memory(2 * 10**6, "a request", "lower it")
