"""The payload a dashboard page embeds: sampling, encoding, predictions, rounding, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pellucid.dashboard.page import payload_json
from pellucid.dashboard.payload import build_payload, pick_rows, round_significant
from pellucid.errors import ArgumentError, DataShapeError, ModelInterfaceError, UnsupportedInputError
from pellucid.explanation import Explanation

from .conftest import (
    global_only_explanation,
    large_explanation,
    linear_iris_explanation,
    linear_regression_explanation,
    raw_categorical_explanation,
)


def test_round_significant_matches_decimal_formatting():
    rng = np.random.default_rng(0)
    values = rng.normal(size=2000) * 10.0 ** rng.integers(-8, 8, size=2000)
    rounded = round_significant(values, 4)
    # Oracle: Python's own formatting to 4 significant digits.
    expected = np.array([float(f"{v:.4g}") for v in values])
    np.testing.assert_array_equal(rounded, expected)
    # What goes into the page is the short form: at most 4 significant digits in the JSON text.
    digits = [json.dumps(v).lstrip("-").split("e")[0].replace(".", "").strip("0") for v in rounded.tolist()]
    assert max(len(d) for d in digits) <= 4
    special = round_significant(np.array([0.0, np.nan, np.inf, -np.inf]), 3)
    assert special[0] == 0.0 and np.isnan(special[1]) and special[2] == np.inf and special[3] == -np.inf


def test_every_row_shown_below_the_limit_with_rounded_values():
    explanation, _, X, _ = linear_regression_explanation()
    payload = build_payload(explanation)
    assert payload["rows"] == list(range(442)) and not payload["sampled"]
    local = np.array(payload["local"])  # [outputs][features][rows]
    assert local.shape == (1, 10, 442)
    np.testing.assert_allclose(local[0].T, explanation.local_values[:, :, 0], rtol=5e-4, atol=1e-12)
    np.testing.assert_allclose(payload["data"][3]["v"], X[:, 3], rtol=5e-6)
    np.testing.assert_allclose(payload["global"]["overall"], explanation.global_values[:, 0], rtol=5e-4)
    assert payload["prediction"]["source"] == "model_output"
    np.testing.assert_allclose(payload["prediction"]["value"], explanation.model_output[:, 0], rtol=5e-6)


def test_large_explanation_is_sampled_with_a_fixed_seed_keeping_row_zero():
    explanation = large_explanation(n_rows=20_000, n_features=5)
    first = build_payload(explanation)
    again = build_payload(explanation)
    assert first["rows"] == again["rows"]
    rows = np.array(first["rows"])
    assert len(rows) == 5000 and rows[0] == 0 and np.all(np.diff(rows) > 0) and rows[-1] < 20_000
    assert first["sampled"] and any("showing 5,000 of 20,000 rows" in note for note in first["notes"])
    other_seed = build_payload(explanation, seed=7, keep_rows=[19_999, 5])
    assert other_seed["rows"] != first["rows"]
    assert {5, 19_999} <= set(other_seed["rows"]) and len(other_seed["rows"]) == 5000
    # The values shown are those of the sampled rows.
    local = np.array(first["local"])[0]
    np.testing.assert_allclose(local.T, explanation.local_values[rows, :, 0], rtol=5e-4, atol=1e-12)


def test_pick_rows_rejects_rows_outside_the_data():
    with pytest.raises(ArgumentError, match=r"keep_rows must be row numbers in \[0, 10\)"):
        pick_rows(10, 5, [12], 0)


def test_categorical_columns_are_encoded_as_category_codes():
    explanation = raw_categorical_explanation()
    payload = build_payload(explanation)
    colour = payload["data"][1]
    assert colour["type"] == "cat" and colour["cats"] == ["blue", "green", "red"]
    decoded = [colour["cats"][c] for c in colour["codes"]]
    assert decoded == list(explanation.eval_data[:, 1])
    # Object columns holding only numbers stay numeric.
    assert payload["data"][0]["type"] == "num" and payload["data"][2]["type"] == "num"
    assert payload["is_raw"] is True


def test_missing_categories_get_code_minus_one():
    explanation = raw_categorical_explanation(n_rows=6)
    data = explanation.eval_data.copy()
    data[2, 1] = None
    payload = build_payload(explanation, dataset=pd.DataFrame(data, columns=explanation.features))
    assert payload["data"][1]["codes"][2] == -1


def test_classifier_predictions_from_the_model_match_predict_proba():
    explanation, model, X, y = linear_iris_explanation()
    payload = build_payload(explanation, model=model, true_y=np.asarray(explanation.classes, dtype=object)[y])
    prediction = payload["prediction"]
    assert prediction["source"] == "model" and prediction["space"] == "probability"
    np.testing.assert_allclose(np.array(prediction["score"]).T, model.predict_proba(X), rtol=5e-4, atol=1e-9)
    assert prediction["label"] == model.predict(X).tolist()
    assert payload["true_y"]["cats"][:3] == ["setosa", "versicolor", "virginica"]
    assert payload["true_y"]["codes"] == y.tolist()


def test_classifier_with_predict_only_uses_its_labels():
    explanation, model, X, _ = linear_iris_explanation()

    class LabelsOnly:
        def predict(self, rows):
            return np.asarray(explanation.classes, dtype=object)[model.predict(rows)]

    prediction = build_payload(explanation, model=LabelsOnly())["prediction"]
    assert prediction["label"] == model.predict(X).tolist() and prediction["score"] is None


def test_model_predicting_unknown_labels_is_rejected():
    explanation, _, _, _ = linear_iris_explanation()

    class Wrong:
        def predict(self, rows):
            return np.full(len(rows), "tulip")

    with pytest.raises(ModelInterfaceError, match="not among the explanation's classes"):
        build_payload(explanation, model=Wrong())


def test_predictions_fall_back_to_additivity_and_say_so():
    explanation, model, X, _ = linear_regression_explanation()
    bare = explanation.replace(model_output=None)
    payload = build_payload(bare)
    assert payload["prediction"]["source"] == "additivity"
    np.testing.assert_allclose(payload["prediction"]["value"], model.predict(X), rtol=1e-5)
    assert any("additivity" in note for note in payload["notes"])


def test_global_only_explanation_has_no_local_values_or_rows():
    payload = build_payload(global_only_explanation())
    assert payload["local"] is None and payload["rows"] == [] and payload["data"] is None
    assert payload["prediction"] is None
    with pytest.raises(ArgumentError, match="pass dataset="):
        build_payload(global_only_explanation(), true_y=[0, 1])


def test_bad_input_gets_typed_errors():
    explanation, _, X, _ = linear_regression_explanation()
    with pytest.raises(UnsupportedInputError, match="needs a pellucid Explanation; found dict"):
        build_payload({"local_values": []})
    with pytest.raises(DataShapeError, match=r"one column per explained feature \(10\); found 3"):
        build_payload(explanation, dataset=X[:, :3])
    with pytest.raises(DataShapeError, match=r"one row per explained row \(442\); found 10"):
        build_payload(explanation, dataset=X[:10])
    with pytest.raises(DataShapeError, match=r"true_y must hold one value per row \(442\)"):
        build_payload(explanation, true_y=np.zeros(5))
    with pytest.raises(ArgumentError, match="max_points must be a positive integer"):
        build_payload(explanation, max_points=0)


def test_payload_json_cannot_break_out_of_its_script_element():
    explanation = Explanation(
        method="m", task="regression", features=["</script><script>alert(1)</script>", "b"],
        local_values=np.ones((2, 2, 1)), expected_values=[0.0],
    )
    text = payload_json(build_payload(explanation))
    assert "<" not in text
    assert json.loads(text)["features"][0] == "</script><script>alert(1)</script>"
