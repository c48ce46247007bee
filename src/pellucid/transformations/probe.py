"""Find which inputs each output of a fitted transformer depends on, by changing one input at a time.

For a transformer over several columns (a scaler over ``["a", "b"]``, a PCA over three columns), pellucid
transforms a few probe rows, then the same rows with one column's values replaced by other values of that
column, and records which outputs changed. A column-wise transformer's outputs each change with exactly one
input; an output that changes with several inputs mixes them (many-to-one). Every perturbed copy of the probe
rows is transformed in a few batched calls, chunked so the dense comparison stays small.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pellucid.data import Dataset
from pellucid.transformations.dataframe_mapper import as_2d_output

__all__ = ["probe_rows", "input_width", "dependencies"]

# Rows spread evenly over the data, plus the first row holding each value of low-cardinality columns.
_EVEN_ROWS = 100
_MAX_ROWS = 400
_LOW_CARDINALITY = 64
# Largest number of cells compared at once (rows x outputs) when checking which outputs changed.
_CELL_BUDGET = 4_000_000


def probe_rows(raw: Dataset) -> np.ndarray:
    """Row indices of ``raw`` used to probe transformers: evenly spread rows and every low-cardinality value.

    Returns
    -------
    ndarray of int, sorted, at most 400 indices.
    """
    n_rows = raw.n_rows
    picked = set(np.linspace(0, n_rows - 1, num=min(n_rows, _EVEN_ROWS)).round().astype(int).tolist())
    for j in range(raw.n_features):
        codes, uniques = pd.factorize(pd.Series(raw.values[:, j]), use_na_sentinel=False)
        if len(uniques) <= _LOW_CARDINALITY:
            _, first = np.unique(codes, return_index=True)
            picked.update(first.tolist())
        if len(picked) >= _MAX_ROWS:
            break
    return np.asarray(sorted(picked)[:_MAX_ROWS], dtype=np.int64)


def input_width(data: Any) -> int:
    """Number of input columns of a transformer's input (1 for a 1-D array or a Series)."""
    shape = getattr(data, "shape", None)
    if shape is None:
        return 1 if np.ndim(data) <= 1 else np.shape(data)[1]
    return 1 if len(shape) == 1 else int(shape[1])


