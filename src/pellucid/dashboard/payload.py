"""The data a dashboard page embeds: one compact, JSON-serialisable dict built from an Explanation.

Everything the page draws comes from this dict, so it is built once in Python (sampling, encoding of categories,
predictions, rounding) and the page's script only reads it. Columns are stored column-wise (one list per
feature) because every chart reads whole columns; floats are rounded to a few significant digits to keep the
page small.

Layout of the payload (``s`` = rows shown, ``m`` = features, ``k`` = outputs)::

    rows            list[int], length s: the explained rows shown, as row numbers of the explanation
    data            list of m encoded columns or None: {"type": "num", "v": [...]} or
                    {"type": "cat", "cats": [...], "codes": [...]} (code -1 = missing)
    local           [k][m][s] local values of the rows shown, or None (global-only explanation)
    global          {"per_output": [k][m], "overall": [m]}: from every row, not only the rows shown
    expected        [k] expected values or None
    prediction      {"source", "kind", "label" [s], "score" [k][s], "value" [s]} or None
    true_y          an encoded column of the true targets, or None
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pellucid.data import Dataset, as_dataset
from pellucid.errors import (
    ArgumentError,
    DataShapeError,
    ModelInterfaceError,
    UnsupportedInputError,
    describe,
)
from pellucid.explanation import CLASSIFICATION, Explanation
from pellucid.model import ModelWrapper

__all__ = ["build_payload", "pick_rows", "round_significant", "DEFAULT_MAX_POINTS"]

logger = logging.getLogger(__name__)

#: Most rows drawn in the point views (scatter, dependence, beeswarm) before the page shows a sample.
DEFAULT_MAX_POINTS = 5000
_LOCAL_DIGITS = 4
_DATA_DIGITS = 6


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """Round every element to ``digits`` significant digits (vectorised; NaN and inf kept).

    Parameters
    ----------
    values : ndarray of any shape, float
    digits : int
        Significant digits kept, >= 1.

    Returns
    -------
    ndarray of the same shape, float64
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values) & (values != 0)
    magnitude = np.zeros(values.shape, dtype=np.int64)
    magnitude[finite] = np.floor(np.log10(np.abs(values[finite]))).astype(np.int64)
    decimals = digits - 1 - magnitude
    rounded = values.copy()
    # Multiply by an exact power of ten (or divide, for negative decimals) so the shortest repr of the result
    # is the short decimal: e.g. 0.1235, not 0.12350000000000001.
    up = finite & (decimals >= 0)
    scale = 10.0 ** np.minimum(decimals[up], 300)
    rounded[up] = np.round(values[up] * scale) / scale
    down = finite & (decimals < 0)
    scale = 10.0 ** (-decimals[down])
    rounded[down] = np.round(values[down] / scale) * scale
    return rounded


def _float_list(values: np.ndarray, digits: int) -> list:
    """Rounded floats as (nested) lists, with None for NaN/inf so the JSON stays valid."""
    rounded = round_significant(values, digits)
    if np.isfinite(rounded).all():
        return rounded.tolist()
    as_object = rounded.astype(object)
    as_object[~np.isfinite(rounded)] = None
    return as_object.tolist()


def _encode_column(column: np.ndarray, shown: np.ndarray, *, categories: Sequence[str] = ()) -> dict[str, Any]:
    """One data column, numeric when every present value is a number, else categories as strings."""
    if column.dtype != object and not categories:
        return {"type": "num", "v": _float_list(column[shown], _DATA_DIGITS)}
    series = pd.Series(column, dtype=object)
    missing = series.isna().to_numpy()
    if not categories:
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
        if not np.isnan(numbers[~missing]).any():
            return {"type": "num", "v": _float_list(numbers[shown], _DATA_DIGITS)}
    as_text = series[~missing].astype(str)
    known = list(categories)
    cats = known + sorted(set(as_text.unique()) - set(known))
    codes = np.full(len(series), -1, dtype=np.int64)  # -1: missing
    codes[~missing] = pd.Categorical(as_text, categories=cats).codes
    return {"type": "cat", "cats": cats, "codes": codes[shown].tolist()}


