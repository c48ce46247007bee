"""Conversion to and from ``shap.Explanation`` (needs the ``shap`` package: ``pip install "pellucid[shap]"``).

Layouts: pellucid keeps ``local_values`` of shape (n_rows, n_features, n_outputs) with one output per class
(binary classifiers too) and one expected value per output. shap keeps values of shape (n_rows, n_features)
for one output or (n_rows, n_features, n_outputs), and ``base_values`` per row: (n_rows,) or
(n_rows, n_outputs). The conversion itself is in :mod:`pellucid._shap_convert`, below the core, so that
``Explanation.to_shap`` / ``Explanation.from_shap`` can use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pellucid._shap_convert import shap_state, to_shap
from pellucid.explanation import Explanation

__all__ = ["to_shap", "from_shap"]


def from_shap(
    shap_explanation: Any,
    *,
    task: str | None = None,
    classes: Sequence[Any] | None = None,
    method: str = "shap",
    output_space: str | None = None,
    rtol: float = 1e-9,
) -> Explanation:
    """An :class:`~pellucid.explanation.Explanation` from a ``shap.Explanation``.

    Parameters
    ----------
    shap_explanation : shap.Explanation
        Values of shape (n_rows, n_features) or (n_rows, n_features, n_outputs).
    task : {"classification", "regression"}, optional
        Default: classification when the values have an output axis or ``classes`` is given.
    classes : sequence, optional
        Class labels; default shap's ``output_names``, else 0 .. n_outputs - 1. Two classes with 2-D values
        (a binary model explained in one margin, as shap does for XGBoost) give class 0 the negated values,
        as pellucid's own explainers do.
    method : str, default "shap"
        Recorded as the explanation's method.
    output_space : str, optional
        Recorded in meta (shap does not say; e.g. "log_odds" or "probability").
    rtol : float, default 1e-9
        shap stores one base value per row; they must agree within this relative tolerance, since
        pellucid keeps one expected value per output.

    Returns
    -------
    Explanation
    """
    return Explanation(**shap_state(shap_explanation, task=task, classes=classes, method=method,
                                    output_space=output_space, rtol=rtol))
