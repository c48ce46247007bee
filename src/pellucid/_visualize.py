"""``Explanation.visualize(key)``: the bar chart interpret drew for the SDK's explanations, offline.

interpret's ``visualize()`` sorted the 15 largest absolute importances and drew them as a horizontal plotly
bar chart: the global importances for ``key=None``, one row's local values for a row index (a classifier's
averaged over classes). This draws the same chart with plotly, without a server; the interactive views are in
:class:`pellucid.ExplanationDashboard`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pellucid.errors import ArgumentError, require

if TYPE_CHECKING:  # the explanation is read, never built: this module sits below pellucid.explanation
    from pellucid.explanation import Explanation

__all__ = ["visualize", "TOP_N"]

#: Bars drawn, as in interpret.
TOP_N = 15


def visualize(explanation: Explanation, key: int | None = None) -> Any:
    """A plotly Figure of the largest importances of ``explanation`` (global for None, else row ``key``).

    Parameters
    ----------
    explanation : Explanation
    key : int, optional
        None for the global importances; a row index for that row's local values.

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal bar trace, the largest absolute value on top.

    Raises
    ------
    ArgumentError
        For a row key on a global-only explanation or outside the rows.
    MissingDependencyError
        Without plotly (``pip install "pellucid[dashboard]"``).
    """
    scores, title = _scores(explanation, key)
    order = np.argsort(-np.abs(scores), kind="stable")[:TOP_N][::-1]  # plotly draws the first bar at the bottom
    go = require("plotly.graph_objects", "dashboard")
    names = [str(explanation.features[i]) for i in order]
    figure = go.Figure(go.Bar(x=scores[order].tolist(), y=names, orientation="h"))
    figure.update_layout(title=title, xaxis_title="importance", yaxis_title="feature")
    return figure


def _scores(explanation: Explanation, key: int | None) -> tuple[np.ndarray, str]:
    if key is None:
        return np.asarray(explanation.global_importance_values), f"{explanation.method}: overall importance"
    if explanation.local_values is None:
        raise ArgumentError(
            f"visualize(key={key!r}) draws a row's local values; this {explanation.method} explanation is "
            "global-only: call visualize() for its global importances"
        )
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)) or not 0 <= key < explanation.n_rows:
        raise ArgumentError(f"visualize(key) takes None or a row index in [0, {explanation.n_rows}); found {key!r}")
    row = explanation.local_values[int(key)]  # (n_features, n_outputs)
    return row.mean(axis=1), f"{explanation.method}: local importance of row {int(key)}"
