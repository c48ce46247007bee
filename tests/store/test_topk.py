"""trim_top_k and kept_mask against a brute-force oracle (no MLflow needed)."""

from __future__ import annotations

import numpy as np
import pytest

from pellucid.errors import ArgumentError, ExplanationFormatError, UnsupportedInputError
from pellucid.explanation import Explanation
from pellucid.store.topk import kept_mask, trim_top_k
from tests.store.helpers import classification_explanation, global_explanation, top_k_oracle


@pytest.mark.parametrize("k", [1, 2, 4])
def test_local_trim_matches_the_oracle_with_ties(k: int) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(-3, 4, size=(20, 6, 2)).astype(float)  # small integers: many ties in |value|
    explanation = Explanation(method="m", task="classification", features=list("abcdef"), classes=[0, 1],
                              local_values=values, expected_values=[0.1, -0.1], meta={"notes": ["given"]})
    trimmed = trim_top_k(explanation, k)
    expected, kept = top_k_oracle(values, k)
    assert np.array_equal(trimmed.local_values, expected)
    assert trimmed.meta["top_k"] == k and trimmed.meta["top_k_indices"] == kept.tolist()
    assert trimmed.meta["notes"][0] == "given" and f"top {k} of 6 features" in trimmed.meta["notes"][1]
    mask = kept_mask(trimmed)
    assert mask.sum() == 20 * k * 2 and np.array_equal(trimmed.local_values[~mask], np.zeros((~mask).sum()))
    assert np.array_equal(trimmed.local_values[mask], values[mask])
    assert trimmed.id == explanation.id and "top_k" not in explanation.meta  # the input is not changed


def test_trim_keeps_other_arrays_and_masks_standard_errors() -> None:
    explanation = classification_explanation(seed=1)
    trimmed = trim_top_k(explanation, 3)
    mask = kept_mask(trimmed)
    assert np.array_equal(trimmed.standard_errors, np.where(mask, explanation.standard_errors, 0.0))
    assert np.array_equal(trimmed.expected_values_array, explanation.expected_values_array)
    assert np.array_equal(trimmed.model_output, explanation.model_output)
    assert trimmed.eval_data.tolist() == explanation.eval_data.tolist()


def test_global_only_trim() -> None:
    explanation = global_explanation(seed=2)
    trimmed = trim_top_k(explanation, 3)
    expected, kept = top_k_oracle(explanation.global_values, 3)
    assert trimmed.local_values is None
    assert np.array_equal(trimmed.global_values, expected)
    assert trimmed.meta["top_k_indices"] == kept.tolist() and np.asarray(trimmed.meta["top_k_indices"]).shape == (3, 1)


def test_trimming_again_follows_the_recorded_order() -> None:
    # row 0 keeps a genuine 0.0 (feature 1) among its top 2; absent features are 0.0 too
    values = np.array([[[5.0], [0.0], [0.0], [0.0]], [[1.0], [-4.0], [2.0], [3.0]]])
    explanation = Explanation(method="m", task="regression", features=list("abcd"), local_values=values)
    top2 = trim_top_k(explanation, 2)
    assert top2.meta["top_k_indices"] == [[[0], [1]], [[1], [3]]]
    top1 = trim_top_k(top2, 1)
    assert top1.meta["top_k_indices"] == [[[0]], [[1]]]
    assert top1.local_values[:, :, 0].tolist() == [[5.0, 0.0, 0.0, 0.0], [0.0, -4.0, 0.0, 0.0]]
    assert trim_top_k(top2, 3) is top2 and trim_top_k(explanation, 4) is explanation  # nothing more to drop
    assert kept_mask(explanation).all()


def test_bad_top_k_and_bad_input() -> None:
    explanation = global_explanation(seed=3)
    for top_k in (0, -2, 1.5, True, None):
        with pytest.raises(ArgumentError, match="top_k"):
            trim_top_k(explanation, top_k)
    with pytest.raises(UnsupportedInputError, match="found dict"):
        trim_top_k({"local_values": [1.0]}, 1)
    broken = trim_top_k(explanation, 2)
    broken.meta["top_k_indices"] = [[0], [99]]
    with pytest.raises(ExplanationFormatError, match="indices below 7"):
        kept_mask(broken)


def test_top_k_keeps_the_full_explanations_overall_ranking_as_the_sdk_downloads_did():
    even = np.arange(40) % 2 == 0
    # d is the most important overall (5 in every row) but never in a row's top 2 (a/c or b/e, 9 and 8)
    local = np.zeros((40, 6, 1))
    local[:, 0, 0] = np.where(even, 9.0, 0.0)
    local[:, 1, 0] = np.where(even, 0.0, -9.0)
    local[:, 2, 0] = np.where(even, 8.0, 0.0)
    local[:, 3, 0] = 5.0
    local[:, 4, 0] = np.where(even, 0.0, 8.0)
    local[:, 5, 0] = 0.1
    full = Explanation(method="m", task="regression", features=list("abcdef"), local_values=local)
    assert full.get_ranked_global_names()[:2] == ["d", "a"]
    trimmed = trim_top_k(full, 2)
    assert trimmed.get_ranked_global_names() == ["d", "a"]
    assert trimmed.global_importance_rank == [3, 0]
    np.testing.assert_allclose(trimmed.get_ranked_global_values(), [5.0, 4.5])
    assert list(trimmed.get_feature_importance_dict()) == ["d", "a"]
    assert trimmed.get_ranked_global_names(top_k=1) == ["d"]
    further = trim_top_k(trim_top_k(full, 4), 1)
    assert further.get_ranked_global_names() == ["d"]
    np.testing.assert_allclose(further.get_ranked_global_values(), [5.0])
