"""Plots over all rows: global bar, beeswarm, heatmap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pellucid.errors import ArgumentError
from pellucid.plots._common import (
    POSITIVE,
    add_colour_key,
    new_axes,
    output_index,
    output_label,
    pyplot,
    require_local,
    space,
    top_features,
    value_colours,
)

if TYPE_CHECKING:
    from pellucid.explanation import Explanation

__all__ = ["plot_bar", "plot_beeswarm", "plot_heatmap"]

STACKED = "stack"


def plot_bar(explanation: Explanation, *, top_k: int = 10, output: Any = STACKED, ax: Any = None) -> Any:
    """Global importance of the ``top_k`` most important features as horizontal bars, most important on top.

    The bar of feature ``j`` for output ``k`` is ``explanation.global_values[j, k]`` (the mean absolute local
    value, or the stored global importance of a global-only method).

    Parameters
    ----------
    explanation : Explanation
    top_k : int, default 10
    output : "stack", class label or None, default "stack"
        ``"stack"``: for a classifier one segment per class, stacked (features ranked by the total);
        a class label: that class only. A regressor has one output (``"stack"`` or None).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    values = explanation.global_values  # (n_features, n_outputs)
    stacked = output == STACKED and explanation.classes is not None
    if stacked:
        columns = list(range(explanation.n_outputs))
    else:
        columns = [output_index(explanation, None if output == STACKED else output)]
    shown = values[:, columns]
    order = top_features(shown.sum(axis=1), top_k)
    ax = new_axes(ax, (7.0, 0.45 * len(order) + 1.5))
    y = np.arange(len(order))[::-1]  # most important on top
    left = np.zeros(len(order))
    cmap = pyplot().get_cmap("tab10")
    for position, k in enumerate(columns):
        widths = shown[order, position]
        label = output_label(explanation, k) if stacked else None
        colour = cmap(position % 10) if stacked else POSITIVE
        ax.barh(y, widths, left=left, color=colour, label=label, height=0.7)
        left = left + widths
    ax.set_yticks(y)
    ax.set_yticklabels([explanation.features[j] for j in order])
    measure = "mean |value|" if explanation.local_values is not None else "global importance"
    ax.set_xlabel(f"{measure} ({space(explanation)})")
    title = "Global importance" if stacked or explanation.classes is None else (
        f"Global importance, {output_label(explanation, columns[0])}")
    ax.set_title(title)
    if stacked:
        ax.legend(loc="lower right", fontsize="small")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def swarm_offsets(x: np.ndarray, *, n_bins: int = 60, width: float = 0.4) -> np.ndarray:
    """Vertical offsets in ``[-width, width]`` that spread points with close ``x`` apart (a beeswarm).

    Points are binned on x; within a bin they alternate above and below the line, further out the more
    there are, scaled so the fullest bin spans the whole width.
    """
    offsets = np.zeros(x.shape[0])
    finite = np.isfinite(x)
    if finite.sum() < 2:
        return offsets
    low, high = x[finite].min(), x[finite].max()
    span = high - low if high > low else 1.0
    bins = np.minimum(((x - low) / span * n_bins).astype(np.int64, copy=False), n_bins - 1) if finite.all() else None
    if bins is None:
        bins = np.full(x.shape[0], -1)
        bins[finite] = np.minimum(((x[finite] - low) / span * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(bins[bins >= 0], minlength=n_bins)
    fullest = max(int(counts.max()), 1)
    seen = np.zeros(n_bins, dtype=np.int64)
    for i in np.argsort(x, kind="stable"):
        b = bins[i]
        if b < 0:
            continue
        rank = seen[b]
        seen[b] += 1
        step = (rank + 1) // 2 * (1 if rank % 2 else -1)
        offsets[i] = step * width / max(fullest / 2.0, 1.0)
    return np.clip(offsets, -width, width)


def plot_beeswarm(explanation: Explanation, *, top_k: int = 10, output: Any = None, ax: Any = None) -> Any:
    """Every row's local value of the ``top_k`` most important features, one swarm per feature.

    Point ``i`` of feature ``j`` sits at x = ``local_values[i, j, k]`` and y = its feature's line plus a swarm
    offset in [-0.4, 0.4]; it is coloured by the row's value of that feature (low blue, high red; one colour
    per category for categorical features; grey without ``eval_data``).

    Parameters
    ----------
    explanation : Explanation
        An explanation with local values.
    top_k : int, default 10
    output : class label, optional
        The class to draw (default: the positive class of a binary classifier, else the first).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    local = require_local(explanation, "plot_beeswarm")
    k = output_index(explanation, output)
    values = local[:, :, k]
    order = top_features(np.abs(values).mean(axis=0), top_k)
    ax = new_axes(ax, (8.0, 0.5 * len(order) + 1.5))
    keys = []
    for position, j in enumerate(order):
        line = len(order) - 1 - position
        column = None if explanation.eval_data is None else explanation.eval_data[:, j]
        colours, key = value_colours(column)
        keys.append(key)
        ax.scatter(values[:, j], line + swarm_offsets(values[:, j]), c=colours, s=12, linewidths=0,
                   label=explanation.features[j])
    ax.axvline(0.0, color="#999999", linewidth=0.8, zorder=0)
    ax.set_yticks(np.arange(len(order))[::-1])
    ax.set_yticklabels([explanation.features[j] for j in order])
    title = output_label(explanation, k)
    ax.set_xlabel(f"local value ({space(explanation)})" + (f", {title}" if title else ""))
    numeric = next((key for key in keys if key is not None and key[0] == "numeric"), None)
    if numeric is not None:
        add_colour_key(ax, ("numeric", 0.0, 1.0), "feature value (low to high)")
    categorical = [(j, key) for j, key in zip(order, keys) if key is not None and key[0] == "categories"]
    if categorical:  # the legend of the most important categorical feature
        add_colour_key(ax, categorical[0][1], explanation.features[categorical[0][0]])
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def plot_heatmap(explanation: Explanation, *, top_k: int = 10, output: Any = None, order: str = "output",
                 ax: Any = None) -> Any:
    """Local values as an image: one column per row, one line per top feature (most important on top).

    Parameters
    ----------
    explanation : Explanation
        An explanation with local values.
    top_k : int, default 10
    output : class label, optional
    order : {"output", "none"}, default "output"
        ``"output"`` sorts rows by the explained output (expected value + sum of values); ``"none"`` keeps them.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        The image (``ax.images[0]``) holds ``local_values[rows, top features, k].T``.
    """
    if order not in ("output", "none"):
        raise ArgumentError(f"order must be 'output' or 'none'; found {order!r}")
    local = require_local(explanation, "plot_heatmap")
    k = output_index(explanation, output)
    values = local[:, :, k]
    features = top_features(np.abs(values).mean(axis=0), top_k)
    rows = np.argsort(values.sum(axis=1), kind="stable") if order == "output" else np.arange(values.shape[0])
    image = values[np.ix_(rows, features)].T
    limit = float(np.abs(image).max()) or 1.0
    ax = new_axes(ax, (9.0, 0.4 * len(features) + 2.0))
    shown = ax.imshow(image, aspect="auto", cmap="coolwarm", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_yticks(np.arange(len(features)))
    ax.set_yticklabels([explanation.features[j] for j in features])
    ax.set_xlabel("rows" + (" (sorted by output)" if order == "output" else ""))
    title = output_label(explanation, k)
    ax.set_title("Local values" + (f", {title}" if title else ""))
    bar = pyplot().colorbar(shown, ax=ax, pad=0.02, aspect=30)
    bar.set_label(f"local value ({space(explanation)})")
    return ax
