"""Explanations in raw features through the user's feature transformations.

Users train on engineered features (scaled, imputed, one-hot encoded, binned, vectorised text) but think in
their raw columns. pellucid explains the model in engineered space, then sums the engineered values of each
raw column into one raw value through a :class:`FeatureMap` (a sparse matrix of shape (n_raw, n_engineered)
whose columns sum to 1, so additivity holds in raw space too).

How explainers use it
---------------------
Every explainer takes ``transformations=`` (and ``allow_all_transformations=``) through
:class:`~pellucid.explainers.base.BaseExplainer`. The model given to the explainer is the final estimator (it
takes engineered features) while ``initialization_examples`` and evaluation data are raw (DataFrames). The
base class transforms the background and every evaluation set with the fitted transformations; the direct
explainer explains the engineered rows; ``explain_local(x)`` / ``explain_global(x)`` map the result to raw
features with :func:`raw_explanation` by default, as the SDK did (``raw=False`` keeps engineered features).

Accepted transformations: a list of sklearn-pandas style ``(columns, transformer)`` tuples with fitted
transformers, a fitted DataFrameMapper (pellucid's :class:`DataFrameMapper` or sklearn-pandas'), a fitted
``ColumnTransformer``, a fitted ``Pipeline`` of transformers, any fitted transformer, or a plain map (matrix of
shape (n_raw, n_engineered)). One-to-one and one-to-many transformations are mapped; a transformer whose
outputs mix several raw columns (a PCA over three columns) raises :class:`~pellucid.errors.TransformationError`
naming them, unless ``allow_all_transformations=True`` shares such outputs equally among their columns
(recorded in the explanation's meta).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
>>> frame = pd.DataFrame({"age": [20.0, 40.0, 60.0], "colour": ["red", "blue", "red"]})
>>> mapper = DataFrameMapper([(["age"], StandardScaler()), (["colour"], OneHotEncoder(sparse_output=False))])
>>> _ = mapper.fit(frame)
>>> get_feature_map(mapper, frame).weights.toarray().tolist()
[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]
"""

from __future__ import annotations

from pellucid.feature_map import FeatureMap, SharedOutput, as_feature_map
from pellucid.transformations.dataframe_mapper import DataFrameMapper
from pellucid.transformations.fitted import Transformations, get_feature_map
from pellucid.transformations.pipeline import pipeline_contains, split_pipeline
from pellucid.transformations.raw import raw_explanation, raw_feature_importances

__all__ = [
    "DataFrameMapper",
    "FeatureMap",
    "SharedOutput",
    "Transformations",
    "as_feature_map",
    "get_feature_map",
    "pipeline_contains",
    "raw_explanation",
    "raw_feature_importances",
    "split_pipeline",
]
