"""Static images of the dashboard's charts for reports, drawn with matplotlib (no browser needed).

Writes global importance, the summary beeswarm, the dependence plot of the top feature and the local importance
of one row, as PNG, SVG or PDF files.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from pellucid.dashboard.payload import DEFAULT_MAX_POINTS, pick_rows
from pellucid.data import as_dataset
from pellucid.errors import ArgumentError, DataShapeError, UnsupportedInputError, describe, require
from pellucid.explanation import CLASSIFICATION, Explanation

__all__ = ["export_static", "FORMATS"]

logger = logging.getLogger(__name__)

FORMATS = ("png", "svg", "pdf")
_POSITIVE, _NEGATIVE, _BAR = "#d6604d", "#4393c3", "#2f6fbd"


def _figure(width: float, height: float) -> Any:
    # Figure + Agg canvas directly: no pyplot global state, no display needed.
    require("matplotlib", "dashboard")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure


def _default_output(explanation: Explanation) -> int:
    return 1 if explanation.task == CLASSIFICATION and explanation.n_outputs == 2 else 0


def _output_label(explanation: Explanation, output: int) -> str:
    return "" if explanation.task != CLASSIFICATION else f" (class {explanation.classes[output]})"


def _numeric_columns(values: np.ndarray) -> tuple[np.ndarray, list[list[str] | None]]:
    """Data as floats: numeric columns as they are, other columns as category codes (with their names)."""
    if values.dtype != object:
        return values.astype(np.float64), [None] * values.shape[1]
    import pandas as pd

    columns, categories = [], []
    for j in range(values.shape[1]):
        series = pd.Series(values[:, j], dtype=object)
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isnan(numbers[series.notna().to_numpy()]).any():
            columns.append(numbers)
            categories.append(None)
            continue
        codes, names = pd.factorize(series.map(lambda c: None if c is None else str(c)), sort=True)
        columns.append(np.where(codes < 0, np.nan, codes).astype(np.float64))
        categories.append([str(n) for n in names])
    return np.column_stack(columns), categories


def _swarm_offsets(values: np.ndarray, rng: np.random.Generator, bins: int = 48) -> np.ndarray:
    """Vertical offsets that widen where many points share a value, so the swarm shows density."""
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros_like(values)
    low, high = values[finite].min(), values[finite].max()
    width = (high - low) / bins if high > low else 1.0
    which = np.clip(((np.where(finite, values, low) - low) / width).astype(np.int64), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    return 0.42 * counts[which] / counts.max() * rng.uniform(-1.0, 1.0, size=values.shape)


def _colour_scale(column: np.ndarray) -> np.ndarray:
    """Feature values in [0, 1], clipped to the 5th-95th percentiles (NaN stays NaN)."""
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return np.full(column.shape, np.nan)
    low, high = np.percentile(finite, [5, 95])
    span = high - low if high > low else 1.0
    return np.clip((column - low) / span, 0.0, 1.0)


def _bar_chart(path: Path, names: list[str], values: np.ndarray, colours: Any, xlabel: str, title: str) -> Path:
    figure = _figure(7.5, max(2.5, 0.34 * len(names) + 1.2))
    axes = figure.add_subplot()
    positions = np.arange(len(names))
    axes.barh(positions, values, color=colours)
    axes.set_yticks(positions, labels=names)
    axes.invert_yaxis()
    axes.axvline(0.0, color="#888888", linewidth=0.8)
    axes.set_xlabel(xlabel)
    axes.set_title(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path)
    return path


def export_static(
    explanation: Explanation,
    folder: str | Path,
    *,
    fmt: str = "png",
    dataset: Any = None,
    row: int = 0,
    top_k: int = 10,
    output: int | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    seed: int = 0,
) -> list[Path]:
    """Write static images of the dashboard's charts.

    Files: ``global_importance.<fmt>`` always; for explanations with local values also ``summary.<fmt>``
    (beeswarm), ``local_row<row>.<fmt>`` and, when the rows are known, ``dependence_<feature>.<fmt>`` for the
    most important feature.

    Parameters
    ----------
    explanation : Explanation
    folder : str or Path
        Created when missing.
    fmt : {"png", "svg", "pdf"}
    dataset : array-like of shape (n_rows, n_features), optional
        The explained rows; default ``explanation.eval_data``.
    row : int
        Row of the local importance chart.
    top_k : int
        Features in the bar and summary charts.
    output : int, optional
        Output (class index) of the local charts; default class 1 of a binary classifier, else output 0.
    max_points : int
        Most rows drawn in the summary and dependence charts (a seeded uniform sample above it).
    seed : int
        Seed of that sample.

    Returns
    -------
    list of Path
        The files written.
    """
    if not isinstance(explanation, Explanation):
        raise UnsupportedInputError(f"export_static needs a pellucid Explanation; found {describe(explanation)}")
    if fmt not in FORMATS:
        raise ArgumentError(f"fmt must be one of {FORMATS}; found {fmt!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ArgumentError(f"top_k must be a positive integer; found {top_k!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = explanation.features
    written = []

    overall = explanation.global_values.mean(axis=1)
    top = np.argsort(-overall, kind="stable")[:top_k]
    what = "mean |local value|" if explanation.local_values is not None else "importance"
    written.append(_bar_chart(
        folder / f"global_importance.{fmt}", [names[j] for j in top], overall[top], _BAR,
        what + (" (mean over classes)" if explanation.task == CLASSIFICATION else ""),
        f"Global importance: top {len(top)} of {len(names)} features ({explanation.method})",
    ))
    if explanation.local_values is None:
        logger.info("global-only explanation: only the global importance chart was written")
        return written

    n_rows = explanation.n_rows
    output = _default_output(explanation) if output is None else output
    if not 0 <= output < explanation.n_outputs:
        raise ArgumentError(f"output must be in [0, {explanation.n_outputs}); found {output}")
    if not 0 <= row < n_rows:
        raise ArgumentError(f"row must be in [0, {n_rows}); found {row}")
    local = explanation.local_values[:, :, output]
    if dataset is not None:
        rows = as_dataset(dataset, name="dataset")
        if rows.values.shape != (n_rows, len(names)):
            raise DataShapeError(f"dataset must have shape {(n_rows, len(names))}; found {rows.values.shape}")
        data, categories = _numeric_columns(rows.values)
    elif explanation.eval_data is not None:
        data, categories = _numeric_columns(explanation.eval_data)
    else:
        data, categories = None, [None] * len(names)
    shown = pick_rows(n_rows, max_points, [row], seed)
    label = _output_label(explanation, output)

    # Summary beeswarm.
    ranked = np.argsort(-explanation.global_values[:, output], kind="stable")[:top_k]
    figure = _figure(8.0, max(3.0, 0.45 * len(ranked) + 1.4))
    axes = figure.add_subplot()
    rng = np.random.default_rng(seed)
    colour_map = "coolwarm"
    for rank, j in enumerate(ranked):
        values = local[shown, j]
        colours = _colour_scale(data[shown, j]) if data is not None else np.full(values.shape, 0.5)
        axes.scatter(values, rank + _swarm_offsets(values, rng), c=colours, cmap=colour_map, vmin=0, vmax=1,
                     s=6, alpha=0.7, linewidths=0, plotnonfinite=True)
    axes.set_yticks(np.arange(len(ranked)), labels=[names[j] for j in ranked])
    axes.invert_yaxis()
    axes.axvline(0.0, color="#888888", linewidth=0.8)
    axes.set_xlabel("local value" + label)
    sampled = f", {len(shown):,} of {n_rows:,} rows shown" if len(shown) < n_rows else ""
    axes.set_title(f"Summary: local values of the top {len(ranked)} features{sampled}", fontsize=11)
    if data is not None:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize

        bar = figure.colorbar(ScalarMappable(Normalize(0, 1), colour_map), ax=axes, ticks=[0, 1], pad=0.01)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
    figure.tight_layout()
    figure.savefig(folder / f"summary.{fmt}")
    written.append(folder / f"summary.{fmt}")

    # Dependence of the top feature, coloured by the second.
    if data is None:
        logger.warning("no rows known (no dataset, no eval_data): the dependence chart was not written")
    else:
        first = int(ranked[0])
        figure = _figure(7.0, 4.5)
        axes = figure.add_subplot()
        scatter_args: dict[str, Any] = {"color": _BAR}
        if len(ranked) > 1:
            second = int(ranked[1])
            scatter_args = {"c": data[shown, second], "cmap": colour_map}
        points = axes.scatter(data[shown, first], local[shown, first], s=8, alpha=0.75, linewidths=0,
                              plotnonfinite=True, **scatter_args)
        if len(ranked) > 1:
            figure.colorbar(points, ax=axes, pad=0.01).set_label(names[second])
        if categories[first] is not None:
            axes.set_xticks(np.arange(len(categories[first])), labels=categories[first], rotation=30)
        axes.axhline(0.0, color="#888888", linewidth=0.8)
        axes.set_xlabel(names[first])
        axes.set_ylabel(f"local value of {names[first]}{label}")
        axes.set_title(f"Dependence: {names[first]}{sampled}", fontsize=11)
        figure.tight_layout()
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", names[first])[:60] or "feature"
        figure.savefig(folder / f"dependence_{safe}.{fmt}")
        written.append(folder / f"dependence_{safe}.{fmt}")

    # Local importance of one row.
    values = local[row]
    top_local = np.argsort(-np.abs(values), kind="stable")[:top_k]
    labels = [names[j] if data is None else f"{names[j]} = {_cell(data, categories, row, j)}"
              for j in top_local]
    title = f"Local importance of row {row}"
    if explanation.expected_values_array is not None:
        expected = explanation.expected_values_array[output]
        title += f": expected {expected:.4g} + sum {values.sum():.4g} = {expected + values.sum():.4g}"
    written.append(_bar_chart(
        folder / f"local_row{row}.{fmt}", labels, values[top_local],
        [_POSITIVE if v >= 0 else _NEGATIVE for v in values[top_local]], "local value" + label, title,
    ))
    logger.info("static charts written to %s: %s", folder, [p.name for p in written])
    return written


def _cell(data: np.ndarray, categories: list, row: int, j: int) -> str:
    if categories[j] is not None:
        code = data[row, j]
        return "missing" if np.isnan(code) else categories[j][int(code)]
    return f"{data[row, j]:.4g}"
