"""Plots of one row: waterfall and force."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pellucid.errors import ArgumentError
from pellucid.plots._common import (
    NEGATIVE,
    POSITIVE,
    format_value,
    new_axes,
    output_index,
    output_label,
    require_local,
    require_row,
    space,
    top_features,
)

if TYPE_CHECKING:
    from pellucid.explanation import Explanation

__all__ = ["plot_waterfall", "plot_force", "row_contributions"]


def row_contributions(explanation: Explanation, row: int, k: int, top_k: int) -> tuple[list[str], np.ndarray]:
    """Labels and values of one row's ``top_k - 1`` largest |values| plus one "N other features" total.

    Returns
    -------
    labels : list of str
        ``"name = value"`` when the explanation holds eval_data, else the name; largest |value| first.
    values : ndarray of shape (n_shown,)
        Their local values; the last one is the sum of the others when features were folded.
    """
    local = require_local(explanation, "this plot")[row, :, k]
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ArgumentError(f"top_k must be a positive integer; found {top_k!r}")
    n_single = explanation.n_features if top_k >= explanation.n_features else max(int(top_k) - 1, 1)
    order = top_features(np.abs(local), n_single)
    labels = []
    for j in order:
        name = explanation.features[j]
        if explanation.eval_data is not None:
            name = f"{name} = {format_value(explanation.eval_data[row, j])}"
        labels.append(name)
    values = list(local[order])
    rest = np.setdiff1d(np.arange(explanation.n_features), order)
    if rest.size:
        labels.append(f"{rest.size} other features")
        values.append(float(local[rest].sum()))
    return labels, np.asarray(values, dtype=np.float64)


def _base(explanation: Explanation, k: int, plot: str) -> float:
    expected = explanation.expected_values_array
    if expected is None:
        raise ArgumentError(f"{plot} starts at the expected value; this {explanation.method} explanation has none")
    return float(expected[k])


def plot_waterfall(explanation: Explanation, row: int = 0, *, top_k: int = 10, output: Any = None,
                   ax: Any = None) -> Any:
    """How one row's output is reached from the expected value, one bar per feature.

    Bars run from the bottom (starting at the expected value) to the top (ending at expected value + sum of the
    row's values, the explained output); the largest |value| is the top bar and the features beyond
    ``top_k - 1`` are folded into one "N other features" bar at the bottom.

    Parameters
    ----------
    explanation : Explanation
        An explanation with local and expected values.
    row : int, default 0
    top_k : int, default 10
        Bars drawn, the folded "other features" bar included.
    output : class label, optional
        Default: the positive class of a binary classifier, else the class predicted for the row.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        ``ax.patches`` are the bars, bottom to top; bar ``i`` spans ``[x, x + width]`` in the output space.
    """
    row = require_row(explanation, row)
    k = output_index(explanation, output, row=row)
    base = _base(explanation, k, "plot_waterfall")
    labels, values = row_contributions(explanation, row, k, top_k)
    labels, values = labels[::-1], values[::-1]  # bottom bar first: "other features", then rising |value|
    ax = new_axes(ax, (8.0, 0.45 * len(values) + 1.8))
    start = base
    for position, value in enumerate(values):
        ax.barh(position, value, left=start, height=0.7, color=POSITIVE if value >= 0 else NEGATIVE)
        ax.text(start + value, position, f" {value:+.3g} " if value >= 0 else f" {value:+.3g} ",
                va="center", ha="left" if value >= 0 else "right", fontsize="small")
        start += value
    ax.axvline(base, color="#999999", linestyle="--", linewidth=0.8)
    ax.axvline(start, color="#333333", linestyle="--", linewidth=0.8)
    ax.set_yticks(np.arange(len(values)))
    ax.set_yticklabels(labels)
    title = output_label(explanation, k)
    ax.set_title(f"Row {row}" + (f", {title}" if title else "") + f": E[f(X)] = {base:.4g} -> f(x) = {start:.4g}")
    ax.set_xlabel(f"output ({space(explanation)})")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_force(explanation: Explanation, row: int = 0, *, top_k: int = 8, output: Any = None,
               ax: Any = None) -> Any:
    """One row's values as two stacked bands meeting at the row's output f(x) (a force plot).

    Features pushing the output up (red) are stacked left of f(x), largest nearest f(x), and span
    ``[f(x) - sum of positive values, f(x)]``; those pushing it down (blue) span ``[f(x), f(x) + |sum of
    negative values|]``. The expected value is marked with a dashed line. The ``top_k`` largest |values| are
    labelled.

    Parameters
    ----------
    explanation : Explanation
        An explanation with local and expected values.
    row : int, default 0
    top_k : int, default 8
        Segments labelled with their feature.
    output : class label, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        ``ax.patches`` are the segments: positive ones first (nearest f(x) first), then negative ones.
    """
    row = require_row(explanation, row)
    k = output_index(explanation, output, row=row)
    base = _base(explanation, k, "plot_force")
    local = require_local(explanation, "plot_force")[row, :, k]
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 0:
        raise ArgumentError(f"top_k must be a non-negative integer; found {top_k!r}")
    fx = base + float(local.sum())
    labelled = set(top_features(np.abs(local), max(int(top_k), 1)).tolist()) if top_k else set()
    ax = new_axes(ax, (11.0, 2.4))
    positives = [j for j in np.argsort(-local, kind="stable") if local[j] > 0]
    negatives = [j for j in np.argsort(local, kind="stable") if local[j] < 0]
    for group, direction, colour in ((positives, -1.0, POSITIVE), (negatives, 1.0, NEGATIVE)):
        edge = fx
        for j in group:
            width = abs(float(local[j]))
            left = edge - width if direction < 0 else edge
            ax.barh(0.0, width, left=left, height=0.5, color=colour, edgecolor="white", linewidth=0.8)
            if j in labelled:
                name = explanation.features[j]
                if explanation.eval_data is not None:
                    name = f"{name} = {format_value(explanation.eval_data[row, j])}"
                ax.text(left + width / 2.0, -0.35, name, rotation=30, ha="right", va="top", fontsize="x-small")
            edge = left if direction < 0 else left + width
    ax.axvline(base, color="#777777", linestyle="--", linewidth=0.9)
    ax.annotate(f"E[f(X)] = {base:.4g}", (base, 0.3), ha="center", va="bottom", fontsize="small")
    ax.annotate(f"f(x) = {fx:.4g}", (fx, 0.3), ha="center", va="bottom", fontsize="small", weight="bold")
    ax.set_ylim(-1.2, 0.7)
    ax.set_yticks([])
    title = output_label(explanation, k)
    ax.set_title(f"Row {row}" + (f", {title}" if title else "") + " (red raises the output, blue lowers it)",
                 fontsize="medium")
    ax.set_xlabel(f"output ({space(explanation)})")
    ax.spines[["top", "right", "left"]].set_visible(False)
    return ax
