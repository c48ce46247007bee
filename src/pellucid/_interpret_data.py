"""interpret's ``data(key)`` dict of an explanation, with the keys the SDK's explanations used.

The SDK's explanations implemented interpret's explanation API: ``data(None)`` gave the overall (global)
data, ``data(-1)`` everything (overall, one dict per row, and the ``"mli"`` list), ``data(i)`` the dict of row
``i``. This module builds those dicts from pellucid's arrays; it reads the explanation's public views only.

Examples
--------
>>> import numpy as np
>>> from pellucid.explanation import Explanation
>>> e = Explanation(method="example", task="regression", features=["a", "b"],
...                 local_values=np.array([[[1.0], [-3.0]]]), expected_values=np.array([0.5]))
>>> sorted(e.data())
['intercept', 'mli', 'names', 'scores']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pellucid.errors import ArgumentError

if TYPE_CHECKING:
    from pellucid.explanation import Explanation

__all__ = ["explanation_data"]

BASE_VALUE = "Base Value"


def explanation_data(explanation: Explanation, key: int | None = None) -> dict:
    """interpret's data dict of ``explanation`` for ``key`` (None: overall, -1: everything, i: row i).

    Parameters
    ----------
    explanation : Explanation
    key : int, optional

    Returns
    -------
    dict
        ``key=None``: ``{"mli": [], "names", "scores", "intercept"}`` (``"intercept"`` only with expected
        values); ``key=-1``: ``{"overall", "specific", "mli"}``; ``key=i``: the row dict (see
        :func:`_row_data`).

    Raises
    ------
    ArgumentError
        For a key that is neither None, -1 nor a row index of a local explanation.
    """
    has_local = explanation.local_values is not None
    if key is None:
        return _overall(explanation)
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
        raise ArgumentError(f"data(key) takes None, -1 or a row index; found {key!r}")
    key = int(key)
    if key == -1:
        return _everything(explanation)
    if not has_local:
        # a global-only SDK explanation answered a row key with its base value alone
        return _with_base_value(explanation, {"mli": []})
    if not 0 <= key < explanation.n_rows:
        raise ArgumentError(f"data(key) takes a row index in [0, {explanation.n_rows}) or -1; found {key}")
    return _row_data(explanation, key)


def _expected(explanation: Explanation) -> list | None:
    return None if explanation.expected_values_array is None else explanation.expected_values_array.tolist()


def _overall(explanation: Explanation) -> dict:
    data: dict[str, Any] = {
        "mli": [],
        "names": list(explanation.features),
        "scores": explanation.global_importance_values,
    }
    if _expected(explanation) is not None:
        data["intercept"] = _expected(explanation)
    return data


def _with_base_value(explanation: Explanation, data: dict) -> dict:
    if _expected(explanation) is not None:
        data["extra"] = {"names": [BASE_VALUE], "scores": _expected(explanation), "values": [1]}
    return data


def _row_data(explanation: Explanation, row: int) -> dict:
    """Row ``row``'s dict: ``"scores"`` holds every row's local values in the SDK layout, as the SDK's did."""
    data: dict[str, Any] = {
        "mli": [],
        "type": "univariate",
        "names": list(explanation.features),
        "perf": _perf(explanation, row),
        "scores": np.asarray(explanation.local_importance_values),
        "values": None if explanation.eval_data is None else explanation.eval_data[row, :],
    }
    if _expected(explanation) is not None:
        data["intercept"] = _expected(explanation)
    return _with_base_value(explanation, data)


def _perf(explanation: Explanation, row: int) -> dict | None:
    """The SDK's perf dict of a row: it had no true labels, so it compared the prediction with itself."""
    predicted = explanation.eval_y_predicted
    if predicted is None:
        return None
    value = predicted[row]
    residual = 1 if isinstance(value, (str, bool, np.bool_)) else 0
    return {"actual": value, "predicted": value, "residual": residual, "actual_score": value,
            "predicted_score": value}


def _everything(explanation: Explanation) -> dict:
    expected = _expected(explanation)
    mli: list[dict] = []
    specific = None
    if explanation.local_values is not None:
        specific = [_row_data(explanation, row) for row in range(explanation.n_rows)]
        mli.append({
            "explanation_type": "local_feature_importance",
            "value": {
                "scores": explanation.local_importance_values,
                "perf": [entry["perf"] for entry in specific],
                "intercept": expected if expected is not None else [],
            },
        })
    global_entry: dict[str, Any] = {
        "explanation_type": "global_feature_importance",
        "value": {"scores": explanation.global_importance_values, "feature_list": list(explanation.features)},
    }
    if expected is not None:
        global_entry["value"]["intercept"] = expected
    if explanation.classes is None:
        global_entry["explanation_class_dimension"] = "single"
    mli.append(global_entry)
    overall = _overall(explanation)
    overall.pop("mli")
    return {"overall": overall, "specific": specific, "mli": mli}