def pick_rows(n_rows: int, max_points: int, keep_rows: Sequence[int], seed: int) -> np.ndarray:
    """Row numbers to draw: all rows, or a seeded uniform sample that always holds ``keep_rows``."""
    keep = np.unique(np.asarray(list(keep_rows), dtype=np.int64))
    if keep.size and (keep.min() < 0 or keep.max() >= n_rows):
        raise ArgumentError(f"keep_rows must be row numbers in [0, {n_rows}); found {keep.tolist()}")
    if n_rows <= max_points:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    candidates = np.setdiff1d(np.arange(n_rows), keep, assume_unique=True)
    n_sampled = max(max_points - keep.size, 0)
    sampled = rng.choice(candidates, size=n_sampled, replace=False)
    return np.sort(np.concatenate([keep, sampled]))


def _rows_dataset(explanation: Explanation, dataset: Any) -> Dataset | None:
    if dataset is None:
        return None if explanation.eval_data is None else as_dataset(explanation.eval_data, explanation.features)
    rows = as_dataset(dataset, name="dataset")
    if rows.n_features != explanation.n_features:
        raise DataShapeError(
            f"dataset must have one column per explained feature ({explanation.n_features}); "
            f"found {rows.n_features} columns"
        )
    return rows


def _predictions(
    explanation: Explanation, model: Any, rows: Dataset | None, shown: np.ndarray, n_rows: int
) -> tuple[dict[str, Any] | None, str | None]:
    """Predictions of the rows shown and a note saying where they came from."""
    classification = explanation.task == CLASSIFICATION
    score = None
    label = None
    if model is not None:
        if rows is None:
            raise ArgumentError("a model was given but there are no rows to predict: pass dataset= or an "
                                "explanation with eval_data")
        source = "model"
        score, label = _model_predictions(explanation, model, rows, shown)
        note = "predictions computed by calling the model on the rows"
    elif explanation.model_output is not None and explanation.model_output.shape[0] == n_rows:
        source = "model_output"
        score = explanation.model_output[shown]
        note = None
    elif explanation.local_values is not None and explanation.expected_values_array is not None:
        source = "additivity"
        score = explanation.expected_values_array + explanation.local_values[shown].sum(axis=1)
        note = ("the explanation holds no model output: predictions are shown as expected value + sum of the "
                "local values (additivity)")
    else:
        return None, "no predictions: the explanation has no model output and no model was given"
    prediction: dict[str, Any] = {"source": source, "space": explanation.meta.get("output_space")}
    if classification:
        if label is None:
            label = np.argmax(score, axis=1)
        prediction["kind"] = "classification"
        prediction["label"] = label.tolist()
        prediction["score"] = None if score is None else _float_list(score.T, _LOCAL_DIGITS)
        if source == "model":
            prediction["space"] = "probability" if score is not None else "label"
    else:
        prediction["kind"] = "regression"
        prediction["value"] = _float_list(score[:, 0], _DATA_DIGITS)
        if source == "model":
            prediction["space"] = "raw"
    return prediction, note


