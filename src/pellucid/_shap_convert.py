"""Conversion to and from ``shap.Explanation``, below the core: it reads explanations and returns the
arguments of new ones (the public functions are in :mod:`pellucid.shap_interop`) (needs the ``shap`` package: ``pip install "pellucid[shap]"``).

Layouts: pellucid keeps ``local_values`` of shape (n_rows, n_features, n_outputs) with one output per class
(binary classifiers too) and one expected value per output. shap keeps values of shape (n_rows, n_features)
for one output or (n_rows, n_features, n_outputs), and ``base_values`` per row: (n_rows,) or
(n_rows, n_outputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pellucid.errors import ArgumentError, DataShapeError, require

if TYPE_CHECKING:
    from pellucid.explanation import Explanation

__all__ = ["to_shap", "shap_state"]

# Explanation's task names (pellucid.explanation.CLASSIFICATION / REGRESSION; this module sits below it).
CLASSIFICATION = "classification"
REGRESSION = "regression"


def to_shap(explanation: Explanation, *, output: Any = "all") -> Any:
    """The explanation as a ``shap.Explanation`` (so every ``shap.plots`` function can draw it).

    Parameters
    ----------
    explanation : Explanation
        An explanation with local values.
    output : "all" or class label, default "all"
        ``"all"``: values of shape (n_rows, n_features, n_classes) for a classifier and (n_rows, n_features)
        for a regressor; a class label: that class's values, shape (n_rows, n_features) (what shap's single-
        output plots such as ``waterfall`` and ``beeswarm`` need).

    Returns
    -------
    shap.Explanation
        ``values``, ``base_values`` (the expected value repeated per row), ``data`` (eval_data),
        ``feature_names`` and, for every class, ``output_names``.
    """
    shap = require("shap", "shap")
    if explanation.local_values is None:
        raise ArgumentError(
            f"a shap.Explanation holds local values; this {explanation.method} explanation is global-only"
        )
    local = explanation.local_values
    n_rows = local.shape[0]
    expected = explanation.expected_values_array
    if expected is None:
        expected = np.full(explanation.n_outputs, np.nan)
    output_names = None
    if explanation.classes is None:
        values, base = local[:, :, 0], np.repeat(expected[0], n_rows)
    elif output == "all":
        values, base = local, np.tile(expected, (n_rows, 1))
        output_names = [str(c) for c in explanation.classes]
    else:
        matches = [i for i, c in enumerate(explanation.classes) if c == output or str(c) == str(output)]
        if not matches:
            raise ArgumentError(f"output must be 'all' or one of the classes {explanation.classes}; found {output!r}")
        values, base = local[:, :, matches[0]], np.repeat(expected[matches[0]], n_rows)
    data = explanation.eval_data
    return shap.Explanation(
        values=np.array(values), base_values=np.array(base), data=None if data is None else np.array(data),
        feature_names=list(explanation.features), output_names=output_names,
    )


def shap_state(
    shap_explanation: Any,
    *,
    task: str | None = None,
    classes: Sequence[Any] | None = None,
    method: str = "shap",
    output_space: str | None = None,
    rtol: float = 1e-9,
) -> dict[str, Any]:
    """The ``Explanation`` arguments of a ``shap.Explanation``: see :func:`pellucid.shap_interop.from_shap`.

    Returns
    -------
    dict
        Keyword arguments of :class:`~pellucid.explanation.Explanation`.
    """
    values = np.asarray(getattr(shap_explanation, "values", None), dtype=np.float64)
    if values.ndim not in (2, 3):
        raise DataShapeError(
            f"expected shap values of shape (n_rows, n_features) or (n_rows, n_features, n_outputs); found {values.shape}"
        )
    n_rows, n_features = values.shape[:2]
    names = getattr(shap_explanation, "feature_names", None)
    features = [str(n) for n in names] if names is not None else [f"feature_{j}" for j in range(n_features)]
    if classes is None and values.ndim == 3:
        output_names = getattr(shap_explanation, "output_names", None)
        classes = list(output_names) if output_names is not None else list(range(values.shape[2]))
    if task is None:
        task = CLASSIFICATION if classes is not None else REGRESSION
    base = _one_base_per_output(shap_explanation, n_rows, rtol)
    if task == REGRESSION:
        if values.ndim == 3:
            if values.shape[2] != 1:
                raise DataShapeError(f"a regression explanation has one output; found {values.shape[2]}")
            values = values[:, :, 0]
        local, expected = values[:, :, None], base
    else:
        if classes is None:
            raise ArgumentError("a classification explanation needs its classes; pass classes=")
        if values.ndim == 2:
            if len(classes) != 2:
                raise DataShapeError(
                    f"2-D shap values explain one output; with {len(classes)} classes pass 3-D values"
                )
            local = np.stack([-values, values], axis=2)
            expected = None if base is None else np.concatenate([-base, base])
        else:
            local, expected = values, base
    data = getattr(shap_explanation, "data", None)
    data = None if data is None or np.ndim(data) != 2 else np.asarray(data)
    meta: dict[str, Any] = {"source": "shap.Explanation"}
    if output_space is not None:
        meta["output_space"] = output_space
    return dict(method=method, task=task, features=features,
                classes=None if task == REGRESSION else list(classes), local_values=local,
                expected_values=expected, eval_data=data, meta=meta)


def _one_base_per_output(shap_explanation: Any, n_rows: int, rtol: float) -> np.ndarray | None:
    base = getattr(shap_explanation, "base_values", None)
    if base is None:
        return None
    base = np.asarray(base, dtype=np.float64)
    if base.ndim == 0:
        return base.reshape(1)
    if base.shape[0] != n_rows:
        raise DataShapeError(f"expected one base value per row ({n_rows}); found base_values of shape {base.shape}")
    per_output = base.reshape(n_rows, -1)
    first = per_output[0]
    if not np.allclose(per_output, first, rtol=rtol, atol=rtol * np.abs(first).max()):
        raise DataShapeError(
            "the shap explanation's base values differ between rows; pellucid keeps one expected value per "
            "output, so explain the rows against one background"
        )
    return first.copy()
