"""What every plot shares: the matplotlib import, choosing an output and features, reading feature values.

Plots never compute importances: they draw the explanation's arrays (``local_values`` of shape
(n_rows, n_features, n_outputs), ``global_values`` of shape (n_features, n_outputs),
``expected_values_array`` of shape (n_outputs,)), so what is drawn can be checked against those numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pellucid.errors import ArgumentError, require

if TYPE_CHECKING:
    from pellucid.explanation import Explanation

#: Colours of positive and negative contributions (shap's convention: red pushes the output up).
POSITIVE = "#ff0051"
NEGATIVE = "#008bfb"
#: Colour map of numeric feature values, low (blue) to high (red).
VALUE_CMAP = "coolwarm"
#: Colour map of categories.
CATEGORY_CMAP = "tab10"


def pyplot() -> Any:
    """``matplotlib.pyplot``, or a MissingDependencyError naming the ``plots`` extra."""
    return require("matplotlib.pyplot", "plots")


def new_axes(ax: Any, size: tuple[float, float]) -> Any:
    """``ax`` when given, else the axes of a new figure of ``size`` inches."""
    if ax is not None:
        return ax
    _, ax = pyplot().subplots(figsize=size)
    return ax


def output_index(explanation: Explanation, output: Any, *, row: int | None = None) -> int:
    """Index of the explained output to draw.

    ``output`` is a class label of a classifier (None for a regressor). Default for a classifier: the
    positive class of a binary one; for more classes the class the model predicts for ``row`` when the
    explanation holds the model output, else the first class.
    """
    if explanation.classes is None:
        if output is not None:
            raise ArgumentError(f"a regression explanation has one output; pass output=None, found {output!r}")
        return 0
    if output is None:
        if explanation.n_outputs == 2:
            return 1
        if row is not None and explanation.model_output is not None:
            return int(np.argmax(explanation.model_output[row]))
        return 0
    for index, label in enumerate(explanation.classes):
        if label == output or str(label) == str(output):
            return index
    raise ArgumentError(f"output must be one of the classes {explanation.classes}; found {output!r}")


def output_label(explanation: Explanation, index: int) -> str:
    """How an output is named in titles: 'class <label>' or nothing for a regressor."""
    if explanation.classes is None:
        return ""
    return f"class {explanation.classes[index]}"


def space(explanation: Explanation) -> str:
    """The output space of the values, for axis labels."""
    return str(explanation.meta.get("output_space", "model output"))


def require_local(explanation: Explanation, plot: str) -> np.ndarray:
    """The local values, or an ArgumentError saying the plot needs them."""
    if explanation.local_values is None:
        raise ArgumentError(
            f"{plot} draws local values; this {explanation.method} explanation is global-only "
            "(use plot_bar, or explain rows with a local method)"
        )
    return explanation.local_values


def require_row(explanation: Explanation, row: Any) -> int:
    """``row`` as a valid row index."""
    n = explanation.n_rows
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not -n <= row < n:
        raise ArgumentError(f"row must be an integer index into the {n} explained rows; found {row!r}")
    return int(row) % n


def top_features(importance: np.ndarray, top_k: Any) -> np.ndarray:
    """Indices of the ``top_k`` largest importances, largest first (ties keep feature order)."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ArgumentError(f"top_k must be a positive integer; found {top_k!r}")
    return np.argsort(-importance, kind="stable")[: int(top_k)]


def feature_index(explanation: Explanation, feature: Any) -> int:
    """Index of a feature given by name or index."""
    if isinstance(feature, str):
        if feature not in explanation.features:
            raise ArgumentError(f"feature {feature!r} is not one of the explanation's features {explanation.features}")
        return explanation.features.index(feature)
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool) and 0 <= feature < explanation.n_features:
        return int(feature)
    raise ArgumentError(f"feature must be a feature name or an index below {explanation.n_features}; found {feature!r}")


def is_categorical(column: np.ndarray) -> bool:
    """True when a column of eval_data holds a value that is not a number (strings, categories)."""
    if column.dtype != object:
        return False
    return any(not _is_number(value) for value in column)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float, np.number)) and not isinstance(value, bool))


def numeric_column(column: np.ndarray) -> np.ndarray:
    """A numeric column as float64 (None becomes NaN)."""
    if column.dtype != object:
        return column.astype(np.float64)
    return np.array([np.nan if v is None else float(v) for v in column], dtype=np.float64)


def category_codes(column: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes (-1 for missing) and the sorted category names of a categorical column."""
    text = np.array(["" if v is None else str(v) for v in column], dtype=object)
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in column])
    categories = sorted({t for t, m in zip(text, missing) if not m})
    lookup = {name: code for code, name in enumerate(categories)}
    codes = np.array([-1 if m else lookup[t] for t, m in zip(text, missing)], dtype=np.int64)
    return codes, categories


def value_colours(column: np.ndarray | None) -> tuple[Any, Any]:
    """Colours of rows by a feature's values and what explains them.

    Returns (colours, key): numeric columns are scaled between their 5th and 95th percentiles on
    :data:`VALUE_CMAP` (key ``("numeric", low, high)``); categorical columns get one colour per category
    (key ``("categories", names, colours)``); no column gives grey (key None).
    """
    matplotlib = require("matplotlib", "plots")
    if column is None:
        return "#777777", None
    if is_categorical(column):
        codes, names = category_codes(column)
        cmap = matplotlib.colormaps[CATEGORY_CMAP]
        palette = [cmap(i % cmap.N) for i in range(len(names))]
        colours = [palette[c] if c >= 0 else (0.6, 0.6, 0.6, 1.0) for c in codes]
        return colours, ("categories", names, palette)
    values = numeric_column(column)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "#777777", None
    low, high = np.percentile(finite, [5, 95])
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    if high <= low:
        high = low + 1.0
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0)
    cmap = matplotlib.colormaps[VALUE_CMAP]
    colours = [cmap(s) if np.isfinite(s) else (0.6, 0.6, 0.6, 1.0) for s in scaled]
    return colours, ("numeric", float(low), float(high))


def add_colour_key(ax: Any, key: Any, title: str) -> None:
    """A colour bar (numeric values) or a legend (categories) beside ``ax``."""
    if key is None:
        return
    matplotlib = require("matplotlib", "plots")
    plt = pyplot()
    if key[0] == "categories":
        handles = [matplotlib.lines.Line2D([], [], marker="o", linestyle="", color=colour, label=name)
                   for name, colour in zip(key[1], key[2])]
        ax.legend(handles=handles, title=title, loc="lower right", fontsize="small", title_fontsize="small")
        return
    mappable = matplotlib.cm.ScalarMappable(norm=matplotlib.colors.Normalize(key[1], key[2]),
                                            cmap=matplotlib.colormaps[VALUE_CMAP])
    bar = plt.colorbar(mappable, ax=ax, pad=0.02, aspect=40)
    bar.set_label(title)


def format_value(value: Any) -> str:
    """A feature value for labels: short numbers, plain strings."""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)
