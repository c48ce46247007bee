"""Exact Shapley values by brute force, as an independent oracle for tests.

The game is the interventional (marginal) expectation over a weighted background:
``v(S) = sum_b w_b f(x_S, b_notS)``. Every one of the ``2**M`` coalitions is evaluated and the values come
from the Shapley formula itself,
``phi_i = sum_{S not containing i} |S|! (M - |S| - 1)! / M! (v(S + i) - v(S))``,
not from a regression, so the oracle shares no arithmetic with :mod:`pellucid.shapley`. It is meant for
small ``M`` (at most about 14).

Examples
--------
>>> import numpy as np
>>> f = lambda X: X[:, 0] * X[:, 1]
>>> values, expected = exact_shapley_values(f, np.array([[1.0, 1.0]]), np.zeros((1, 2)))
>>> values[0, :, 0].tolist(), expected.tolist()
([0.5, 0.5], [0.0])
"""

from __future__ import annotations

from collections.abc import Callable
from math import factorial
from typing import Any

import numpy as np

__all__ = ["exact_shapley_values", "exact_expected_value", "coalition_values"]

MAX_ORACLE_FEATURES = 16


def _outputs(predict: Callable[[Any], Any], values: np.ndarray, to_input: Callable | None) -> np.ndarray:
    output = np.asarray(predict(values if to_input is None else to_input(values)), dtype=np.float64)
    return output.reshape(output.shape[0], -1)


def _weights(background: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return np.full(background.shape[0], 1.0 / background.shape[0])
    weights = np.asarray(weights, dtype=np.float64)
    return weights / weights.sum()


def exact_expected_value(
    predict: Callable[[Any], Any],
    background: np.ndarray,
    weights: np.ndarray | None = None,
    to_input: Callable[[np.ndarray], Any] | None = None,
) -> np.ndarray:
    """Weighted mean model output over the background, ndarray of shape (n_outputs,)."""
    background = np.asarray(background)
    return _weights(background, weights) @ _outputs(predict, background, to_input)


def coalition_values(
    predict: Callable[[Any], Any],
    row: np.ndarray,
    background: np.ndarray,
    weights: np.ndarray | None = None,
    to_input: Callable[[np.ndarray], Any] | None = None,
) -> np.ndarray:
    """``v(S)`` for every coalition ``S`` (bit ``j`` of the index set when feature ``j`` is in S).

    Returns
    -------
    ndarray of shape (2**M, n_outputs)
    """
    row = np.asarray(row)
    background = np.asarray(background)
    n_features = row.shape[0]
    if n_features > MAX_ORACLE_FEATURES:
        raise ValueError(f"the brute-force oracle takes at most {MAX_ORACLE_FEATURES} features; found {n_features}")
    codes = np.arange(2**n_features)
    members = ((codes[:, None] >> np.arange(n_features)) & 1).astype(bool)  # (2^M, M)
    dtype = object if (row.dtype == object or background.dtype == object) else np.float64
    synthetic = np.empty((codes.size, background.shape[0], n_features), dtype=dtype)
    synthetic[...] = background[None, :, :]
    for j in range(n_features):  # a loop over features, fine for an oracle
        synthetic[members[:, j], :, j] = row[j]
    outputs = _outputs(predict, synthetic.reshape(-1, n_features), to_input)
    outputs = outputs.reshape(codes.size, background.shape[0], -1)
    return np.einsum("b,cbk->ck", _weights(background, weights), outputs)


def exact_shapley_values(
    predict: Callable[[Any], Any],
    rows: np.ndarray,
    background: np.ndarray,
    weights: np.ndarray | None = None,
    to_input: Callable[[np.ndarray], Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact interventional Shapley values of ``predict`` for each row, by enumerating all coalitions.

    Parameters
    ----------
    predict : callable
        ``predict(X) -> ndarray of shape (n,)`` or ``(n, n_outputs)``.
    rows : ndarray of shape (n_rows, M) or (M,)
        Rows to explain (numeric or object).
    background : ndarray of shape (n_background, M)
        Background rows.
    weights : ndarray of shape (n_background,), optional
        Background row weights (normalised here); uniform when omitted.
    to_input : callable, optional
        Converts a 2-D array of synthetic rows to the model's input (e.g. a DataFrame).

    Returns
    -------
    (ndarray of shape (n_rows, M, n_outputs), ndarray of shape (n_outputs,))
        The Shapley values and the expected value ``v(empty)``.
    """
    rows = np.atleast_2d(np.asarray(rows))
    background = np.asarray(background)
    n_features = rows.shape[1]
    sizes = ((np.arange(2**n_features)[:, None] >> np.arange(n_features)) & 1).sum(axis=1)
    coefficient = np.array(
        [factorial(s) * factorial(n_features - s - 1) / factorial(n_features) if s < n_features else 0.0
         for s in range(n_features + 1)]
    )
    results = []
    for row in rows:
        v = coalition_values(predict, row, background, weights, to_input)  # (2^M, K)
        phi = np.zeros((n_features, v.shape[1]))
        codes = np.arange(2**n_features)
        for j in range(n_features):
            without = codes[(codes >> j) & 1 == 0]
            phi[j] = (coefficient[sizes[without]][:, None] * (v[without | (1 << j)] - v[without])).sum(axis=0)
        results.append(phi)
    expected = exact_expected_value(predict, background, weights, to_input)
    return np.stack(results), expected
