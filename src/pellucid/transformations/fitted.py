"""Fitted raw -> engineered transformations: transform raw rows, and know the raw <- engineered map.

:class:`Transformations` reads every accepted form of the ``transformations=`` argument:

* a list of sklearn-pandas style tuples ``[(["age"], StandardScaler()), ("colour", OneHotEncoder()), ...]``
  whose transformers are fitted (the SDK's documented example: the list inside the fitted pipeline's mapper);
* a fitted DataFrameMapper (pellucid's or sklearn-pandas'), a fitted ``ColumnTransformer``, a fitted
  ``Pipeline`` of transformers (e.g. ``pipeline[:-1]``), or any fitted transformer with ``transform``;
* a feature map: a (dense or scipy.sparse) matrix of shape (n_raw, n_engineered), a list of them for
  successive transformations, or a :class:`~pellucid.transformations.FeatureMap`. A map cannot transform
  rows: the explainer then takes engineered rows and only maps the explanation.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from pellucid.data import Dataset, as_dataset
from pellucid.errors import DataShapeError, TransformationError, UnsupportedInputError, describe
from pellucid.feature_map import FeatureMap, SharedOutput, as_feature_map
from pellucid.transformations.dataframe_mapper import adopt_fitted_list, is_fitted, is_mapper
from pellucid.transformations.mapping import MIXES, map_transformer, transform_checked
from pellucid.transformations.probe import probe_rows

__all__ = ["Transformations", "get_feature_map"]

logger = logging.getLogger(__name__)


class Transformations:
    """The user's fitted transformations, ready to transform raw rows and to map explanations back.

    Build one with :meth:`from_user`; call :meth:`fit_map` with raw rows (the background) to learn the
    feature map, then :meth:`engineered` on every raw dataset to explain.

    Attributes
    ----------
    transformer : object or None
        The fitted transformer that turns raw rows into engineered ones (None for a plain feature map).
    kind : str
        "list", "dataframe_mapper", "column_transformer", "pipeline", "transformer" or "feature_map".
    feature_map : FeatureMap or None
        Known once :meth:`fit_map` ran (immediately for a plain feature map).
    allow_all_transformations : bool
        Share outputs that mix several raw columns equally among them instead of raising.
    """

    def __init__(
        self, transformer: Any, kind: str, *, feature_map: FeatureMap | None = None,
        allow_all_transformations: bool = False,
    ) -> None:
        self.transformer = transformer
        self.kind = kind
        self.feature_map = feature_map
        self.allow_all_transformations = bool(allow_all_transformations)
        #: number of raw rows the map was probed on (0 for a plain feature map)
        self.n_probe_rows = 0

    @classmethod
    def from_user(cls, transformations: Any, *, allow_all_transformations: bool = False) -> Transformations:
        """Read the ``transformations`` argument in any accepted form.

        Raises
        ------
        TransformationError
            For transformers that are not fitted.
        UnsupportedInputError
            For an object of no accepted form.
        """
        options = {"allow_all_transformations": allow_all_transformations}
        if isinstance(transformations, Transformations):
            return transformations
        if isinstance(transformations, FeatureMap) or sp.issparse(transformations) or isinstance(
            transformations, np.ndarray
        ):
            return cls(None, "feature_map", feature_map=as_feature_map(transformations), **options)
        if isinstance(transformations, (list, tuple)):
            if transformations and all(isinstance(t, (np.ndarray, FeatureMap)) or sp.issparse(t)
                                       for t in transformations):
                return cls(None, "feature_map", feature_map=as_feature_map(list(transformations)), **options)
            return cls(adopt_fitted_list(transformations), "list", **options)
        if isinstance(transformations, ColumnTransformer):
            if not hasattr(transformations, "transformers_"):
                raise TransformationError("the ColumnTransformer is not fitted; pass the fitted one (fit the pipeline first)")
            return cls(transformations, "column_transformer", **options)
        if is_mapper(transformations):
            if not hasattr(transformations, "built_features"):
                raise TransformationError("the DataFrameMapper is not fitted; pass the fitted one (fit the pipeline first)")
            return cls(transformations, "dataframe_mapper", **options)
        if isinstance(transformations, Pipeline):
            for name, step in transformations.steps:
                if step is not None and step != "passthrough" and not hasattr(step, "transform"):
                    raise TransformationError(
                        f"the transformations Pipeline's step {name!r} ({type(step).__name__}) is not a transformer; "
                        "pass only the preprocessing (pipeline[:-1]) and give the final estimator as the model "
                        "(see pellucid.transformations.split_pipeline)"
                    )
            if not is_fitted(transformations):
                raise TransformationError("the transformations Pipeline is not fitted; fit it first")
            return cls(transformations, "pipeline", **options)
        if hasattr(transformations, "transform"):
            if not is_fitted(transformations):
                raise TransformationError(
                    f"the transformer {type(transformations).__name__} is not fitted; pass the fitted one"
                )
            return cls(transformations, "transformer", **options)
        raise UnsupportedInputError(
            "transformations must be a list of (columns, transformer) tuples, a fitted DataFrameMapper, "
            "ColumnTransformer, Pipeline or transformer, or a feature map matrix of shape (n_raw, n_engineered); "
            f"found {describe(transformations)}"
        )

    @property
    def transforms_rows(self) -> bool:
        """True when raw rows can be transformed (False for a plain feature map)."""
        return self.transformer is not None

    # ------------------------------------------------------------------ the map
    def fit_map(self, raw: Dataset, source: Any = None) -> FeatureMap:
        """Learn the raw <- engineered map by reading the transformations and probing them on rows of ``raw``.

        Parameters
        ----------
        raw : Dataset
            Raw rows (usually the background); a few hundred of them are used as probe rows.
        source : DataFrame, optional
            The user's own frame behind ``raw`` (same rows and columns): its exact dtypes are given to the
            transformers.

        Raises
        ------
        TransformationError
            When an engineered feature depends on several raw columns (or on none that can be found) and
            ``allow_all_transformations`` is False; the message names the transformer, outputs and columns.
        """
        if not self.transforms_rows:
            return self.feature_map
        picked = probe_rows(raw)
        self.n_probe_rows = int(picked.size)
        data = source.iloc[picked] if isinstance(source, pd.DataFrame) else raw.to_model_input(raw.values[picked])
        data = self._mapper_input(data)
        mapped = map_transformer(self.transformer, data, list(raw.feature_names), "")
        width = transform_checked(self.transformer, data, "the transformations").shape[1]
        if width != mapped.weights.shape[1]:
            raise TransformationError(
                f"the transformations produce {width} engineered columns but pellucid found {mapped.weights.shape[1]} "
                "in their parts; please report this with the transformations used"
            )
        shared = [
            SharedOutput(p.where, p.outputs, [raw.feature_names[i] for i in p.inputs], p.reason)
            for p in mapped.problems
        ]
        if shared and not self.allow_all_transformations:
            raise TransformationError(_many_to_one_message(shared))
        notes = [
            f"allow_all_transformations: {s.describe()}; their importance is shared equally among those raw columns"
            for s in shared
        ]
        for note in notes:
            logger.warning(note)
        self.feature_map = FeatureMap(
            weights=mapped.weights.tocsr(),
            raw_features=list(raw.feature_names),
            engineered_features=[str(n) for n in mapped.names],
            shared=shared,
            notes=notes,
        )
        return self.feature_map

    def _mapper_input(self, data: Any) -> Any:
        """A list of ``(columns, transformer)`` (or a mapper) selects DataFrame columns; numpy or scipy.sparse rows
        become a DataFrame whose columns are their integer positions, so integer column selectors work (as in the
        old SDK)."""
        if self.kind not in ("list", "dataframe_mapper") or isinstance(data, pd.DataFrame):
            return data
        return pd.DataFrame(data.toarray() if sp.issparse(data) else np.asarray(data))

    # ------------------------------------------------------------------ rows
    def transform(self, raw: Dataset, source: Any = None) -> Any:
        """Engineered rows in the transformer's own output form (ndarray, CSR matrix or DataFrame).

        ``source``, the user's own DataFrame behind ``raw`` when there is one, is transformed as it is (exact
        dtypes); otherwise the rows are rebuilt in the form the user gave them.
        """
        if not self.transforms_rows:
            raise TransformationError("a feature map cannot transform rows; pass engineered rows")
        data = self._mapper_input(source if isinstance(source, pd.DataFrame) else raw.to_model_input())
        try:
            return self.transformer.transform(data)
        except Exception as exc:  # user code: report what failed and what it needs
            raise TransformationError(
                f"the transformations could not transform {raw.n_rows} raw rows with columns "
                f"{list(raw.feature_names)[:20]} ({type(exc).__name__}: {exc}); pass raw rows like those the "
                "transformations were fitted on"
            ) from exc

    def engineered(self, raw: Dataset, name: str = "evaluation_examples", source: Any = None) -> Dataset:
        """The engineered :class:`~pellucid.data.Dataset` of raw rows, named after the feature map.

        ``source`` is the user's DataFrame behind ``raw``, if any (see :meth:`transform`).
        """
        if self.feature_map is None:
            self.fit_map(raw, source)
        output = self.transform(raw, source)
        if not isinstance(output, pd.DataFrame) and not sp.issparse(output):
            output = np.asarray(output)
            if output.ndim == 1:
                output = output.reshape(-1, 1)
        n_columns = output.shape[1]
        if n_columns != self.feature_map.n_engineered:
            raise DataShapeError(
                f"the transformations turned {name} into {n_columns} engineered columns; the feature map has "
                f"{self.feature_map.n_engineered}"
            )
        dataset = as_dataset(output, self.feature_map.engineered_features, name=f"transformed {name}")
        dataset.weights = raw.weights
        dataset.notes = list(raw.notes)
        return dataset


def get_feature_map(
    transformations: Any, raw_examples: Any, *, allow_all_transformations: bool = False
) -> FeatureMap:
    """The raw <- engineered :class:`FeatureMap` of fitted transformations.

    Parameters
    ----------
    transformations : list of tuples, DataFrameMapper, ColumnTransformer, Pipeline, transformer or matrix
        Any accepted form (see :class:`Transformations`).
    raw_examples : DataFrame or array-like of shape (n_rows, n_raw)
        Raw rows the transformations accept; a few hundred are used to probe transformers of several columns.
    allow_all_transformations : bool, default False
        Share outputs mixing several raw columns equally among them instead of raising TransformationError.

    Returns
    -------
    FeatureMap
        ``weights`` of shape (n_raw, n_engineered).

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import ColumnTransformer
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> frame = pd.DataFrame({"age": [20.0, 40.0, 60.0], "colour": ["red", "blue", "red"]})
    >>> ct = ColumnTransformer([("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(), ["colour"])]).fit(frame)
    >>> get_feature_map(ct, frame).groups()
    {'age': ['num__age'], 'colour': ['cat__colour_blue', 'cat__colour_red']}
    """
    runtime = Transformations.from_user(transformations, allow_all_transformations=allow_all_transformations)
    return runtime.fit_map(as_dataset(raw_examples, name="raw_examples"))


def _many_to_one_message(shared: list[SharedOutput]) -> str:
    details = "; ".join(s.describe() for s in shared[:5])
    more = f" (and {len(shared) - 5} more)" if len(shared) > 5 else ""
    why = (
        "a raw feature's importance is the sum of the importances of the engineered features made from it alone"
        if any(s.reason == MIXES for s in shared) else
        "pellucid could not tell which raw column they come from"
    )
    return (
        f"the transformations cannot be mapped back to raw features: {details}{more}. Expected every engineered "
        f"feature to come from one raw column ({why}). Give each raw column its own transformer (or use one "
        "that works column by column), explain the engineered features without transformations, or pass "
        "allow_all_transformations=True to share each such output's importance equally among its raw columns"
    )
