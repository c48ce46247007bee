"""pellucid.adapter.ExplanationAdapter: the SDK's adapter from importance values computed elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from pellucid.adapter import ExplanationAdapter
from pellucid.errors import DataShapeError


def test_classification_values_keep_the_sdk_layout_and_a_positive_class_gets_its_negation():
    rng = np.random.default_rng(0)
    per_class = rng.normal(size=(3, 5, 4))  # [classes][rows][features]
    explanation = ExplanationAdapter(features=list("abcd"), classification=True).create_local(
        per_class, expected_values=[0.1, 0.2, 0.7])
    np.testing.assert_array_equal(explanation.local_importance_values, per_class)
    assert explanation.expected_values == [0.1, 0.2, 0.7]
    positive = rng.normal(size=(5, 4))
    binary = ExplanationAdapter(classification=True).create_local(positive)
    np.testing.assert_array_equal(binary.local_importance_values, np.stack([-positive, positive]))
    assert binary.features == [0, 1, 2, 3]  # default names: the column indices, as in the SDK


def test_global_importance_is_the_mean_absolute_local_value_and_include_local_false_drops_rows():
    values = np.array([[1.0, -4.0, 0.5], [-3.0, 2.0, 0.5]])
    adapter = ExplanationAdapter(features=["x", "y", "z"], method="captum.IntegratedGradients")
    explanation = adapter.create_global(values)
    assert explanation.get_ranked_global_names() == ["y", "x", "z"]
    np.testing.assert_allclose(explanation.get_ranked_global_values(), [3.0, 2.0, 0.5])
    assert explanation.method == "captum.IntegratedGradients"
    global_only = adapter.create_global(values, include_local=False)
    assert not hasattr(global_only, "local_importance_values")
    assert global_only.get_ranked_global_names() == ["y", "x", "z"]


def test_wrong_layouts_are_refused_with_what_was_expected():
    with pytest.raises(DataShapeError, match=r"\[rows\]\[features\]"):
        ExplanationAdapter().create_local(np.zeros((2, 3, 4)))
    with pytest.raises(DataShapeError, match="feature names"):
        ExplanationAdapter(features=["a"]).create_local(np.zeros((2, 3)))
