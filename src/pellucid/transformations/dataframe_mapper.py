"""A DataFrameMapper compatible with sklearn-pandas', and the list-of-tuples form of transformations.

sklearn-pandas' ``DataFrameMapper`` applies one transformer (or a list of them, chained) to each selected
column set of a DataFrame and joins the outputs side by side. The old SDK's documentation builds its
preprocessing that way, and sklearn-pandas 2.2 no longer imports with current scikit-learn. pellucid's
:class:`DataFrameMapper` keeps the same constructor, the same column selection (a string selects one column
as a 1-D array, a list selects a 2-D table), fits the user's transformer objects in place as sklearn-pandas
does (so the list passed to an explainer holds the fitted transformers), and exposes the same fitted
attributes (``built_features``, ``built_default``, ``transformed_names_``), so a fitted mapper of either
library is read the same way.

Examples
--------
>>> import pandas as pd
>>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
>>> frame = pd.DataFrame({"age": [20.0, 40.0, 60.0], "colour": ["red", "blue", "red"]})
>>> mapper = DataFrameMapper([(["age"], StandardScaler()), (["colour"], OneHotEncoder(sparse_output=False))])
>>> mapper.fit_transform(frame).shape
(3, 3)
>>> mapper.transformed_names_
['age', 'colour_blue', 'colour_red']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline, make_pipeline

from pellucid.errors import (
    ArgumentError,
    DataShapeError,
    TransformationError,
    UnsupportedInputError,
    describe,
)

__all__ = ["DataFrameMapper", "adopt_fitted_list", "is_mapper", "select_columns", "as_2d_output"]

_OPTIONS = ("alias", "input_df", "prefix", "suffix")


class DataFrameMapper(TransformerMixin, BaseEstimator):
    """Apply transformers to DataFrame columns and join their outputs (sklearn-pandas' API).

    Parameters
    ----------
    features : list of tuple
        ``(columns, transformer)`` or ``(columns, transformer, options)``. ``columns`` is a column name (the
        transformer gets a 1-D array) or a list of names (a 2-D array). ``transformer`` is a transformer, a
        list of transformers (chained in a Pipeline) or None (the columns pass through). ``options`` may hold
        ``alias``, ``prefix``, ``suffix`` (output names) and ``input_df`` (pass a DataFrame/Series).
    default : False, None or transformer, default False
        What happens to the columns no feature selects: dropped (False), passed through (None), or given to
        this transformer as one table.
    sparse : bool, default False
        Join sparse outputs into a scipy.sparse CSR matrix instead of a dense array.
    df_out : bool, default False
        Return a DataFrame with ``transformed_names_`` as columns.
    input_df : bool, default False
        Pass DataFrames/Series to every transformer instead of numpy arrays.
    drop_cols : list of str, optional
        Columns the default transformer never sees.

    Attributes
    ----------
    built_features : list of tuple
        ``(columns, fitted transformer or None, options)`` per feature.
    built_default : False, None or fitted transformer
    transformed_names_ : list of str
        One name per output column.
    """

    def __init__(
        self,
        features: list,
        default: Any = False,
        sparse: bool = False,
        df_out: bool = False,
        input_df: bool = False,
        drop_cols: list[str] | None = None,
    ) -> None:
        self.features = features
        self.default = default
        self.sparse = sparse
        self.df_out = df_out
        self.input_df = input_df
        self.drop_cols = drop_cols

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: Any = None) -> DataFrameMapper:
        """Fit every transformer on its columns of ``X`` (a DataFrame); the transformer objects are fitted in place."""
        self._run(X, y, fit=True)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> Any:
        """Fit, then return the joined outputs."""
        return self._run(X, y, fit=True)

    def transform(self, X: pd.DataFrame) -> Any:
        """Joined outputs: ndarray of shape (n_rows, n_outputs), a CSR matrix (``sparse``) or a DataFrame (``df_out``)."""
        if not hasattr(self, "built_features"):
            raise TransformationError("this DataFrameMapper is not fitted yet; call fit first")
        return self._run(X, None, fit=False)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, ndarray of str of shape (n_outputs,)."""
        if getattr(self, "transformed_names_", None) is None:
            raise TransformationError("the output names are known once the mapper has transformed data")
        return np.asarray(self.transformed_names_, dtype=object)

    # ------------------------------------------------------------------ internals
    def _build(self) -> None:
        self.built_features = [_parse_feature(feature) for feature in _feature_list(self.features)]
        self.built_default = self.default if self.default in (False, None) else _build_transformer(self.default)

    def _run(self, X: Any, y: Any, *, fit: bool) -> Any:
        if not isinstance(X, pd.DataFrame):
            raise UnsupportedInputError(f"a DataFrameMapper transforms pandas DataFrames; found {describe(X)}")
        if fit:
            self._build()
        outputs, names = [], []
        for columns, transformer, options in self.built_features:
            selected = select_columns(X, columns, options.get("input_df", self.input_df))
            output = _apply(transformer, selected, y, fit)
            outputs.append(output)
            names += output_names(columns, transformer, output.shape[1], options)
        unselected = unselected_columns(self, X)
        if self.built_default is not False and unselected:
            selected = select_columns(X, unselected, self.input_df)
            output = _apply(self.built_default, selected, y, fit and self.built_default is not None)
            outputs.append(output)
            names += output_names(unselected, self.built_default, output.shape[1], {})
        if not outputs:
            raise TransformationError("the DataFrameMapper selects no column; give it at least one feature")
        self.transformed_names_ = names
        if self.sparse and any(sp.issparse(o) for o in outputs):
            joined = sp.hstack([sp.csr_matrix(o) for o in outputs], format="csr")
        else:
            joined = np.hstack([o.toarray() if sp.issparse(o) else o for o in outputs])
        if self.df_out:
            dense = joined.toarray() if sp.issparse(joined) else joined
            return pd.DataFrame(dense, columns=names, index=X.index)
        return joined


def is_mapper(transformations: Any) -> bool:
    """True for a DataFrameMapper of pellucid or sklearn-pandas (read by its attributes, never imported)."""
    return hasattr(transformations, "features") and hasattr(transformations, "default") and hasattr(
        transformations, "transform"
    ) and not isinstance(transformations, (list, tuple))


def adopt_fitted_list(features: Sequence) -> DataFrameMapper:
    """A fitted :class:`DataFrameMapper` over a list of ``(columns, fitted transformer)`` tuples.

    The transformers are not refitted: they must be the ones the model's preprocessing was fitted with (as in
    the SDK's example, where the list given to the explainer is the one inside the fitted pipeline's mapper).

    Raises
    ------
    TransformationError
        When a transformer is not fitted.
    """
    mapper = DataFrameMapper(list(features))
    mapper._build()
    for columns, transformer, _ in mapper.built_features:
        if transformer is not None and not is_fitted(transformer):
            raise TransformationError(
                f"the transformer for columns {columns!r} ({type(transformer).__name__}) is not fitted; pass the "
                "transformers the model's preprocessing was fitted with (fit the pipeline first), or a fitted "
                "DataFrameMapper / ColumnTransformer"
            )
    return mapper


def is_fitted(transformer: Any) -> bool:
    """True unless scikit-learn says the estimator is not fitted (objects outside sklearn count as fitted)."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(transformer, "get_params"):
        return True
    try:
        check_is_fitted(transformer)
    except NotFittedError:
        return False
    except TypeError:  # not an estimator in sklearn's sense
        return True
    return True


def select_columns(X: Any, columns: Any, input_df: bool) -> Any:
    """The columns of ``X`` a mapper gives a transformer: 1-D for one name, 2-D for a list of names."""
    vector = not isinstance(columns, (list, tuple))
    names = [columns] if vector else list(columns)
    try:
        subset = X[names]
    except KeyError as exc:
        missing = [c for c in names if c not in X.columns]
        raise DataShapeError(
            f"the transformations select columns {missing} that the data does not have; "
            f"its columns are {list(X.columns)}"
        ) from exc
    if input_df:
        return subset.iloc[:, 0] if vector else subset
    values = subset.to_numpy()
    return values[:, 0] if vector else values


def unselected_columns(mapper: Any, X: pd.DataFrame) -> list:
    """Columns of ``X`` that no feature of ``mapper`` selects (minus ``drop_cols``), in ``X``'s order."""
    selected = set()
    for columns, _, _ in mapper.built_features:
        selected.update(columns if isinstance(columns, (list, tuple)) else [columns])
    dropped = set(getattr(mapper, "drop_cols", None) or [])
    return [c for c in X.columns if c not in selected and c not in dropped]


def output_names(columns: Any, transformer: Any, width: int, options: dict) -> list[str]:
    """Output names of one mapper feature, sklearn-pandas style: the column name, or ``name_<suffix>``."""
    inputs = [str(c) for c in (columns if isinstance(columns, (list, tuple)) else [columns])]
    base = str(options.get("alias") or "_".join(inputs))
    prefix, suffix = str(options.get("prefix", "")), str(options.get("suffix", ""))
    names = feature_names_out(transformer, inputs, width) if transformer is not None else inputs
    if names is None:
        names = [base] if width == 1 else [f"{base}_{i}" for i in range(width)]
    else:
        names = [name if _names_a_column(name, inputs) else f"{base}_{name}" for name in names]
    if len(names) != width:
        names = [f"{base}_{i}" for i in range(width)]
    return [f"{prefix}{name}{suffix}" for name in names]


def _names_a_column(name: str, inputs: list[str]) -> bool:
    """True for ``colour``, ``colour_red``, ``age^2``, ``a b``: a name that starts with an input column's name."""
    return any(name == col or (name.startswith(col) and name[len(col)] in "_^ ") for col in inputs)


def feature_names_out(transformer: Any, input_names: list[str], width: int) -> list[str] | None:
    """The transformer's own output names when it has them and they number ``width``, else None."""
    getter = getattr(transformer, "get_feature_names_out", None)
    if getter is None:
        return None
    for args in ((np.asarray(input_names, dtype=object),), ()):
        try:
            names = [str(n) for n in getter(*args)]
        except Exception:  # transformers raise many kinds of errors when they cannot name outputs
            continue
        if len(names) == width:
            return names
    return None


def as_2d_output(output: Any) -> Any:
    """A transformer's output as a 2-D ndarray or CSR matrix (DataFrames and 1-D outputs converted)."""
    if sp.issparse(output):
        return output.tocsr()
    if isinstance(output, (pd.DataFrame, pd.Series)):
        output = output.to_numpy()
    array = np.asarray(output)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise TransformationError(f"a transformer returned {array.ndim}-D output; expected a 2-D table")
    return array


# ---------------------------------------------------------------------- helpers
def _feature_list(features: Any) -> list:
    if not isinstance(features, (list, tuple)) or not features:
        raise ArgumentError(
            "DataFrameMapper features must be a non-empty list of (columns, transformer) tuples; "
            f"found {describe(features)}"
        )
    return list(features)


def _parse_feature(feature: Any) -> tuple[Any, Any, dict]:
    if not isinstance(feature, tuple) or len(feature) not in (2, 3):
        raise ArgumentError(
            "each transformation must be a tuple (columns, transformer) or (columns, transformer, options), as in "
            f"sklearn-pandas; found {feature!r}"
        )
    columns, transformer = feature[0], feature[1]
    options = dict(feature[2]) if len(feature) == 3 and feature[2] else {}
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ArgumentError(f"transformation options may be {_OPTIONS}; found {unknown} for columns {columns!r}")
    if isinstance(columns, (list, tuple)):
        if not columns:
            raise ArgumentError("a transformation must select at least one column; found an empty column list")
        columns = list(columns)
    elif not isinstance(columns, (str, int, np.integer)):
        raise ArgumentError(
            f"transformation columns must be a column name or a list of names; found {describe(columns)}"
        )
    return columns, _build_transformer(transformer), options


def _build_transformer(transformer: Any) -> Any:
    if transformer is None or transformer == "passthrough":
        return None
    if isinstance(transformer, (list, tuple)):
        steps = [t for t in transformer if t is not None]
        if not steps:
            return None
        return steps[0] if len(steps) == 1 else make_pipeline(*steps)
    if not hasattr(transformer, "transform"):
        raise ArgumentError(f"a transformation's transformer must have transform(); found {describe(transformer)}")
    return transformer


def _apply(transformer: Any, selected: Any, y: Any, fit: bool) -> Any:
    if transformer is None:
        return as_2d_output(selected)
    if fit:
        if isinstance(transformer, Pipeline) or hasattr(transformer, "fit_transform"):
            return as_2d_output(transformer.fit_transform(selected, y))
        transformer.fit(selected, y)
    return as_2d_output(transformer.transform(selected))
