"""Read the explained rows from a file for ``pellucid dashboard --data``: .csv, .parquet or .npy (no pickle)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pellucid.errors import ArgumentError, DataShapeError, UnsupportedInputError

__all__ = ["read_rows", "SUFFIXES"]

logger = logging.getLogger(__name__)

SUFFIXES = (".csv", ".parquet", ".npy")


def read_rows(path: str | Path, features: list[str], *, target: str | None = None) -> tuple[Any, np.ndarray | None]:
    """Rows of the explained features from a file, and the target column when named.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.parquet`` table (columns named like the features, in any order, extra columns
        ignored; or exactly one column per feature, in order) or a 2-D ``.npy`` array.
    features : list of str
        The explanation's feature names.
    target : str, optional
        Column holding the true targets; it is removed from the rows.

    Returns
    -------
    (DataFrame or ndarray of shape (n_rows, n_features), ndarray of shape (n_rows,) or None)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedInputError(f"the data file must be one of {SUFFIXES}; found {path.name!r}")
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    if suffix == ".npy":
        if target is not None:
            raise ArgumentError("target names a column, and a .npy array has none: use a .csv or .parquet file")
        array = np.load(path, allow_pickle=False)
        if array.ndim != 2 or array.shape[1] != len(features):
            raise DataShapeError(
                f"the .npy data must be 2-D with one column per feature ({len(features)}); found shape {array.shape}"
            )
        return array, None
    frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    true_y = None
    if target is not None:
        if target not in frame.columns:
            raise ArgumentError(f"target column {target!r} is not in {path.name}; its columns are {list(frame.columns)}")
        true_y = frame.pop(target).to_numpy()
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    missing = [name for name in features if name not in columns]
    if not missing:
        return frame[features], true_y
    if len(columns) == len(features):
        logger.info("data columns %s do not name the features; using them in order as %s", columns, features)
        frame.columns = features
        return frame, true_y
    raise DataShapeError(
        f"the data file must hold the explained features {features}; {path.name} lacks {missing} "
        f"and has {len(columns)} columns, not {len(features)}"
    )
