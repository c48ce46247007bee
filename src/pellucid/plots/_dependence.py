"""A feature's local value against its value (dependence), and interaction values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pellucid.errors import ArgumentError, DataShapeError
from pellucid.plots._common import (
    add_colour_key,
    category_codes,
    feature_index,
    is_categorical,
    new_axes,
    numeric_column,
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

__all__ = ["plot_dependence", "plot_interactions", "strongest_interaction"]

AUTO = "auto"


def _as_numbers(column: np.ndarray) -> np.ndarray:
    """A column as numbers: category codes for categorical columns, floats else."""
    if is_categorical(column):
        return category_codes(column)[0].astype(np.float64)
    return numeric_column(column)


def strongest_interaction(explanation: Explanation, feature: Any, *, output: Any = None,
                          interaction_values: np.ndarray | None = None) -> int | None:
    """The feature that most changes ``feature``'s local value at a given value of ``feature``.

    With ``interaction_values`` (n_rows, n_features, n_features, n_outputs): the other feature with the largest
    mean |interaction value|. Otherwise, from the data: rows are sorted by ``feature`` and cut into chunks of
    about 10; within each chunk the local value of ``feature`` is correlated with each other feature; the
    feature with the largest summed |correlation| wins.

    Returns
    -------
    int or None
        Feature index, None when there is no other feature or no eval_data.
    """
    j = feature_index(explanation, feature)
    k = output_index(explanation, output)
    if explanation.n_features < 2:
        return None
    if interaction_values is not None:
        strength = np.abs(_check_interactions(explanation, interaction_values)[:, j, :, k]).mean(axis=0)
        strength[j] = -np.inf
        return int(np.argmax(strength))
    if explanation.eval_data is None:
        return None
    local = require_local(explanation, "strongest_interaction")[:, j, k]
    order = np.argsort(_as_numbers(explanation.eval_data[:, j]), kind="stable")
    n_chunks = max(local.shape[0] // 10, 1)
    chunks = np.array_split(order, n_chunks)
    scores = np.zeros(explanation.n_features)
    for other in range(explanation.n_features):
        if other == j:
            scores[other] = -np.inf
            continue
        values = _as_numbers(explanation.eval_data[:, other])
        for chunk in chunks:
            x, y = values[chunk], local[chunk]
            ok = np.isfinite(x)
            if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
                continue
            scores[other] += abs(np.corrcoef(x[ok], y[ok])[0, 1])
    return int(np.argmax(scores))


def plot_dependence(explanation: Explanation, feature: Any, *, interaction: Any = AUTO, output: Any = None,
                    interaction_values: np.ndarray | None = None, ax: Any = None) -> Any:
    """Each row's local value of ``feature`` against its value of ``feature``, coloured by another feature.

    Point ``i`` is at x = the row's value of the feature (category codes 0, 1, ... with a small jitter for a
    categorical feature, labelled on the axis) and y = ``local_values[i, j, k]``.

    Parameters
    ----------
    explanation : Explanation
        An explanation with local values and eval_data.
    feature : str or int
    interaction : "auto", str, int or None, default "auto"
        The feature colouring the points: ``"auto"`` picks :func:`strongest_interaction`, None colours nothing.
    output : class label, optional
    interaction_values : ndarray of shape (n_rows, n_features, n_features, n_outputs), optional
        Interaction values (``TreeExplainer.shap_interaction_values``), used by ``"auto"``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        ``ax.collections[0]`` holds the points.
    """
    local = require_local(explanation, "plot_dependence")
    if explanation.eval_data is None:
        raise ArgumentError("plot_dependence draws values against feature values; this explanation has no eval_data")
    j = feature_index(explanation, feature)
    k = output_index(explanation, output)
    if interaction == AUTO:
        colour_by = strongest_interaction(explanation, j, output=output, interaction_values=interaction_values)
    elif interaction is None:
        colour_by = None
    else:
        colour_by = feature_index(explanation, interaction)
    column = explanation.eval_data[:, j]
    categorical = is_categorical(column)
    if categorical:
        codes, names = category_codes(column)
        jitter = np.random.default_rng(0).uniform(-0.2, 0.2, size=codes.shape[0])
        x = codes.astype(np.float64) + jitter
    else:
        x = numeric_column(column)
    colours, key = value_colours(None if colour_by is None else explanation.eval_data[:, colour_by])
    ax = new_axes(ax, (7.0, 4.5))
    ax.scatter(x, local[:, j, k], c=colours, s=14, linewidths=0)
    if categorical:
        ax.set_xticks(np.arange(len(names)))
        ax.set_xticklabels(names)
    ax.axhline(0.0, color="#999999", linewidth=0.8, zorder=0)
    ax.set_xlabel(explanation.features[j])
    title = output_label(explanation, k)
    ax.set_ylabel(f"local value of {explanation.features[j]}" + (f"\n{title}" if title else "")
                  + f" ({space(explanation)})")
    if colour_by is not None:
        add_colour_key(ax, key, explanation.features[colour_by])
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _check_interactions(explanation: Explanation, interaction_values: Any) -> np.ndarray:
    values = np.asarray(interaction_values, dtype=np.float64)
    m, k = explanation.n_features, explanation.n_outputs
    if values.ndim != 4 or values.shape[1:] != (m, m, k):
        raise DataShapeError(
            f"interaction_values must have shape (n_rows, {m}, {m}, {k}) for this explanation; found {values.shape}"
        )
    return values


def plot_interactions(explanation: Explanation, interaction_values: Any, *, top_k: int = 10, output: Any = None,
                      ax: Any = None) -> Any:
    """Mean |interaction value| between the ``top_k`` most important features, as an annotated matrix.

    Cell (a, b) is ``mean over rows of |interaction_values[:, i_a, i_b, k]|`` (the diagonal holds the main
    effects); features are ordered by their mean |local value| (the row sums of the interaction values).

    Parameters
    ----------
    explanation : Explanation
        The explanation of the same rows (features and outputs must match).
    interaction_values : ndarray of shape (n_rows, n_features, n_features, n_outputs)
        From ``TreeExplainer.shap_interaction_values``.
    top_k : int, default 10
    output : class label, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
        ``ax.images[0]`` holds the matrix.
    """
    values = _check_interactions(explanation, interaction_values)
    k = output_index(explanation, output)
    features = top_features(np.abs(values[:, :, :, k].sum(axis=2)).mean(axis=0), top_k)
    matrix = np.abs(values[:, :, :, k]).mean(axis=0)[np.ix_(features, features)]
    ax = new_axes(ax, (0.6 * len(features) + 3.0, 0.6 * len(features) + 2.0))
    shown = ax.imshow(matrix, cmap="Reds", interpolation="nearest")
    names = [explanation.features[j] for j in features]
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yticks(np.arange(len(names)))
    ax.set_yticklabels(names)
    if len(features) <= 12:
        limit = matrix.max() or 1.0
        for a in range(len(features)):
            for b in range(len(features)):
                ax.text(b, a, f"{matrix[a, b]:.2g}", ha="center", va="center", fontsize="x-small",
                        color="white" if matrix[a, b] > 0.6 * limit else "black")
    title = output_label(explanation, k)
    ax.set_title("Mean |interaction value|" + (f", {title}" if title else ""))
    pyplot().colorbar(shown, ax=ax, pad=0.02).set_label(space(explanation))
    return ax
