"""Rescale SHAP values to probabilities: the old SDK's ``shap_values_output`` option.

The rule (the SDK's): per row and class, the gap ``error = target - (base + sum(values))`` is spread over the
features in proportion to ``|value|`` until it reaches the row's L1 norm ``sum(|values|)``; what is left of it is
spread equally over the features. With ``c = min(|error|, L1) / L1`` and ``s = sign(error)`` a value becomes
``value + s * c * |value| + s * max(|error| - L1, 0) / n_features``: positive values are multiplied by ``1 + s*c``
and negative ones by ``1 - s*c`` (signs kept while ``|error| < L1``), and ``base + sum`` equals the target
exactly. The base is the probability at the expected margin (``expit`` for a binary margin, ``softmax`` over a
multiclass margin; unchanged for an explanation already in probabilities or a regression).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pellucid.common.constants import ShapValuesOutput
from pellucid.errors import ArgumentError

__all__ = ["ShapValuesOutput", "read_shap_values_output", "rescale_matrix", "to_probability"]

#: Output spaces whose values are margins that a logistic / softmax link turns into probabilities.
MARGIN_SPACES = ("log_odds", "margin", "logit")


def read_shap_values_output(value: Any, allowed: tuple[ShapValuesOutput, ...]) -> ShapValuesOutput:
    """The ``shap_values_output`` argument as the enum, or ArgumentError naming the accepted values."""
    try:
        member = ShapValuesOutput(getattr(value, "value", value))
    except ValueError:
        member = None
    if member is None or member not in allowed:
        names = ", ".join(f"ShapValuesOutput.{m.name} ({m.value!r})" for m in allowed)
        raise ArgumentError(f"shap_values_output must be one of {names}; found {value!r}")
    return member


def rescale_matrix(values: np.ndarray, base: np.ndarray | float, target: np.ndarray) -> np.ndarray:
    """Rescale one output's values so that ``base + values.sum(axis=1)`` equals ``target``.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_features)
    base : float or ndarray of shape (n_rows,)
    target : ndarray of shape (n_rows,)

    Returns
    -------
    ndarray of shape (n_rows, n_features)
    """
    values = np.asarray(values, dtype=np.float64)
    error = np.asarray(target, dtype=np.float64) - base - values.sum(axis=1)
    sign, size = np.sign(error), np.abs(error)
    magnitude = np.abs(values)
    norm = magnitude.sum(axis=1)
    share = np.divide(np.minimum(size, norm), norm, out=np.zeros_like(norm), where=norm > 0)
    flat = np.maximum(size - norm, 0.0) / values.shape[1]
    scaled = values + (sign * share)[:, None] * magnitude + (sign * flat)[:, None]
    return scaled


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def to_probability(
    values: np.ndarray,
    expected: np.ndarray,
    model_output: np.ndarray,
    output_space: str,
    target: np.ndarray | None = None,
    *,
    classification: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A classifier's (or a teacher-scaled regressor's) values rescaled to add up to ``target``.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_features, n_outputs)
        Values in ``output_space``; a binary margin model's two outputs are ``-m`` and ``m``.
    expected : ndarray of shape (n_outputs,)
    model_output : ndarray of shape (n_rows, n_outputs)
        The explained output in ``output_space``.
    output_space : str
        ``"probability"``, ``"log_odds"``, ``"margin"``, ``"logit"`` or ``"raw"`` (a regression).
    target : ndarray of shape (n_rows, n_outputs), optional
        What base + values must add up to (the teacher's probabilities or predictions); default the explained
        model's own probabilities (``expit`` / ``softmax`` of a margin).
    classification : bool, default True
        False for a regression: the base stays the expected value and ``target`` is required.

    Returns
    -------
    values : ndarray of shape (n_rows, n_features, n_outputs)
    expected : ndarray of shape (n_outputs,)
        The base values (probabilities for a classifier).
    target : ndarray of shape (n_rows, n_outputs)
        The output the values now add up to.
    """
    values = np.asarray(values, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    n_outputs = values.shape[2]
    binary_margin = classification and output_space == "log_odds"  # outputs -m and m for classes 0 and 1
    if classification and output_space in MARGIN_SPACES:
        if binary_margin:
            p = _expit(expected[1])
            base = np.array([1.0 - p, p])
            own = _expit(np.asarray(model_output, dtype=np.float64)[:, 1])
            own = np.column_stack([1.0 - own, own])
        else:
            base = _softmax(expected)
            own = _softmax(np.asarray(model_output, dtype=np.float64))
    else:
        base, own = expected, np.asarray(model_output, dtype=np.float64)
    if target is None and not classification:
        raise ArgumentError("rescaling a regression's values needs the target outputs (the teacher's predictions)")
    target = own if target is None else np.asarray(target, dtype=np.float64).reshape(own.shape)
    if binary_margin:
        positive = rescale_matrix(values[:, :, 1], base[1], target[:, 1])
        scaled = np.stack([-positive, positive], axis=2)
        target = np.column_stack([1.0 - target[:, 1], target[:, 1]])
    else:
        scaled = np.stack([rescale_matrix(values[:, :, k], base[k], target[:, k]) for k in range(n_outputs)], axis=2)
    return scaled, base, target
