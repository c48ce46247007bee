"""Map an engineered explanation to raw features; the arithmetic is in the core (:mod:`pellucid._raw_mapping`)."""

from __future__ import annotations

from typing import Any

from pellucid._raw_mapping import raw_state
from pellucid.errors import ArgumentError
from pellucid.explanation import Explanation

__all__ = ["raw_explanation", "raw_feature_importances"]


def raw_explanation(
    explanation: Explanation,
    feature_map: Any = None,
    raw_feature_names: list[str] | None = None,
    eval_data_raw: Any = None,
) -> Explanation:
    """The explanation in raw features, summing engineered values through the feature map.

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
    Explanation
        ``is_raw=True``; local values of shape (n_rows, n_raw, n_outputs) (or global values of shape
        (n_raw, n_outputs)); same expected values and model output; ``meta["raw_mapping"]`` lists the
        engineered features summed into each raw one.

    Examples
    --------
    >>> import numpy as np
    >>> from pellucid.explanation import Explanation
    >>> engineered = Explanation(method="m", task="regression", features=["c_red", "c_blue", "size"],
    ...                          local_values=np.array([[[0.5], [-0.2], [1.0]]]), expected_values=np.array([3.0]))
    >>> raw = raw_explanation(engineered, np.array([[1, 1, 0], [0, 0, 1]]), ["colour", "size"])
    >>> raw.local_values[0, :, 0].tolist()
    [0.3, 1.0]
    """
    _check(explanation, "raw_explanation")
    return Explanation(**raw_state(explanation, feature_map, raw_feature_names, eval_data_raw))


def raw_feature_importances(explanation: Explanation, feature_map: Any = None) -> list:
    """Raw importances in the SDK's layout: local for a local explanation, global for a global one.

    Parameters
    ----------
    explanation : Explanation
        An engineered explanation.
    feature_map : FeatureMap, matrix of shape (n_raw, n_engineered), or list of matrices, optional
        As for :func:`raw_explanation`.

    Returns
    -------
    list
        A local explanation (from ``explain_local``): raw local values, ``[classes][rows][raw features]`` for a
        classifier, else ``[rows][raw features]`` (like ``local_importance_values``). A global explanation (from
        ``explain_global``, with or without local values): the overall importance per raw feature,
        ``[raw features]`` (like ``global_importance_values``), as the SDK's global explanations returned.
    """
    _check(explanation, "raw_feature_importances")
    return explanation.get_raw_feature_importances(feature_map)


def _check(explanation: Any, name: str) -> None:
    if not isinstance(explanation, Explanation):
        raise ArgumentError(f"{name} maps a pellucid Explanation; found {type(explanation).__name__}")
