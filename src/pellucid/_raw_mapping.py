"""Map an engineered explanation to raw features: the one place where engineered values are summed.

This sits in the core, below :mod:`pellucid.explanation`: it reads an explanation and returns the arguments of
the raw one (:func:`raw_state`); ``Explanation.get_raw_explanation`` and
:func:`pellucid.transformations.raw_explanation` build the Explanation from them.

Local values: raw value of feature r = sum over engineered features e of ``weights[r, e] * value[e]`` per row
and output. Every column of the map sums to 1, so additivity carries over: per row and output, the raw values
sum to the engineered ones, and ``sum(raw values) + expected value = model output`` still holds. Expected
values and model outputs are unchanged.

Global-only explanations (no local values): the raw global value is the sum of the absolute map weights times
the engineered global values. For importances that are mean absolute local values this is an upper bound of
the raw mean absolute local value (triangle inequality), exact when a raw feature's engineered values never
have opposite signs; the explanation's meta says so.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from pellucid.data import as_dataset
from pellucid.errors import ArgumentError, DataShapeError, TransformationError
from pellucid.feature_map import FeatureMap, as_feature_map

if TYPE_CHECKING:  # read, never built here
    from pellucid.explanation import Explanation

__all__ = ["raw_state", "is_global"]


def raw_state(
    explanation: Explanation,
    feature_map: Any = None,
    raw_feature_names: list[str] | None = None,
    eval_data_raw: Any = None,
) -> dict[str, Any]:
    """The constructor arguments of ``explanation`` in raw features, summing engineered values through the map.

    Parameters
    ----------
    explanation : Explanation
        An engineered explanation (``is_raw`` False) with n_engineered features.
    feature_map : FeatureMap, matrix of shape (n_raw, n_engineered), or list of matrices, optional
        The raw <- engineered map (a list holds the maps of successive transformations, composed in order).
        Default: the map an explainer with transformations recorded in ``explanation.meta["feature_map"]``.
    raw_feature_names : list of str, optional
        Raw names in the raw data's column order; default the map's names.
    eval_data_raw : DataFrame or array-like of shape (n_rows, n_raw), optional
        The explained rows before transformation, kept as the raw explanation's ``eval_data``.

    Returns
    -------
    dict
        Keyword arguments of ``Explanation``: ``is_raw=True``; local values of shape (n_rows, n_raw, n_outputs)
        (or global values of shape (n_raw, n_outputs)); same expected values and model output;
        ``meta["raw_mapping"]`` lists the engineered features summed into each raw one.
    """
    if explanation.is_raw:
        raise ArgumentError("this explanation is already in raw features (is_raw=True); there is nothing to map")
    fmap = _resolve_map(explanation, feature_map, raw_feature_names)
    notes = list(fmap.notes)
    changes: dict[str, Any] = {"features": fmap.raw_features, "is_raw": True}
    if explanation.local_values is not None:
        changes["local_values"] = fmap.raw_local(explanation.local_values)
        if explanation.standard_errors is not None:
            changes["standard_errors"] = fmap.raw_standard_errors(explanation.standard_errors)
            notes.append("raw standard errors combine the engineered ones as if independent "
                         "(root of the weighted sum of squares)")
    else:
        changes["global_values"] = fmap.raw_global(explanation.global_values)
        notes.append("global-only explanation: each raw importance is the sum of its engineered importances, "
                     "an upper bound of the raw mean absolute local value")
    changes["eval_data"] = _raw_eval_data(eval_data_raw, explanation, fmap, notes)
    meta = copy.deepcopy(explanation.meta)
    meta.pop("feature_map", None)
    meta["notes"] = list(meta.get("notes", [])) + notes
    meta["raw_mapping"] = {
        "engineered_features": fmap.groups(),
        "allow_all_transformations": bool(fmap.shared),
        "shared": [s.describe() for s in fmap.shared],
        "global_values": "derived from raw local values" if explanation.local_values is not None
        else "sum of engineered global values (upper bound)",
    }
    changes["meta"] = meta
    return _new_state(explanation, changes)


def is_global(explanation: Explanation) -> bool:
    """True for an explanation made by ``explain_global`` (marked ``meta["scope"] == "global"``) or global-only."""
    return explanation.local_values is None or explanation.meta.get("scope") == "global"


def _resolve_map(explanation: Explanation, feature_map: Any, raw_feature_names: list[str] | None) -> FeatureMap:
    if feature_map is None:
        record = explanation.meta.get("feature_map")
        if record is None:
            raise ArgumentError(
                "pass feature_maps (a FeatureMap or a matrix of shape (n_raw, n_engineered)): this explanation "
                "was not made by an explainer with transformations, so it records no feature map"
            )
        fmap = FeatureMap.from_meta(record, explanation.features)
        if raw_feature_names is not None:
            fmap = as_feature_map(fmap, raw_feature_names)
    else:
        fmap = as_feature_map(feature_map, raw_feature_names, explanation.features)
    if fmap.n_engineered != explanation.n_features:
        raise TransformationError(
            f"the feature map has {fmap.n_engineered} engineered features but the explanation has "
            f"{explanation.n_features}; pass the map of the transformations that made these features"
        )
    return fmap


def _raw_eval_data(eval_data_raw: Any, explanation: Explanation, fmap: FeatureMap, notes: list[str]) -> Any:
    if eval_data_raw is None:
        if explanation.eval_data is not None:
            notes.append("raw eval_data not given: the raw explanation holds no eval_data")
        return None
    if explanation.local_values is None:
        notes.append("eval_data_raw ignored: a global-only explanation holds no rows")
        return None
    values = as_dataset(eval_data_raw, name="eval_data_raw").values
    expected = (explanation.n_rows, fmap.n_raw)
    if values.shape != expected:
        raise DataShapeError(
            f"eval_data_raw must have shape {expected} (one raw row per explained row); found {values.shape}"
        )
    return values


def _new_state(explanation: Explanation, changes: dict[str, Any]) -> dict[str, Any]:
    state = {
        "method": explanation.method,
        "task": explanation.task,
        "classes": explanation.classes,
        "local_values": None,
        "global_values": None,
        "expected_values": explanation.expected_values_array,
        "eval_data": None,
        "model_output": explanation.model_output,
        "standard_errors": None,
    }
    if explanation.local_values is not None and changes.get("local_values") is not None:
        # predictions do not depend on the features they are explained in
        state["single_row"] = explanation.single_row
        state["eval_y_predicted"] = explanation.eval_y_predicted
        state["eval_y_predicted_proba"] = explanation.eval_y_predicted_proba
    state.update(changes)
    return state