def _model_predictions(
    explanation: Explanation, model: Any, rows: Dataset, shown: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(scores [s, k] or None, class indices [s] or None) from the user's model."""
    values = rows.values[shown]
    has_proba = callable(getattr(model, "predict_proba", None))
    if explanation.task != CLASSIFICATION or has_proba:
        wrapper = ModelWrapper(model, rows, model_task=explanation.task, classes=explanation.classes)
        return wrapper.predict_output(values), None
    if not callable(getattr(model, "predict", None)):
        raise ModelInterfaceError(f"the model must have predict or predict_proba; found {describe(model)}")
    predicted = np.asarray(model.predict(rows.to_model_input(values)))
    if predicted.shape != (len(shown),):
        raise ModelInterfaceError(
            f"the model's predict must return one label per row; for {len(shown)} rows it returned "
            f"shape {predicted.shape}"
        )
    as_text = pd.Series(predicted, dtype=object).astype(str)
    codes = pd.Categorical(as_text, categories=[str(c) for c in explanation.classes]).codes.astype(np.int64)
    if (codes < 0).any():
        unknown = sorted(set(as_text[codes < 0]))
        raise ModelInterfaceError(
            f"the model predicted labels {unknown[:5]} that are not among the explanation's classes "
            f"{explanation.classes}"
        )
    return None, codes


def _encode_true_y(explanation: Explanation, true_y: Any, n_rows: int, shown: np.ndarray) -> dict[str, Any]:
    target = np.asarray(true_y)
    if target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    if target.ndim != 1 or target.shape[0] != n_rows:
        raise DataShapeError(f"true_y must hold one value per row ({n_rows}); found shape {target.shape}")
    if explanation.task == CLASSIFICATION:
        return _encode_column(target.astype(object), shown, categories=[str(c) for c in explanation.classes])
    try:
        return {"type": "num", "v": _float_list(target.astype(np.float64)[shown], _DATA_DIGITS)}
    except (TypeError, ValueError) as exc:
        raise UnsupportedInputError(f"true_y of a regression must be numbers; found dtype {target.dtype}") from exc


def build_payload(
    explanation: Explanation,
    *,
    model: Any = None,
    dataset: Any = None,
    true_y: Any = None,
    max_points: int = DEFAULT_MAX_POINTS,
    keep_rows: Sequence[int] | None = None,
    seed: int = 0,
    title: str | None = None,
) -> dict[str, Any]:
    """Build the dict a dashboard page embeds (see the module docstring for its layout).

    Parameters
    ----------
    explanation : Explanation
        Local or global-only explanation.
    model : object, optional
        The model; when given, predictions come from calling it on the rows instead of ``model_output``.
    dataset : array-like of shape (n_rows, n_features), optional
        The explained rows; default ``explanation.eval_data``.
    true_y : array-like of shape (n_rows,), optional
        True targets, offered as an axis in the data view and shown beside the local view.
    max_points : int
        Most rows drawn in the point views; above it a seeded uniform sample is drawn.
    keep_rows : sequence of int, optional
        Rows always drawn (default: row 0, the local view's first row).
    seed : int
        Seed of the sample.
    title : str, optional
        Page title.

    Returns
    -------
    dict
        JSON-serialisable payload.
    """
    if not isinstance(explanation, Explanation):
        raise UnsupportedInputError(f"the dashboard needs a pellucid Explanation; found {describe(explanation)}")
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 1:
        raise ArgumentError(f"max_points must be a positive integer; found {max_points!r}")
    rows = _rows_dataset(explanation, dataset)
    has_local = explanation.local_values is not None
    if has_local:
        n_rows = explanation.n_rows
        if rows is not None and rows.n_rows != n_rows:
            raise DataShapeError(
                f"dataset must have one row per explained row ({n_rows}); found {rows.n_rows} rows"
            )
    else:
        n_rows = 0 if rows is None else rows.n_rows
    if n_rows == 0 and (model is not None or true_y is not None):
        raise ArgumentError(
            "model and true_y need the explained rows, and this global-only explanation has none: "
            "pass dataset= (the rows) as well"
        )
    keep = [0] if keep_rows is None else list(keep_rows)
    if n_rows == 0:
        keep = []
    shown = pick_rows(n_rows, int(max_points), keep, seed)
    notes = [str(note) for note in explanation.meta.get("notes", [])]
    sampled = len(shown) < n_rows
    if sampled:
        kept = f"; rows {sorted(keep)} always kept" if keep else ""
        note = f"showing {len(shown):,} of {n_rows:,} rows (uniform sample, seed {seed}{kept})"
        notes.append("dashboard: " + note)
        logger.info(note)

    prediction, prediction_note = _predictions(explanation, model, rows, shown, n_rows) if n_rows else (None, None)
    if prediction_note:
        notes.append("dashboard: " + prediction_note)
    global_values = explanation.global_values
    classes = None if explanation.classes is None else [str(c) for c in explanation.classes]
    return {
        "title": title or f"pellucid: {explanation.method} explanation",
        "method": explanation.method,
        "task": explanation.task,
        "features": explanation.features,
        "classes": classes,
        "is_raw": explanation.is_raw,
        "output_space": explanation.meta.get("output_space"),
        "n_rows": n_rows,
        "sampled": sampled,
        "seed": seed,
        "rows": shown.tolist(),
        "data": None if rows is None else [_encode_column(rows.values[:, j], shown) for j in range(rows.n_features)],
        "local": None if not has_local else _float_list(
            np.transpose(explanation.local_values[shown], (2, 1, 0)), _LOCAL_DIGITS
        ),
        "global": {
            "per_output": _float_list(global_values.T, _LOCAL_DIGITS),
            "overall": _float_list(global_values.mean(axis=1), _LOCAL_DIGITS),
        },
        "expected": None if explanation.expected_values_array is None else _float_list(explanation.expected_values_array,
                                                                                 _LOCAL_DIGITS + 2),
        "prediction": prediction,
        "true_y": None if true_y is None else _encode_true_y(explanation, true_y, n_rows, shown),
        "notes": notes,
    }
