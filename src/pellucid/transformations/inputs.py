"""What BaseExplainer does with ``transformations=``: raw data in, engineered rows to explain, raw results out.

:class:`TransformedInputs` holds everything an explainer needs when it is given transformations: the raw and
the engineered background, the raw and the engineered feature names, and the fitted transformations with their
feature map. :class:`~pellucid.explainers.base.BaseExplainer` builds one in its constructor, reads every
evaluation set through :meth:`TransformedInputs.read` (raw rows in, engineered rows for the subclass out), and
maps results with :meth:`TransformedInputs.to_raw`. Direct explainers therefore explain engineered rows with no
code of their own for transformations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from pellucid.data import Dataset, as_dataset
from pellucid.errors import ArgumentError, DataShapeError
from pellucid.explanation import Explanation
from pellucid.feature_map import as_feature_map
from pellucid.transformations.fitted import Transformations
from pellucid.transformations.pipeline import pipeline_contains
from pellucid.transformations.raw import raw_explanation

__all__ = ["TransformedInputs"]


class TransformedInputs:
    """Raw <-> engineered data handling of an explainer given transformations.

    Parameters
    ----------
    model : object
        The explained model: the final estimator, taking engineered features.
    transformations : any accepted form (see :class:`~pellucid.transformations.Transformations`)
    initialization_examples : DataFrame or array-like, optional
        Raw background rows (engineered rows for a plain feature map).
    features : list of str, optional
        Raw column names (as in the SDK); for a plain feature map, raw or engineered names by their number.
    allow_all_transformations : bool, default False

    Attributes
    ----------
    runtime : Transformations
    background : Dataset or None
        Engineered background rows.
    raw_background : Dataset or None
        Raw background rows.
    features : list of str or None
        Engineered feature names (None until the map is known, when there is no background).
    raw_features : list of str or None
    notes : list of str
        What was done on the user's behalf (background notes, shared outputs).
    """

    def __init__(
        self,
        model: Any,
        transformations: Any,
        initialization_examples: Any = None,
        features: list[str] | None = None,
        *,
        allow_all_transformations: bool = False,
    ) -> None:
        if pipeline_contains(model, transformations):
            raise ArgumentError(
                "the model is the whole Pipeline, which already applies the transformations; pass its final "
                "estimator (model.steps[-1][1]) as the model, or split it with "
                "pellucid.transformations.split_pipeline(model)"
            )
        self.runtime = Transformations.from_user(transformations, allow_all_transformations=allow_all_transformations)
        self.background: Dataset | None = None
        self.raw_background: Dataset | None = None
        self.features: list[str] | None = None
        self.raw_features: list[str] | None = None
        self._raw_source: pd.DataFrame | None = None  # the user's raw background frame, dtypes intact
        if not self.runtime.transforms_rows:
            self._setup_feature_map(initialization_examples, features)
        elif initialization_examples is not None:
            self._setup_raw_background(initialization_examples, features)
        elif features is not None:
            self.raw_features = [str(f) for f in features]
        self.notes: list[str] = list(self.background.notes) if self.background is not None else []
        if self.runtime.feature_map is not None:
            self.notes += list(self.runtime.feature_map.notes)

    # ------------------------------------------------------------------ setup
    def _setup_raw_background(self, initialization_examples: Any, features: list[str] | None) -> None:
        raw = as_dataset(initialization_examples, None, name="initialization_examples")
        if features is not None:
            if len(features) != raw.n_features:
                raise DataShapeError(
                    f"with transformations, features names the {raw.n_features} raw columns of "
                    f"initialization_examples; found {len(features)} names"
                )
            raw = replace(raw, feature_names=[str(f) for f in features])
        if isinstance(initialization_examples, pd.DataFrame):
            self._raw_source = initialization_examples
        self.runtime.fit_map(raw, self._raw_source)
        self.raw_background = raw
        self.background = self.runtime.engineered(raw, "initialization_examples", self._raw_source)
        self.raw_features = list(raw.feature_names)
        self.features = list(self.runtime.feature_map.engineered_features)

    def _setup_feature_map(self, initialization_examples: Any, features: list[str] | None) -> None:
        """A plain feature map: the data is engineered; ``features`` names the raw (or engineered) features."""
        fmap = self.runtime.feature_map
        raw_names = engineered_names = None
        if features is not None:
            names = [str(f) for f in features]
            if len(names) == fmap.n_raw:
                raw_names = names
            elif len(names) == fmap.n_engineered:
                engineered_names = names
            else:
                raise DataShapeError(
                    f"features must name the feature map's {fmap.n_raw} raw features (or its "
                    f"{fmap.n_engineered} engineered ones); found {len(names)} names"
                )
        if initialization_examples is not None:
            self.background = as_dataset(initialization_examples, engineered_names, name="initialization_examples")
            if self.background.n_features != fmap.n_engineered:
                raise DataShapeError(
                    f"initialization_examples must have the feature map's {fmap.n_engineered} engineered columns; "
                    f"found {self.background.n_features}"
                )
            engineered_names = list(self.background.feature_names)
        self.runtime.feature_map = as_feature_map(fmap, raw_names, engineered_names)
        self.features = list(self.runtime.feature_map.engineered_features)
        self.raw_features = list(self.runtime.feature_map.raw_features)

    # ------------------------------------------------------------------ rows
    @property
    def transforms_rows(self) -> bool:
        """True when evaluation data is raw and transformed here (False for a plain feature map)."""
        return self.runtime.transforms_rows

    def default_rows(self) -> Any:
        """The rows ``explain_global`` averages over by default: the raw background (the user's frame)."""
        if self._raw_source is not None:
            return self._raw_source
        return self.raw_background if self.raw_background is not None else self.background

    def read(self, evaluation_examples: Any) -> tuple[Dataset, Dataset]:
        """(engineered rows to explain, the raw rows they came from).

        Raises
        ------
        DataShapeError
            When the raw rows lack columns of the background, have others, or a different number of columns.
        TransformationError
            When the transformations cannot transform them.
        """
        source = self._align_columns(evaluation_examples)
        raw_rows = as_dataset(source, None, name="evaluation_examples")
        if self.raw_features is not None:
            if raw_rows.n_features != len(self.raw_features):
                raise DataShapeError(
                    f"evaluation_examples must have the {len(self.raw_features)} raw columns the explainer was "
                    f"built with (the transformations' input); found {raw_rows.n_features}"
                )
            raw_rows = replace(raw_rows, feature_names=list(self.raw_features))
        rows = self.runtime.engineered(raw_rows, source=source)
        if self.features is None:  # no background: the map was learnt from these rows
            self.features = list(self.runtime.feature_map.engineered_features)
            self.raw_features = list(self.runtime.feature_map.raw_features)
            self.notes += list(self.runtime.feature_map.notes)
        return rows, raw_rows

    def _align_columns(self, evaluation_examples: Any) -> Any:
        """Raw DataFrame rows with the background's columns in the background's order."""
        background = self.raw_background
        if not isinstance(evaluation_examples, pd.DataFrame) or background is None or background.columns is None:
            return evaluation_examples
        columns = list(background.columns)
        if list(evaluation_examples.columns) == columns:
            return evaluation_examples
        missing = [c for c in columns if c not in evaluation_examples.columns]
        extra = [c for c in evaluation_examples.columns if c not in columns]
        if missing or extra:
            raise DataShapeError(
                f"evaluation_examples must have the raw columns of initialization_examples; missing {missing}, "
                f"unexpected {extra}"
            )
        return evaluation_examples[columns]

    # ------------------------------------------------------------------ results
    def meta(self) -> dict[str, Any]:
        """Entries for an engineered explanation's meta: the transformations used and the feature map."""
        return {
            "transformations": {
                "kind": self.runtime.kind,
                "allow_all_transformations": self.runtime.allow_all_transformations,
                "probe_rows": self.runtime.n_probe_rows,
            },
            "feature_map": self.runtime.feature_map.to_meta(),
        }

    def to_raw(self, explanation: Explanation, raw_rows: Dataset | None) -> Explanation:
        """The engineered explanation of ``raw_rows`` in raw features."""
        return raw_explanation(explanation, self.runtime.feature_map, self.raw_features, raw_rows)