def dependencies(transformer: Any, data: Any, base: Any) -> np.ndarray:
    """Which outputs of ``transformer`` change when each input column changes.

    Parameters
    ----------
    transformer : fitted transformer
    data : DataFrame, ndarray or scipy.sparse matrix of shape (n_probe, n_inputs)
        Probe rows in the form the transformer takes.
    base : ndarray or sparse matrix of shape (n_probe, n_outputs)
        ``transformer.transform(data)``.

    Returns
    -------
    ndarray of bool of shape (n_inputs, n_outputs). A column whose perturbed rows the transformer rejects
    (e.g. an encoder that refuses unseen values) gets no dependency: its outputs are then attributed by name.
    """
    n_probe, n_inputs = data.shape
    base = as_2d_output(base)
    n_outputs = base.shape[1]
    base_dense = _comparable(base)
    depends = np.zeros((n_inputs, n_outputs), dtype=bool)
    variants = _variants(data)
    per_chunk = max(1, _CELL_BUDGET // max(1, n_probe * 2 * n_outputs))
    for start in range(0, n_inputs, per_chunk):
        columns = list(range(start, min(n_inputs, start + per_chunk)))
        _mark_changes(transformer, data, variants, columns, base_dense, depends)
    return depends


def _mark_changes(
    transformer: Any, data: Any, variants: list, columns: list[int], base: np.ndarray, depends: np.ndarray
) -> None:
    n_probe, n_outputs = base.shape
    try:
        output = as_2d_output(transformer.transform(_stack(data, variants, columns)))
    except Exception:  # a transformer may reject values it never saw: retry column by column, then give up
        if len(columns) > 1:
            for column in columns:
                _mark_changes(transformer, data, variants, [column], base, depends)
        return
    output = _comparable(output)
    expected = np.tile(base, (2 * len(columns), 1))
    changed = ~((output == expected) | (pd.isna(output) & pd.isna(expected)))
    # rows of the output: for each column, two perturbed copies of the probe rows
    depends[columns] = changed.reshape(len(columns), 2 * n_probe, n_outputs).any(axis=1)


def _comparable(output: Any) -> np.ndarray:
    dense = output.toarray() if sp.issparse(output) else np.asarray(output)
    try:
        return dense.astype(np.float64)
    except (TypeError, ValueError):
        return dense.astype(object)


def _variants(data: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per input column, two replacement columns: each value moved to the next and to the opposite distinct value."""
    replacements = []
    for column in _columns_of(data):
        codes, uniques = pd.factorize(pd.Series(column, dtype=column.dtype), use_na_sentinel=False)
        n_unique = len(uniques)
        if n_unique < 2:
            replacements.append(_constant_shift(column))
            continue
        # the uniques in sorted order when they compare, so the "opposite" value is far away (crosses bins)
        order = _sort_order(uniques)
        rank = np.empty(n_unique, dtype=np.int64)
        rank[order] = np.arange(n_unique)
        ranks = rank[codes]
        sorted_uniques = np.asarray(uniques, dtype=column.dtype)[order]
        near = sorted_uniques[(ranks + 1) % n_unique]
        far = sorted_uniques[(ranks + max(1, n_unique // 2)) % n_unique]
        replacements.append((near, far))
    return replacements


def _constant_shift(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if column.dtype != object:
        return column + 1.0, column * 2.0 + 10.0
    return column, column  # a constant text column cannot be changed without inventing a category


def _sort_order(uniques: Any) -> np.ndarray:
    values = np.asarray(uniques, dtype=object)
    try:
        keys = np.asarray(values, dtype=np.float64)
        return np.argsort(np.where(np.isnan(keys), np.inf, keys), kind="stable")
    except (TypeError, ValueError):
        return np.argsort(np.asarray([str(v) for v in values], dtype=object), kind="stable")


def _columns_of(data: Any) -> list[np.ndarray]:
    """The columns as float64 arrays (numeric) or object arrays (anything else)."""
    if isinstance(data, pd.DataFrame):
        return [_typed(data.iloc[:, j]) for j in range(data.shape[1])]
    array = data.toarray() if sp.issparse(data) else np.asarray(data)
    return [_typed(array[:, j]) for j in range(array.shape[1])]


def _typed(column: Any) -> np.ndarray:
    dtype = getattr(column, "dtype", None)
    if dtype is not None and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return np.asarray(column, dtype=np.float64)
    return np.asarray(column, dtype=object)


def _stack(data: Any, variants: list, columns: list[int]) -> Any:
    """For each column in ``columns``, two copies of the probe rows with that column replaced, one table."""
    n_probe = data.shape[0]
    n_copies = 2 * len(columns)
    stacked = [np.tile(column, n_copies) for column in _columns_of(data)]
    for position, j in enumerate(columns):
        for k, replacement in enumerate(variants[j]):
            start = (2 * position + k) * n_probe
            stacked[j][start:start + n_probe] = replacement
    if isinstance(data, pd.DataFrame):
        frame = pd.DataFrame(dict(enumerate(stacked)), copy=False)
        frame.columns = data.columns
        # back to the user's dtypes: every value came from its own column, so integer columns stay integral
        retype = {col: d for col, d in data.dtypes.items() if frame[col].dtype != d}
        try:
            return frame.astype(retype) if retype else frame
        except (TypeError, ValueError):
            return frame.astype({col: d for col, d in _castable(data.dtypes).items() if frame[col].dtype != d})
    if all(column.dtype != object for column in stacked):
        array = np.column_stack(stacked)
        return sp.csr_matrix(array) if sp.issparse(data) else array
    return np.column_stack(stacked)


def _castable(dtypes: pd.Series) -> dict:
    return {col: (np.float64 if pd.api.types.is_integer_dtype(d) or pd.api.types.is_bool_dtype(d) else d)
            for col, d in dtypes.items()}
