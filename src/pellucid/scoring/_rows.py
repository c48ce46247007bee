"""Reading the rows a scoring explainer is asked about: numbers in feature order, validated with clear errors.

Accepted: arrays (1-D is one row), DataFrames (columns matched by name, any order), lists of rows (``None`` is a
missing value) and lists of records ``{feature: value}``. Strings are refused where numbers are expected (numpy
would silently turn ``"3"`` into 3.0), infinities always, missing values unless the explainer handles them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pellucid.data import as_dataset, default_feature_names, feature_name
from pellucid.errors import DataShapeError, DataValueError

__all__ = ["RowReader", "preview"]


def preview(names: list[str], limit: int = 8) -> str:
    """The first names of a list, for error messages."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"[{shown}, ...] ({len(names)} names)" if len(names) > limit else f"[{shown}]"


class RowReader:
    """Validates rows of numbers for one scoring explainer.

    Parameters
    ----------
    features : list of str
        Feature names, in column order.
    allows_missing : bool
        Whether NaN (``None``) cells are accepted.
    kind : str
        The scoring explainer's kind, named in errors.
    """

    def __init__(self, features: list[str], *, allows_missing: bool, kind: str) -> None:
        self.features = features
        self.allows_missing = allows_missing
        self.kind = kind

    def read(self, data: Any) -> np.ndarray:
        """Rows as float64, ndarray of shape (n_rows, n_features).

        Raises
        ------
        DataShapeError
            Wrong number of features, unknown or missing feature names, no rows.
        DataValueError
            Non-numeric cells, infinite cells, or NaN cells when missing values are not allowed.
        """
        n_features = len(self.features)
        if isinstance(data, (list, tuple)) and data and all(isinstance(r, dict) for r in data):
            data = self._lists(self._records_in_order(data))
        elif isinstance(data, (list, tuple)):
            data = self._lists(data)
        if isinstance(data, pd.DataFrame):
            data = self._align_columns(data)
        dataset = as_dataset(data, None, name="data")
        if dataset.n_features != n_features:
            raise DataShapeError(
                f"data must have {n_features} features ({preview(self.features)}); found {dataset.n_features}"
            )
        if not dataset.is_numeric:
            raise DataValueError("data must hold numbers only; found non-numeric cells (strings or objects)")
        self.check(dataset.values)
        return dataset.values

    def check(self, values: np.ndarray) -> None:
        """Refuse infinite cells, and NaN cells unless missing values are allowed."""
        infinite = np.isinf(values)
        if infinite.any():
            row, col = np.argwhere(infinite)[0]
            raise DataValueError(
                f"data must be finite; found {int(infinite.sum())} infinite cells (first at row {row}, "
                f"feature {self.features[col]!r})"
            )
        if not self.allows_missing:
            nan = np.isnan(values)
            if nan.any():
                row, col = np.argwhere(nan)[0]
                raise DataValueError(
                    f"this {self.kind} scoring explainer needs every cell filled; found {int(nan.sum())} missing "
                    f"(NaN) cells (first at row {row}, feature {self.features[col]!r}); impute them first"
                )

    def _lists(self, rows: list | tuple) -> Any:
        """Rows as float64 with None as NaN; the first cell that is not a number is named in the error."""
        try:
            array = np.array(rows)
        except ValueError as exc:  # rows of different lengths
            raise DataShapeError(
                f"data must be rows of {len(self.features)} values (numbers, or None for missing); found rows of "
                "other lengths or nested values"
            ) from exc
        if array.dtype.kind in "biuf":  # numbers only: the common case, no per-cell work
            return array.astype(np.float64)
        if array.ndim != 2:
            return array
        if array.dtype.kind == "O":  # numbers and None (missing values), or other objects
            for (row, col), cell in np.ndenumerate(array):
                if cell is not None and (isinstance(cell, (bool, np.bool_))
                                         or not isinstance(cell, (int, float, np.number))):
                    self._not_a_number(cell, row, col)
            return np.where(np.equal(array, None), np.nan, array).astype(np.float64)
        cells = np.asarray(rows, dtype=object)  # strings: name the first one
        for (row, col), cell in np.ndenumerate(cells):
            if isinstance(cell, (str, bytes)):
                self._not_a_number(cell, row, col)
        return cells

    def _not_a_number(self, cell: Any, row: int, col: int) -> None:
        name = self.features[col] if col < len(self.features) else f"column {col}"
        raise DataValueError(f"data must hold numbers; found {cell!r} in row {row}, feature {name!r}")

    def _records_in_order(self, records: list[dict]) -> list[list]:
        known = set(self.features)
        # JSON keys are strings: "0" names the integer feature 0 (the default names are column indices)
        by_text = {str(name): name for name in self.features if not isinstance(name, str)}
        if by_text:
            records = [{by_text.get(key, key) if key not in known else key: value for key, value in record.items()}
                       for record in records]
        for index, record in enumerate(records):
            if len(record) != len(self.features) or not known.issuperset(record):
                unknown = [name for name in record if name not in known]
                missing = [name for name in self.features if name not in record]
                parts = []
                if unknown:
                    parts.append(f"unknown feature names {preview(unknown)}")
                if missing:
                    parts.append(f"missing feature names {preview(missing)}")
                raise DataShapeError(
                    f"record {index} must have exactly the features {preview(self.features)}; found "
                    + " and ".join(parts)
                )
        return [[record[name] for name in self.features] for record in records]

    def _align_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame's columns in feature order, matched by name; unknown or missing names are refused.

        Unnamed data on either side (a ``pd.DataFrame(array)`` with columns 0..n-1, or an explainer whose
        features are the default column indices) keeps the columns' positional meaning.
        """
        columns = [feature_name(c) for c in frame.columns]
        if self.features == default_feature_names(len(self.features)) or columns == default_feature_names(
            len(columns)
        ):
            return frame
        if columns == self.features:
            return frame
        if len(columns) == len(self.features) and set(columns) == set(self.features) and len(set(columns)) == len(
            columns
        ):
            return frame.set_axis(columns, axis=1)[self.features]
        known = set(self.features)
        unknown = [name for name in columns if name not in known]
        missing = [name for name in self.features if name not in set(columns)]
        parts = [f"unknown feature names {preview(unknown)}"] if unknown else []
        parts += [f"missing feature names {preview(missing)}"] if missing else []
        raise DataShapeError(
            f"data must have the columns {preview(self.features)} (matched by name, in any order); found "
            + (" and ".join(parts) or f"duplicated names in {preview(columns)}")
            + "; rename the columns, or pass a numpy array to match columns by position"
        )
