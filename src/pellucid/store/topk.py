"""Keep only the top-k features of an explanation, per row and output, by absolute value.

Representation of a top-k explanation (what :func:`trim_top_k` returns and what the history stores):

* the value arrays keep their full shape: ``local_values`` (n_rows, n_features, n_outputs) and, when present,
  ``standard_errors`` of the same shape; a global-only explanation's ``global_values`` (n_features, n_outputs);
* the features outside the top k of a row and output are *absent* and stored as ``0.0``;
* ``meta["top_k"]`` is k, and ``meta["top_k_indices"]`` lists the kept features, most important first:
  shape (n_rows, k, n_outputs) for local values (``top_k_indices[i][j][c]`` is the feature with the j-th largest
  |value| in row i for output c), shape (k, n_outputs) for global-only values. A boolean mask of kept entries is
  ``np.put_along_axis(np.zeros(shape, bool), np.asarray(meta["top_k_indices"]), True, axis=-2)``
  (see :func:`kept_mask`);
* ``meta["top_k_global"]`` holds ``{"rank": [...], "values": [...]}``, the k most important features overall of
  the full explanation and their importances: ``global_importance_rank``, ``get_ranked_global_names()`` and
  ``get_ranked_global_values()`` return those k, as the SDK's top-k downloads did;
* a note in ``meta["notes"]`` says what was dropped.

Expected values, model outputs and the evaluation data are kept whole. The other derived global views of a
trimmed explanation (``global_values``, per-class values: mean |local value|) count the absent entries as 0: they
are lower bounds of the full ones.
Ties in |value| keep feature order (lower index first).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from pellucid.errors import ArgumentError, ExplanationFormatError, UnsupportedInputError
from pellucid.explanation import Explanation

__all__ = ["trim_top_k", "kept_mask", "check_top_k"]


def check_top_k(top_k: Any) -> int | None:
    """Validate ``top_k``: None or a positive integer; raises :class:`ArgumentError` otherwise."""
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ArgumentError(f"top_k must be a positive integer or None; found {top_k!r}")
    return int(top_k)


def trim_top_k(explanation: Explanation, top_k: int) -> Explanation:
    """A copy of ``explanation`` holding only the ``top_k`` largest |values| per row and output.

    Parameters
    ----------
    explanation : Explanation
        Local explanation (values of shape (n_rows, n_features, n_outputs)) or global-only explanation
        (values of shape (n_features, n_outputs)). An explanation that is already top-k is trimmed further
        along its recorded order.
    top_k : int
        Number of features to keep, >= 1. When it is at least the number of features kept already (all
        features for a full explanation), the explanation is returned unchanged.

    Returns
    -------
    Explanation
        Same shapes; absent entries are 0 and ``meta["top_k"]``/``meta["top_k_indices"]`` describe what was kept.

    Examples
    --------
    >>> import numpy as np
    >>> e = Explanation(method="m", task="regression", features=["a", "b", "c"],
    ...                 local_values=np.array([[[1.0], [-3.0], [2.0]]]))
    >>> trim_top_k(e, 2).local_values[0, :, 0].tolist()
    [0.0, -3.0, 2.0]
    """
    if not isinstance(explanation, Explanation):
        raise UnsupportedInputError(f"expected a pellucid Explanation; found {type(explanation).__name__}")
    k = check_top_k(top_k)
    if k is None:
        raise ArgumentError("trim_top_k needs a positive integer top_k; found None")
    is_local = explanation.local_values is not None
    values = explanation.local_values if is_local else explanation.global_values
    previous = explanation.meta.get("top_k_indices")
    kept_before = explanation.n_features if previous is None else int(explanation.meta.get("top_k", 0))
    if k >= kept_before:
        return explanation
    feature_axis = values.ndim - 2
    if previous is None:
        order = np.argsort(-np.abs(values), axis=feature_axis, kind="stable")
    else:
        order = _recorded_order(previous, values.shape, kept_before)
    kept = np.take(order, np.arange(k), axis=feature_axis)
    mask = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(mask, kept, True, axis=feature_axis)

    meta = copy.deepcopy(explanation.meta)
    meta["top_k"] = k
    meta["top_k_indices"] = kept.tolist()
    # the overall ranking of the full explanation, as the SDK's top-k downloads gave it (computed before trimming)
    rank = np.asarray(explanation.global_importance_rank[:k], dtype=np.int64)
    meta["top_k_global"] = {"rank": rank.tolist(),
                            "values": [float(v) for v in explanation.get_ranked_global_values(k)]}
    scope = "row and output" if is_local else "output"
    meta["notes"] = list(meta.get("notes", [])) + [
        f"kept only the top {k} of {explanation.n_features} features per {scope} by |value|; the others are "
        f"absent and stored as 0 (meta['top_k_indices'] lists the kept features)"
    ]
    trimmed = np.where(mask, values, 0.0)
    errors = explanation.standard_errors
    return explanation.replace(
        local_values=trimmed if is_local else None,
        global_values=None if is_local else trimmed,
        standard_errors=None if errors is None else np.where(mask, errors, 0.0),
        meta=meta,
        explanation_id=explanation.id,
    )


def kept_mask(explanation: Explanation) -> np.ndarray:
    """Boolean mask of the entries a top-k explanation holds (all True for a full explanation).

    Returns
    -------
    ndarray of bool
        Shape (n_rows, n_features, n_outputs) for a local explanation, (n_features, n_outputs) for a global one.
    """
    values = explanation.local_values if explanation.local_values is not None else explanation.global_values
    indices = explanation.meta.get("top_k_indices")
    if indices is None:
        return np.ones(values.shape, dtype=bool)
    k = int(explanation.meta.get("top_k", 0))
    kept = _recorded_order(indices, values.shape, k)
    mask = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(mask, kept, True, axis=values.ndim - 2)
    return mask


def _recorded_order(indices: Any, shape: tuple[int, ...], k: int) -> np.ndarray:
    """``meta["top_k_indices"]`` as an int array, checked against the value shape."""
    try:
        order = np.asarray(indices, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise ExplanationFormatError(f"meta['top_k_indices'] must be integer feature indices; {exc}") from exc
    expected = list(shape)
    expected[-2] = k
    n_features = shape[-2]
    if order.shape != tuple(expected) or (order.size and (order.min() < 0 or order.max() >= n_features)):
        raise ExplanationFormatError(
            f"meta['top_k_indices'] must have shape {tuple(expected)} with indices below {n_features}; "
            f"found shape {order.shape}"
        )
    return order
