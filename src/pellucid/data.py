"""Turn user data into one internal dataset, and summarise or sample it.

Accepted inputs: numpy arrays (1-D is one row), lists, pandas DataFrames (numeric and categorical/string
columns) and Series (one row), scipy.sparse matrices (CSR/CSC/COO...), and DenseData-like objects with
``.data`` and ``.group_names`` (shap's old background type).

A :class:`Dataset` keeps the values as one 2-D ndarray (float64 when every column is numeric, object otherwise)
and remembers the format the model expects, so any synthetic rows built from it are handed to the model as
a DataFrame with the original dtypes, a sparse matrix, or an array, as the user's data was.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pellucid.errors import ArgumentError, DataShapeError, EmptyDataError, UnsupportedInputError, describe

__all__ = [
    "Dataset", "as_dataset", "summarize", "sample_rows", "default_feature_names", "feature_name", "column_names",
    "align_columns",
]

logger = logging.getLogger(__name__)

NUMPY, PANDAS, SPARSE, DENSE_DATA = "numpy", "pandas", "sparse", "dense_data"


def default_feature_names(n_features: int) -> list[int]:
    """Names used when the user gives none: the column indices ``0, 1, ...``, as in the SDK."""
    return list(range(n_features))


def feature_name(name: Any) -> str | int:
    """A feature name as pellucid keeps it: integers stay integers (as in the SDK), anything else a string."""
    if isinstance(name, (int, np.integer)) and not isinstance(name, (bool, np.bool_)):
        return int(name)
    return str(name)


@dataclass
class Dataset:
    """Rows of data in one internal form.

    Attributes
    ----------
    values : ndarray of shape (n_rows, n_features)
        float64 when every column is numeric, else object.
    feature_names : list of str or int
        One name per column (integers stay integers: the default names are the column indices).
    kind : {"numpy", "pandas", "sparse", "dense_data"}
        The input's original form, used to hand rows back to the model in that form.
    columns : list, optional
        The DataFrame's column labels (pandas input).
    dtypes : dict, optional
        The DataFrame's dtypes by column (pandas input).
    sparse_format : str, optional
        ``"csr"`` or ``"csc"`` for sparse input.
    weights : ndarray of shape (n_rows,), optional
        Row weights summing to 1, set by :func:`summarize`.
    """

    values: np.ndarray
    feature_names: list
    kind: str = NUMPY
    columns: list | None = None
    dtypes: dict | None = None
    sparse_format: str | None = None
    weights: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return self.values.shape[0]

    @property
    def n_features(self) -> int:
        """Number of columns."""
        return self.values.shape[1]

    @property
    def is_numeric(self) -> bool:
        """True when values are float64."""
        return self.values.dtype != object

    def row_weights(self) -> np.ndarray:
        """Row weights summing to 1 (uniform when none were set)."""
        if self.weights is None:
            return np.full(self.n_rows, 1.0 / self.n_rows)
        return self.weights

    def with_values(self, values: np.ndarray, weights: np.ndarray | None = None) -> Dataset:
        """A dataset of other rows in the same format."""
        return replace(self, values=values, weights=weights, notes=list(self.notes))

    def to_model_input(self, values: np.ndarray | None = None) -> Any:
        """Rows in the form the model was trained on (DataFrame, sparse matrix or array).

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features), optional
            Rows to convert; this dataset's own values when omitted.
        """
        values = self.values if values is None else values
        if self.kind == PANDAS:
            return _to_frame(values, self.columns, self.dtypes)
        if self.kind == SPARSE:
            matrix = sp.csr_matrix(values.astype(np.float64, copy=False))
            return matrix.tocsc() if self.sparse_format == "csc" else matrix
        return values

    def non_finite_cells(self) -> np.ndarray:
        """Boolean mask of shape (n_rows, n_features): NaN or inf (numeric) or missing (object) cells."""
        if self.is_numeric:
            return ~np.isfinite(self.values)
        return pd.isna(pd.DataFrame(self.values)).to_numpy()


def _to_frame(values: np.ndarray, columns: list | None, dtypes: dict | None) -> pd.DataFrame:
    if values.dtype != object:
        frame = pd.DataFrame(values, columns=columns)
        if dtypes and any(str(d) != "float64" for d in dtypes.values()):
            frame = frame.astype(_castable(dtypes))
        return frame
    frame = pd.DataFrame({col: values[:, j] for j, col in enumerate(columns)})
    return frame.astype(_castable(dtypes)) if dtypes else frame


def _castable(dtypes: dict) -> dict:
    # Integer columns may receive NaN from a background or fractional k-means centres: keep them float.
    return {col: (np.float64 if pd.api.types.is_integer_dtype(d) or pd.api.types.is_bool_dtype(d) else d)
            for col, d in dtypes.items()}


def as_dataset(data: Any, features: list[str] | None = None, *, name: str = "data") -> Dataset:
    """Read any supported input into a :class:`Dataset`.

    Parameters
    ----------
    data : array-like, DataFrame, Series, sparse matrix or DenseData-like
        The rows. A 1-D array or a Series is one row.
    features : list of str, optional
        Feature names; default: DataFrame columns, DenseData group names, else the column indices.
    name : str
        What the data is called in error messages (``"initialization_examples"``, ``"evaluation_examples"``).

    Returns
    -------
    Dataset

    Raises
    ------
    UnsupportedInputError
        For types pellucid cannot read.
    DataShapeError, EmptyDataError
        For data of the wrong dimensionality or with no rows or columns.
    """
    if isinstance(data, Dataset):
        dataset = data
    elif isinstance(data, pd.DataFrame):
        dataset = _from_frame(data)
    elif isinstance(data, pd.Series):
        dataset = _from_frame(data.to_frame().T.infer_objects())
    elif sp.issparse(data):
        matrix = data.tocsr()
        if matrix.shape[0] == 0 or matrix.shape[1] == 0:
            raise EmptyDataError(f"{name} must have at least one row and one column; found shape {matrix.shape}")
        dataset = Dataset(
            values=matrix.toarray().astype(np.float64),
            feature_names=default_feature_names(matrix.shape[1]),
            kind=SPARSE,
            sparse_format="csc" if data.format == "csc" else "csr",
        )
    elif hasattr(data, "data") and hasattr(data, "group_names"):
        values = _numeric_or_object(np.asarray(data.data), name)
        values = _as_2d(values, name)
        dataset = Dataset(values=values, feature_names=[str(g) for g in data.group_names], kind=DENSE_DATA)
        weights = getattr(data, "weights", None)
        if weights is not None and len(np.asarray(weights)) == values.shape[0]:
            w = np.asarray(weights, dtype=np.float64)
            dataset.weights = w / w.sum()
    elif isinstance(data, (np.ndarray, list, tuple)):
        if isinstance(data, (list, tuple)):
            _check_rectangular(data, name)
        array = np.asarray(data)
        dataset = Dataset(values=_as_2d(_numeric_or_object(array, name), name), feature_names=[])
        dataset.feature_names = default_feature_names(dataset.n_features)
    else:
        raise UnsupportedInputError(
            f"{name} must be a numpy array, list, pandas DataFrame or Series, scipy.sparse matrix or a "
            f"DenseData-like object (.data and .group_names); found {describe(data)}"
        )
    if dataset.n_rows == 0 or dataset.n_features == 0:
        raise EmptyDataError(
            f"{name} must have at least one row and one column; found shape {dataset.values.shape}"
        )
    if features is not None:
        features = [feature_name(f) for f in features]
        if len(features) != dataset.n_features:
            raise DataShapeError(
                f"features lists {len(features)} names but {name} has {dataset.n_features} columns; "
                "pass one name per column"
            )
        dataset = replace(dataset, feature_names=features)
    return dataset


def _from_frame(frame: pd.DataFrame) -> Dataset:
    numeric = all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in frame.dtypes)
    if numeric:
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.empty(frame.shape, dtype=object)
        for j, col in enumerate(frame.columns):
            values[:, j] = frame[col].to_numpy(dtype=object)
    return Dataset(
        values=values,
        feature_names=[feature_name(c) for c in frame.columns],
        kind=PANDAS,
        columns=list(frame.columns),
        dtypes=dict(frame.dtypes),
    )


def _check_rectangular(rows: list | tuple, name: str) -> None:
    """DataShapeError for a ragged list of rows (numpy would raise a bare ValueError or build object rows)."""
    lengths = [len(row) if isinstance(row, (list, tuple, np.ndarray)) else None for row in rows]
    if all(length is None for length in lengths):
        return  # one row of scalars
    if any(length is None for length in lengths) or len(set(lengths)) > 1:
        first = lengths[0]
        bad = next(i for i, length in enumerate(lengths) if length != first)
        raise DataShapeError(
            f"{name} must be rows of equal length; row 0 holds {_row_size(first)} but row {bad} holds "
            f"{_row_size(lengths[bad])}"
        )


def _row_size(length: int | None) -> str:
    return "a single value" if length is None else f"{length} value" + "s" * (length != 1)


def _numeric_or_object(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    if array.dtype.kind in "OUS":
        return array.astype(object)
    raise UnsupportedInputError(
        f"{name} must hold numbers or strings; found an array of dtype {array.dtype}"
    )


def _as_2d(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 1:
        return array.reshape(1, -1)
    if array.ndim != 2:
        raise DataShapeError(
            f"{name} must be one row (1-D) or a table of rows (2-D); found {array.ndim} dimensions, "
            f"shape {array.shape}"
        )
    return array


def column_names(dataset: Dataset) -> list[str] | None:
    """The column names rows carry: a DataFrame's string column labels, None for any other input.

    A DataFrame whose labels are not all strings (``pd.DataFrame(array)`` numbers its columns) carries no
    names: its columns keep their positional meaning, like a numpy array's.
    """
    if dataset.kind != PANDAS or dataset.columns is None:
        return None
    if not all(isinstance(c, str) for c in dataset.columns):
        return None
    return list(dataset.columns)


def align_columns(rows: Dataset, names: list[str] | None, *, name: str = "evaluation_examples") -> Dataset:
    """Rows with their columns matched to ``names`` by name, not by position.

    Rows without column names (numpy, sparse, lists) and an explainer that knows no names keep their
    positional meaning. Rows whose names are the same set in another order are reordered; any other set of
    names is refused, naming the missing and unexpected columns.

    Parameters
    ----------
    rows : Dataset
        Rows as read by :func:`as_dataset`.
    names : list of str or None
        The column names the explainer or model was built with, in its order.
    name : str
        What the rows are called in error messages.

    Returns
    -------
    Dataset
        ``rows`` itself when nothing had to move, else a copy with values, columns, dtypes and feature names
        in the order of ``names``.

    Raises
    ------
    DataShapeError
        When the rows' column names are not the set ``names``.
    """
    given = column_names(rows)
    if given is None or names is None:
        return rows
    names = [str(n) for n in names]
    if given == names:
        return rows
    keys, wanted = given, names
    if set(given) != set(names):  # LightGBM stores "mean radius" as "mean_radius": compare its way too
        keys, wanted = [_lightgbm_name(c) for c in given], [_lightgbm_name(n) for n in names]
        if keys == wanted and len(set(keys)) == len(keys):
            return rows
    if len(keys) == len(wanted) and set(keys) == set(wanted) and len(set(keys)) == len(keys):
        position = {column: j for j, column in enumerate(keys)}
        order = np.array([position[column] for column in wanted])
        names = [given[j] for j in order]
        feature_names = [rows.feature_names[j] for j in order] if len(rows.feature_names) == len(given) else names
        return replace(
            rows, values=rows.values[:, order], columns=[rows.columns[j] for j in order],
            dtypes=None if rows.dtypes is None else {c: rows.dtypes[c] for c in names},
            feature_names=feature_names, notes=list(rows.notes),
        )
    missing = [n for n in names if n not in set(given)]
    unexpected = [c for c in given if c not in set(names)]
    duplicated = sorted({c for c in given if given.count(c) > 1})
    found = []
    if missing:
        found.append(f"missing columns {_preview(missing)}")
    if unexpected:
        found.append(f"unexpected columns {_preview(unexpected)}")
    if duplicated:
        found.append(f"duplicated columns {_preview(duplicated)}")
    raise DataShapeError(
        f"{name} must have the columns {_preview(names)} (matched by name, in any order); found "
        + (" and ".join(found) or f"columns {_preview(given)}")
        + ". Rename the columns, or pass a numpy array to match columns by position"
    )


def _lightgbm_name(name: str) -> str:
    """A column name as LightGBM stores it: whitespace and JSON special characters become underscores."""
    return re.sub(r'[\s",:\[\]{}]', "_", name)


def _preview(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}, ...] ({len(names)} names)" if len(names) > limit else f"[{shown}]"


def summarize(dataset: Dataset, n_clusters: int, *, seed: int = 0) -> Dataset:
    """Summarise rows with weighted k-means: ``n_clusters`` representative rows weighted by cluster size.

    Numeric data: each cluster centre, with every feature snapped to the nearest value seen in that feature
    (so binary and integer features stay valid). Data with non-numeric columns: the row closest to each
    centre (a medoid), found on standardised numeric columns and ordinal codes.

    Parameters
    ----------
    dataset : Dataset
        Rows to summarise.
    n_clusters : int
        Number of rows to keep (k).
    seed : int
        Random state of k-means.

    Returns
    -------
    Dataset
        ``n_clusters`` rows with ``weights`` summing to 1 and a note of what was done.
    """
    from sklearn.cluster import KMeans

    if not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1:
        raise ArgumentError(f"n_clusters must be a positive integer; found {n_clusters!r}")
    if dataset.n_rows <= n_clusters:
        return dataset
    encoded = _encode_for_distance(dataset)
    kmeans = KMeans(n_clusters=int(n_clusters), n_init=3, random_state=seed).fit(encoded)
    counts = np.bincount(kmeans.labels_, minlength=n_clusters).astype(np.float64)
    if dataset.is_numeric and not np.isnan(dataset.values).any():
        centres = _centres_in_original_units(dataset.values, kmeans.labels_, n_clusters)
        rows = _snap_to_observed(centres, dataset.values)
        how = "k-means centres snapped to observed values"
    else:
        nearest = np.array([
            np.flatnonzero(kmeans.labels_ == c)[
                np.argmin(((encoded[kmeans.labels_ == c] - kmeans.cluster_centers_[c]) ** 2).sum(axis=1))
            ]
            for c in range(n_clusters)
        ])
        rows = dataset.values[nearest]
        how = "medoid rows of k-means clusters"
    keep = counts > 0
    summary = dataset.with_values(rows[keep], weights=counts[keep] / counts[keep].sum())
    note = f"background summarised from {dataset.n_rows} to {int(keep.sum())} weighted rows ({how})"
    summary.notes.append(note)
    logger.info(note)
    return summary


def _encode_for_distance(dataset: Dataset) -> np.ndarray:
    columns = []
    for j in range(dataset.n_features):
        column = dataset.values[:, j]
        try:
            numeric = column.astype(np.float64)
        except (TypeError, ValueError):
            numeric = pd.factorize(pd.Series(column).astype(str))[0].astype(np.float64)
        fill = np.nanmean(numeric) if np.isfinite(numeric).any() else 0.0
        numeric = np.where(np.isfinite(numeric), numeric, fill)
        scale = numeric.std()
        columns.append((numeric - numeric.mean()) / (scale if scale > 0 else 1.0))
    return np.column_stack(columns)


def _centres_in_original_units(values: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros((k, values.shape[1]))
    np.add.at(sums, labels, values)
    counts = np.bincount(labels, minlength=k)[:, None]
    return sums / np.maximum(counts, 1)


def _snap_to_observed(centres: np.ndarray, values: np.ndarray) -> np.ndarray:
    snapped = np.empty_like(centres)
    for j in range(values.shape[1]):
        observed = np.unique(values[:, j])
        position = np.clip(np.searchsorted(observed, centres[:, j]), 1, max(len(observed) - 1, 1))
        lower = observed[position - 1]
        upper = observed[np.minimum(position, len(observed) - 1)]
        snapped[:, j] = np.where(np.abs(centres[:, j] - lower) <= np.abs(upper - centres[:, j]), lower, upper)
    return snapped


def sample_rows(dataset: Dataset, n_rows: int, *, seed: int = 0) -> tuple[Dataset, np.ndarray]:
    """Uniformly sample ``n_rows`` rows without replacement.

    Returns
    -------
    (Dataset, ndarray)
        The sampled rows (with a note) and their indices in the original data, sorted.
    """
    if not isinstance(n_rows, (int, np.integer)) or n_rows < 1:
        raise ArgumentError(f"n_rows must be a positive integer; found {n_rows!r}")
    if dataset.n_rows <= n_rows:
        return dataset, np.arange(dataset.n_rows)
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(dataset.n_rows, size=int(n_rows), replace=False))
    sampled = dataset.with_values(dataset.values[index])
    note = f"evaluation data sampled from {dataset.n_rows} to {int(n_rows)} rows (uniform, seed {seed})"
    sampled.notes.append(note)
    logger.info(note)
    return sampled, index
