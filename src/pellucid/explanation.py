"""The one Explanation type every pellucid explainer returns.

An :class:`Explanation` holds arrays, never views of them:

* ``local_values``: ndarray of shape (n_rows, n_features, n_outputs), or None for a global-only method;
* ``global_values``: ndarray of shape (n_features, n_outputs), stored only for methods without local values
  (for the others it is derived: the mean absolute local value over rows);
* ``expected_values_array``: ndarray of shape (n_outputs,), the model's average output in the explained space.

``n_outputs`` is fixed by the model's task: one per class for a classifier (binary too), one for a regressor.
The SDK-compatible accessors (``local_importance_values``, ``get_ranked_global_names``, ``expected_values``
...) are derived from these arrays on demand, in the SDK's layout; an accessor the SDK's explanation of the same
kind did not have (``per_class_values`` of a regression, ``local_importance_values`` of a global-only
explanation) raises ``AttributeError``, so ``hasattr`` answers as it did for the SDK's explanations. Explanations save to versioned JSON (with an optional ``.npz`` beside it for large
arrays); loading never runs code.

Examples
--------
>>> import numpy as np
>>> e = Explanation(method="example", task="regression", features=["a", "b"],
...                 local_values=np.array([[[1.0], [-3.0]]]), expected_values=np.array([0.5]))
>>> e.get_ranked_global_names()
['b', 'a']
"""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pellucid._version import __version__
from pellucid.errors import (
    ArgumentError,
    DataShapeError,
    ExplanationFormatError,
    ExplanationVersionError,
    MissingFileError,
)

__all__ = ["Explanation", "FORMAT_VERSION", "CLASSIFICATION", "REGRESSION"]

FORMAT_NAME = "pellucid.explanation"
FORMAT_VERSION = 1
CLASSIFICATION = "classification"
REGRESSION = "regression"
_TASKS = (CLASSIFICATION, REGRESSION)
# Arrays with more elements than this go to the .npz side file when saving with large_arrays="auto".
NPZ_THRESHOLD = 2_000_000
_ARRAY_FIELDS = ("local_values", "global_values", "expected_values", "eval_data", "model_output", "standard_errors",
                 "eval_y_predicted", "eval_y_predicted_proba")


def _as_float_array(name: str, value: Any, ndim: int) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != ndim:
        raise DataShapeError(f"{name} must have {ndim} dimensions; found shape {array.shape}")
    return array


class Explanation:
    """Local and/or global feature importances for one model, one method and one dataset.

    Parameters
    ----------
    method : str
        Name of the method that produced the values, e.g. ``"tree_shap"``.
    task : {"classification", "regression"}
        The model's task. It fixes ``n_outputs``: ``len(classes)`` for a classifier, 1 for a regressor.
    features : sequence of str or int
        Feature names, length n_features. Integer names stay integers (the SDK's default names are the column
        indices ``0 .. n_features - 1``); any other name is kept as a string.
    classes : sequence, optional
        Class labels of a classifier, length n_outputs. Ignored (must be None) for a regressor.
    local_values : array-like of shape (n_rows, n_features, n_outputs), optional
        Local importance values (SHAP values, LIME weights ...).
    global_values : array-like of shape (n_features, n_outputs), optional
        Global importances for methods without local values (permutation importance, surrogates).
        Must be None when ``local_values`` is given: the global view is then derived from them.
    expected_values : array-like of shape (n_outputs,), optional
        The expected model output (base value), one per output.
    eval_data : array-like of shape (n_rows, n_features), optional
        The explained rows, numeric or object, kept for plots and dashboards.
    model_output : array-like of shape (n_rows, n_outputs), optional
        The model's output for the explained rows, in the explained space (``meta["output_space"]``).
    standard_errors : array-like of shape (n_rows, n_features, n_outputs), optional
        Standard error of each local value, for sampled estimators.
    meta : dict, optional
        JSON-serialisable facts about how the values were computed: parameters, output space, and everything
        pellucid did on the user's behalf (background summarised, rows sampled).
    explanation_id : str, optional
        Unique id; a new uuid4 when omitted.
    is_raw : bool, default False
        True when the features are raw (pre-transformation) features.
    is_engineered : bool, default False
        True when the features are known to be engineered (the output of transformations), as in the SDK: set
        by explainers built with transformations and by :meth:`get_raw_explanation` on the explanation it maps.
    single_row : bool, default False
        True when the explained input was one 1-D row: the SDK views then drop the row axis
        (``local_importance_values`` is ``[class][feature]``, or ``[feature]`` for a regressor) while
        ``local_values`` keeps shape (1, n_features, n_outputs).
    eval_y_predicted : array-like of shape (n_rows,), optional
        The model's prediction for each explained row (labels for a classifier).
    eval_y_predicted_proba : array-like of shape (n_rows, n_classes), optional
        The classifier's predicted probabilities for each explained row.
    """

    def __init__(
        self,
        *,
        method: str,
        task: str,
        features: Sequence[str],
        classes: Sequence[Any] | None = None,
        local_values: Any = None,
        global_values: Any = None,
        expected_values: Any = None,
        eval_data: Any = None,
        model_output: Any = None,
        standard_errors: Any = None,
        meta: dict[str, Any] | None = None,
        explanation_id: str | None = None,
        is_raw: bool = False,
        is_engineered: bool = False,
        single_row: bool = False,
        eval_y_predicted: Any = None,
        eval_y_predicted_proba: Any = None,
    ) -> None:
        if task not in _TASKS:
            raise ArgumentError(f"task must be one of {_TASKS}; found {task!r}")
        self.method = str(method)
        self.task = task
        self.features = [_feature_name(name) for name in features]
        self.classes = None if classes is None else [_plain(c) for c in classes]
        if task == REGRESSION and self.classes is not None:
            raise ArgumentError("a regression explanation has no classes; found classes=" + repr(self.classes))
        if task == CLASSIFICATION and not self.classes:
            raise ArgumentError("a classification explanation needs its classes; found none")
        self.local_values = _as_float_array("local_values", local_values, 3)
        self._global_values = _as_float_array("global_values", global_values, 2)
        if self.local_values is not None and self._global_values is not None:
            raise ArgumentError("pass local_values or global_values, not both: the global view is derived")
        if self.local_values is None and self._global_values is None:
            raise ArgumentError("an explanation needs local_values or global_values; found neither")
        self._expected_values = _as_float_array("expected_values", expected_values, 1)
        self.eval_data = None if eval_data is None else _as_2d_data(eval_data)
        self.model_output = _as_float_array("model_output", model_output, 2)
        self.standard_errors = _as_float_array("standard_errors", standard_errors, 3)
        self.meta: dict[str, Any] = _jsonable(dict(meta or {}))
        self.meta.setdefault("pellucid_version", __version__)
        self.id = explanation_id or str(uuid.uuid4())
        self.is_raw = bool(is_raw)
        self._is_engineered = bool(is_engineered)
        self.single_row = bool(single_row)
        self._eval_y_predicted = None if eval_y_predicted is None else _as_1d_data(eval_y_predicted)
        self._eval_y_predicted_proba = _as_float_array("eval_y_predicted_proba", eval_y_predicted_proba, 2)
        self._check_shapes()
        if self.single_row and self.n_rows != 1:
            raise ArgumentError(f"single_row=True needs local values of exactly one row; found {self.n_rows} rows")

    # ------------------------------------------------------------------ shapes
    @property
    def n_outputs(self) -> int:
        """Number of outputs: classes for a classifier, 1 for a regressor."""
        return len(self.classes) if self.classes is not None else 1

    @property
    def expected_values_array(self) -> np.ndarray | None:
        """The expected value per output as an ndarray of shape (n_outputs,), or None.

        Code inside pellucid reads this name; ``expected_values`` is the SDK-facing view.
        """
        return self._expected_values

    @property
    def expected_values(self) -> list[float]:
        """The expected values as the SDK's explanations gave them: a list, one value per output.

        A classifier's list has one value per class; a regressor's holds its one value (the SDK's
        ``ExpectedValuesMixin`` wrapped a scalar in a list). Raises ``AttributeError`` when the explanation has
        no expected values (the SDK's explanation then had no such attribute).
        """
        self._sdk_attribute("expected_values", self._expected_values is not None)
        return self._expected_values.tolist()

    @property
    def n_features(self) -> int:
        """Number of features."""
        return len(self.features)

    @property
    def n_rows(self) -> int:
        """Number of explained rows (0 for a global-only explanation)."""
        return 0 if self.local_values is None else self.local_values.shape[0]

    def _check_shapes(self) -> None:
        m, k = self.n_features, self.n_outputs
        checks = []
        if self.local_values is not None:
            checks.append(("local_values", self.local_values.shape, (self.local_values.shape[0], m, k)))
            n = self.local_values.shape[0]
            if self.eval_data is not None:
                checks.append(("eval_data", self.eval_data.shape, (n, m)))
            if self.model_output is not None:
                checks.append(("model_output", self.model_output.shape, (n, k)))
            if self.standard_errors is not None:
                checks.append(("standard_errors", self.standard_errors.shape, (n, m, k)))
            if self._eval_y_predicted is not None:
                checks.append(("eval_y_predicted", self._eval_y_predicted.shape, (n,)))
            if self._eval_y_predicted_proba is not None:
                checks.append(("eval_y_predicted_proba", self._eval_y_predicted_proba.shape, (n, k)))
        if self._global_values is not None:
            checks.append(("global_values", self._global_values.shape, (m, k)))
        if self._expected_values is not None:
            checks.append(("expected_values", self._expected_values.shape, (k,)))
        for name, found, expected in checks:
            if tuple(found) != tuple(expected):
                raise DataShapeError(
                    f"{name} must have shape {expected} for {m} features and {k} outputs ({self.task}); "
                    f"found {tuple(found)}"
                )

    # ------------------------------------------------------------------ derived global views
    @property
    def global_values(self) -> np.ndarray:
        """Global importance per feature and output, ndarray of shape (n_features, n_outputs).

        The mean absolute local value over rows when local values exist, else the stored global values.
        """
        if self._global_values is not None:
            return self._global_values
        return np.abs(self.local_values).mean(axis=0)

    @property
    def model_task(self) -> str:
        """The model's task (SDK name)."""
        return self.task

    @property
    def model_type(self) -> str | None:
        """Dotted type name of the explained model, ``"function"`` for a function, or None when unknown (SDK name)."""
        return self.meta.get("model_type")

    @property
    def is_engineered(self) -> bool:
        """True when the features are known to be engineered (SDK meaning: "specifically not raw").

        False on a plain explanation and on a raw one; True on one an explainer with transformations computed
        in engineered features, and on one :meth:`get_raw_explanation` was called on.
        """
        return self._is_engineered

    @property
    def num_features(self) -> int:
        """Number of features (SDK name)."""
        return self.n_features

    @property
    def num_classes(self) -> int:
        """Number of classes (SDK name); classifiers only, as in the SDK (``AttributeError`` for a regressor)."""
        return len(self._sdk_classes("num_classes"))

    @property
    def num_examples(self) -> int:
        """Number of explained rows (SDK name); local explanations only."""
        self._sdk_attribute("num_examples", self.local_values is not None)
        return self.n_rows

    @property
    def is_local_sparse(self) -> bool:
        """Whether the local values are sparse matrices (SDK name): never in pellucid; local explanations only."""
        self._sdk_attribute("is_local_sparse", self.local_values is not None)
        return False

    @property
    def expected_value(self) -> list[float]:
        """The expected values as a list, one per output (shap's name)."""
        return self.expected_values

    @property
    def expected_values_list(self) -> list[float]:
        """The expected values as a list, one per output."""
        return self.expected_values

    @property
    def eval_y_predicted(self) -> list | None:
        """The model's prediction per explained row (labels for a classifier), or None (SDK name).

        Local explanations only: ``AttributeError`` on a global-only one, whose rows are not kept.
        """
        self._sdk_attribute("eval_y_predicted", self.local_values is not None)
        return None if self._eval_y_predicted is None else self._eval_y_predicted.tolist()

    @property
    def eval_y_predicted_proba(self) -> list | None:
        """The classifier's probabilities per explained row, ``[rows][classes]``, or None (SDK name)."""
        self._sdk_attribute("eval_y_predicted_proba", self.local_values is not None)
        return None if self._eval_y_predicted_proba is None else self._eval_y_predicted_proba.tolist()

    # ------------------------------------------------------------------ global views (SDK layout)
    @property
    def global_importance_values(self) -> list[float]:
        """Overall importance per feature in feature order: the mean over outputs of :attr:`per_class_values`."""
        return self.global_values.mean(axis=1).tolist()

    @property
    def global_importance_rank(self) -> list[int]:
        """Feature indices from most to least important overall.

        A top-k download (``meta["top_k_global"]``) holds the k most important features of the full explanation,
        as the SDK's top-k downloads did: their indices only.
        """
        kept = self._top_k_global()
        if kept is not None:
            return kept[0].tolist()
        return _rank_desc(self.global_values.mean(axis=1)).tolist()

    def get_ranked_global_names(self, top_k: int | None = None) -> list:
        """Feature names from most to least important overall, the first ``top_k`` when given."""
        rank = self.global_importance_rank
        return [self.features[i] for i in rank[: _top(top_k, len(rank))]]

    def get_ranked_global_values(self, top_k: int | None = None) -> list[float]:
        """Overall importances sorted from highest to lowest, the first ``top_k`` when given (a top-k download:
        the full explanation's k largest)."""
        kept = self._top_k_global()
        if kept is not None:
            return kept[1][: _top(top_k, len(kept[1]))].tolist()
        overall = self.global_values.mean(axis=1)
        return overall[_rank_desc(overall)][: _top(top_k, self.n_features)].tolist()

    def _top_k_global(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(indices, values) of the overall top-k features recorded by a top-k trim, or None."""
        kept = self.meta.get("top_k_global")
        if not isinstance(kept, dict):
            return None
        return np.asarray(kept["rank"], dtype=np.int64), np.asarray(kept["values"], dtype=float)

    def get_feature_importance_dict(self, top_k: int | None = None) -> dict:
        """Ordered mapping from feature name to overall importance, most important first."""
        return dict(zip(self.get_ranked_global_names(top_k), self.get_ranked_global_values(top_k)))

    # The SDK's per-class and local accessors existed only on explanations of that kind: properties that
    # raise AttributeError otherwise keep hasattr() answering as it did (the SDK and its users duck-type on it).
    @property
    def per_class_values(self) -> list[list[float]]:
        """Global importance per class, shape ``[n_classes][n_features]`` (classifiers only)."""
        self._sdk_classes("per_class_values")
        return self.global_values.T.tolist()

    @property
    def per_class_rank(self) -> list[list[int]]:
        """Feature indices per class from most to least important (classifiers only)."""
        self._sdk_classes("per_class_rank")
        return _rank_desc(self.global_values.T).tolist()

    @property
    def get_ranked_per_class_names(self) -> Any:
        """``get_ranked_per_class_names(top_k=None)``: per class, feature names from most to least important,
        shape ``[n_classes][top_k]`` (classifiers only)."""
        self._sdk_classes("get_ranked_per_class_names")
        return self._ranked_per_class_names

    @property
    def get_ranked_per_class_values(self) -> Any:
        """``get_ranked_per_class_values(top_k=None)``: per class, global importances sorted from highest to
        lowest, shape ``[n_classes][top_k]`` (classifiers only)."""
        self._sdk_classes("get_ranked_per_class_values")
        return self._ranked_per_class_values

    def _ranked_per_class_names(self, top_k: int | None = None) -> list[list]:
        names = _names_array(self.features)
        return names[np.asarray(self.per_class_rank)][:, : _top(top_k, self.n_features)].tolist()

    def _ranked_per_class_values(self, top_k: int | None = None) -> list[list[float]]:
        values = self.global_values.T
        ordered = np.take_along_axis(values, _rank_desc(values), axis=1)
        return ordered[:, : _top(top_k, self.n_features)].tolist()

    # ------------------------------------------------------------------ local views (SDK layout)
    def _sdk_local(self) -> np.ndarray:
        local = self.local_values
        if self.task == CLASSIFICATION:
            values = np.moveaxis(local, 2, 0)  # [classes, rows, features]
            return values[:, 0, :] if self.single_row else values
        values = local[:, :, 0]  # [rows, features]
        return values[0] if self.single_row else values

    @property
    def local_importance_values(self) -> list:
        """Local values in the SDK's layout: ``[classes][rows][features]`` for a classifier, ``[rows][features]``
        for a regressor; without the row axis (``[classes][features]``, ``[features]``) when the input was one
        1-D row. Local explanations only."""
        self._sdk_attribute("local_importance_values", self.local_values is not None)
        return self._sdk_local().tolist()

    @property
    def get_local_importance_rank(self) -> Any:
        """``get_local_importance_rank()``: feature indices per row (and class) from highest to lowest local
        value, SDK layout. Local explanations only."""
        self._sdk_attribute("get_local_importance_rank", self.local_values is not None)
        return self._local_importance_rank

    @property
    def get_ranked_local_names(self) -> Any:
        """``get_ranked_local_names(top_k=None)``: feature names per row (and class), highest local value first,
        SDK layout. Local explanations only."""
        self._sdk_attribute("get_ranked_local_names", self.local_values is not None)
        return self._ranked_local_names

    @property
    def get_ranked_local_values(self) -> Any:
        """``get_ranked_local_values(top_k=None)``: local values per row (and class) sorted from highest to
        lowest, SDK layout. Local explanations only."""
        self._sdk_attribute("get_ranked_local_values", self.local_values is not None)
        return self._ranked_local_values

    def _local_importance_rank(self) -> list:
        return _rank_desc(self._sdk_local()).tolist()

    def _ranked_local_names(self, top_k: int | None = None) -> list:
        ranks = _rank_desc(self._sdk_local())[..., : _top(top_k, self.n_features)]
        return _names_array(self.features)[ranks].tolist()

    def _ranked_local_values(self, top_k: int | None = None) -> list:
        values = self._sdk_local()
        ordered = np.take_along_axis(values, _rank_desc(values), axis=-1)
        return ordered[..., : _top(top_k, self.n_features)].tolist()

    # ------------------------------------------------------------------ interpret's data() and visualize()
    def data(self, key: int | None = None) -> dict:
        """The explanation as interpret's ``data()`` dict, with the keys the SDK's explanations used.

        Parameters
        ----------
        key : int, optional
            None: the overall (global) data, ``{"mli", "names", "scores", "intercept"}``. -1: everything,
            ``{"overall", "specific", "mli"}`` with one dict per row under ``"specific"``. A row index: that
            row's dict ``{"mli", "type", "names", "perf", "scores", "intercept", "values", "extra"}``, where
            ``"scores"`` holds every row's local values (SDK layout) as the SDK's did.

        Returns
        -------
        dict
        """
        from pellucid._interpret_data import explanation_data

        return explanation_data(self, key)

    def visualize(self, key: int | None = None) -> Any:
        """A plotly bar chart of the 15 largest importances, as interpret's ``visualize()`` drew it.

        ``key=None`` draws the global importances, a row index that row's local values (averaged over classes
        for a classifier, as the SDK did). Needs plotly (``pip install "pellucid[dashboard]"``); for the full
        interactive view use :class:`pellucid.ExplanationDashboard`.

        Returns
        -------
        plotly.graph_objects.Figure
        """
        from pellucid._visualize import visualize  # imports plotly on use

        return visualize(self, key)

    # ------------------------------------------------------------------ raw features
    def get_raw_explanation(
        self, feature_maps: Any = None, raw_feature_names: Sequence[str] | None = None, eval_data: Any = None
    ) -> Explanation:
        """This explanation in raw features: engineered values summed through the feature maps (SDK name).

        Parameters
        ----------
        feature_maps : matrix of shape (n_raw, n_engineered), list of such matrices, or FeatureMap, optional
            Raw -> engineered maps; a list holds the maps of successive transformations, composed in order.
            Default: the map recorded by an explainer built with transformations.
        raw_feature_names : sequence of str, optional
        eval_data : array-like of shape (n_rows, n_raw), optional
            The raw rows, kept as the raw explanation's eval_data.

        Returns
        -------
        Explanation
            ``is_raw=True``; see :func:`pellucid.transformations.raw_explanation`.
        """
        from pellucid._raw_mapping import raw_state

        raw = Explanation(**raw_state(self, feature_maps, list(raw_feature_names) if raw_feature_names else None,
                                      eval_data))
        self._is_engineered = True  # as the SDK did: the explanation just mapped is known to be engineered
        return raw

    def get_raw_feature_importances(self, feature_maps: Any = None) -> list:
        """Raw importances in the SDK layout: local (``[classes][rows][raw features]`` or ``[rows][raw features]``)
        when the explanation has local values, else global (``[raw features]``)."""
        from pellucid._raw_mapping import is_global, raw_state

        raw = Explanation(**raw_state(self, feature_maps))
        if raw.local_values is not None and not is_global(self):
            return raw.local_importance_values
        return raw.global_importance_values

    # ------------------------------------------------------------------ selection and combination
    def select_rows(self, rows: Any) -> Explanation:
        """A new explanation holding only the given rows (indices, slice or boolean mask)."""
        self._require("local_values")
        picked = {name: (None if value is None else value[rows]) for name, value in self._row_arrays().items()}
        picked["single_row"] = self.single_row and picked["local_values"].shape[0] == 1
        return self.replace(**picked)

    def select_features(self, indices: Sequence[int], **changes: Any) -> Explanation:
        """A new explanation holding only the given features, in the given order (the SDK's explain_subset).

        Every kept value equals this explanation's value for that feature; ``changes`` are passed to
        :meth:`replace` (e.g. ``meta``).
        """
        keep = [int(i) for i in indices]
        bad = [i for i in keep if not 0 <= i < self.n_features]
        if not keep or bad:
            raise ArgumentError(f"select_features needs feature indices in [0, {self.n_features}); found {list(indices)}")
        picked: dict[str, Any] = {"features": [self.features[i] for i in keep]}
        if self._global_values is not None:
            picked["global_values"] = self._global_values[keep]
        for name, value in (("local_values", self.local_values), ("standard_errors", self.standard_errors)):
            picked[name] = None if value is None else value[:, keep, :]
        picked["eval_data"] = None if self.eval_data is None else self.eval_data[:, keep]
        picked.update(changes)
        return self.replace(**picked)

    def _row_arrays(self) -> dict[str, np.ndarray | None]:
        """The per-row arrays by constructor argument name."""
        return {
            "local_values": self.local_values,
            "eval_data": self.eval_data,
            "model_output": self.model_output,
            "standard_errors": self.standard_errors,
            "eval_y_predicted": self._eval_y_predicted,
            "eval_y_predicted_proba": self._eval_y_predicted_proba,
        }

    def global_only(self) -> Explanation:
        """This explanation's global view alone: local values, rows and outputs dropped, the same id."""
        return Explanation(
            method=self.method,
            task=self.task,
            features=self.features,
            classes=self.classes,
            global_values=self.global_values,
            expected_values=self._expected_values,
            meta=copy.deepcopy(self.meta),
            explanation_id=self.id,
            is_raw=self.is_raw,
            is_engineered=self._is_engineered,
        )

    @classmethod
    def concatenate(cls, explanations: Sequence[Explanation]) -> Explanation:
        """Join the rows of explanations that share method, task, features, classes and expected values."""
        if not explanations:
            raise ArgumentError("concatenate needs at least one explanation; found none")
        first = explanations[0]
        for other in explanations[1:]:
            if (other.features, other.classes, other.task) != (first.features, first.classes, first.task):
                raise ArgumentError("explanations to concatenate must share features, classes and task")
        joined: dict[str, Any] = {"single_row": first.single_row and len(explanations) == 1}
        for name in first._row_arrays():
            parts = [e._row_arrays()[name] for e in explanations]
            joined[name] = None if any(p is None for p in parts) else np.concatenate(parts, axis=0)
        return first.replace(**joined)

    def replace(self, **changes: Any) -> Explanation:
        """A new explanation with the given constructor arguments changed and the rest copied.

        The copy gets a new id unless ``explanation_id`` is passed; ``meta`` is deep-copied unless replaced.
        """
        state = {
            "method": self.method,
            "task": self.task,
            "features": self.features,
            "classes": self.classes,
            "global_values": self._global_values,
            "expected_values": self._expected_values,
            **self._row_arrays(),
            "meta": copy.deepcopy(self.meta),
            "is_raw": self.is_raw,
            "is_engineered": self._is_engineered,
            "single_row": self.single_row,
        }
        state.update(changes)
        return Explanation(**state)

    # ------------------------------------------------------------------ comparison
    def equals(self, other: Explanation, *, rtol: float = 0.0, atol: float = 0.0) -> bool:
        """True when both explanations hold the same names, meta and arrays (within the tolerances)."""
        if not isinstance(other, Explanation):
            return False
        same_header = (
            self.method == other.method
            and self.task == other.task
            and self.features == other.features
            and self.classes == other.classes
            and self.is_raw == other.is_raw
            and self._is_engineered == other._is_engineered
            and self.single_row == other.single_row
            and self.meta == other.meta
        )
        if not same_header:
            return False
        numeric = ("local_values", "_global_values", "_expected_values", "model_output", "standard_errors",
                   "_eval_y_predicted_proba")
        for name in numeric:
            mine, theirs = getattr(self, name), getattr(other, name)
            if (mine is None) != (theirs is None):
                return False
            if mine is not None and (
                mine.shape != theirs.shape or not np.allclose(mine, theirs, rtol=rtol, atol=atol, equal_nan=True)
            ):
                return False
        return _data_equal(self.eval_data, other.eval_data) and _data_equal(
            self._eval_y_predicted, other._eval_y_predicted)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Explanation) and self.id == other.id and self.equals(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        kind = f"{self.n_rows} rows" if self.local_values is not None else "global"
        return (
            f"Explanation(method={self.method!r}, task={self.task!r}, {self.n_features} features, "
            f"{self.n_outputs} outputs, {kind})"
        )

    # ------------------------------------------------------------------ serialisation
    def to_dict(self, *, arrays: dict[str, np.ndarray] | None = None, npz_threshold: int | None = None) -> dict:
        """A JSON-serialisable dict of the explanation.

        Arrays larger than ``npz_threshold`` elements are not inlined: they are put into ``arrays`` (to be
        written to an ``.npz`` file) and referenced by name and SHA-256.
        """
        document: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "method": self.method,
            "task": self.task,
            "features": self.features,
            "classes": self.classes,
            "is_raw": self.is_raw,
            "is_engineered": self._is_engineered,
            "single_row": self.single_row,
            "meta": _jsonable(self.meta),
        }
        stored = {"global_values": self._global_values, "expected_values": self._expected_values}
        for name in _ARRAY_FIELDS:
            value = stored[name] if name in stored else self._row_arrays()[name]
            if value is None:
                document[name] = None
            elif arrays is not None and npz_threshold is not None and value.size > npz_threshold and value.dtype != object:
                arrays[name] = value
                document[name] = {"npz": name, "sha256": _array_digest(value)}
            else:
                document[name] = _encode_array(value)
        return document

    @classmethod
    def from_dict(cls, document: Any, *, arrays: Any = None) -> Explanation:
        """Rebuild an explanation from :meth:`to_dict`'s output; validates format and version."""
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            raise ExplanationFormatError(
                f"expected a {FORMAT_NAME!r} document; found "
                + (f"format {document.get('format')!r}" if isinstance(document, dict) else type(document).__name__)
            )
        version = document.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ExplanationFormatError(f"expected an integer format_version >= 1; found {version!r}")
        if version > FORMAT_VERSION:
            raise ExplanationVersionError(
                f"this explanation was written in format version {version}, newer than the version {FORMAT_VERSION} "
                f"this pellucid {__version__} reads; upgrade pellucid to load it"
            )
        try:
            fields = {name: _decode_field(name, document.get(name), arrays) for name in _ARRAY_FIELDS}
            return cls(
                method=document["method"],
                task=document["task"],
                features=document["features"],
                classes=document.get("classes"),
                meta=document.get("meta") or {},
                explanation_id=document.get("id"),
                is_raw=bool(document.get("is_raw", False)),
                is_engineered=bool(document.get("is_engineered", False)),
                single_row=bool(document.get("single_row", False)),
                **fields,
            )
        except ExplanationFormatError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ExplanationFormatError(f"the explanation document is corrupt: {type(exc).__name__}: {exc}") from exc

    def to_json(self) -> str:
        """The explanation as one JSON string (every array inline)."""
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Explanation:
        """Rebuild an explanation from :meth:`to_json`'s output."""
        try:
            document = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ExplanationFormatError(f"expected explanation JSON; the text does not parse: {exc}") from exc
        except RecursionError as exc:
            raise ExplanationFormatError(_TOO_DEEP.format(where="the text")) from exc
        return cls.from_dict(document)

    def save(self, path: str | Path, *, large_arrays: str = "auto") -> Path:
        """Write the explanation to ``path`` (JSON), with large arrays in ``path`` + ``.npz`` beside it.

        Parameters
        ----------
        path : str or Path
            Target file, conventionally ending in ``.json``.
        large_arrays : {"auto", "inline"}
            ``"auto"`` moves arrays above two million elements to the ``.npz`` file; ``"inline"`` never does.

        Returns
        -------
        Path
            The JSON file written.
        """
        if large_arrays not in ("auto", "inline"):
            raise ArgumentError(f"large_arrays must be 'auto' or 'inline'; found {large_arrays!r}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {}
        document = self.to_dict(arrays=arrays, npz_threshold=NPZ_THRESHOLD if large_arrays == "auto" else None)
        npz_path = path.with_name(path.name + ".npz")
        if arrays:
            with open(npz_path, "wb") as handle:
                np.savez(handle, **arrays)
            document["npz_file"] = npz_path.name
        path.write_text(json.dumps(document, allow_nan=False, separators=(",", ":")), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Explanation:
        """Read an explanation written by :meth:`save`. Never unpickles anything.

        Raises
        ------
        MissingFileError
            No file at ``path`` (also a ``FileNotFoundError``).
        ArgumentError
            ``path`` is not a str or Path, or names a folder.
        ExplanationFormatError
            The file is not a pellucid explanation: not JSON, nested too deep, a bad ``npz_file`` or field.
        """
        if not isinstance(path, (str, Path)):
            raise ArgumentError(f"expected the path of a saved explanation (str or Path); found {type(path).__name__}")
        path = Path(path)
        if path.is_dir():
            raise ArgumentError(f"expected an explanation file written by Explanation.save; found a folder at {path}")
        if not path.exists():
            raise MissingFileError(f"expected an explanation file written by Explanation.save; found nothing at {path}")
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ExplanationFormatError(f"expected explanation JSON in {path}; it does not parse: {exc}") from exc
        except RecursionError as exc:
            raise ExplanationFormatError(_TOO_DEEP.format(where=str(path))) from exc
        arrays = None
        if isinstance(document, dict) and document.get("npz_file") is not None:
            npz_file = document["npz_file"]
            if not isinstance(npz_file, str) or not npz_file:
                raise ExplanationFormatError(
                    f"expected npz_file in {path} to name the .npz file beside it; found {npz_file!r}"
                )
            npz_path = path.with_name(Path(npz_file).name)
            try:
                with np.load(npz_path, allow_pickle=False) as npz:
                    arrays = {name: npz[name] for name in npz.files}
            except (OSError, ValueError) as exc:
                raise ExplanationFormatError(f"the array file {npz_path} of {path} cannot be read: {exc}") from exc
        return cls.from_dict(document, arrays=arrays)

    # ------------------------------------------------------------------ display, plots, frames, shap
    # Thin doors to pellucid.plots, pellucid.frames, pellucid._shap_convert and pellucid._display, which sit below
    # this module in the layers (they read an explanation, never import it at run time); imported on use, so
    # matplotlib, pandas and shap are imported only when drawn or converted.
    def _repr_html_(self) -> str:
        from pellucid._display import explanation_html

        return explanation_html(self)

    def plot_bar(self, **options: Any) -> Any:
        """Global importance bars; see :func:`pellucid.plots.plot_bar`. Returns the matplotlib Axes."""
        from pellucid.plots import plot_bar

        return plot_bar(self, **options)

    def plot_beeswarm(self, **options: Any) -> Any:
        """Local values of the top features, one swarm each; see :func:`pellucid.plots.plot_beeswarm`."""
        from pellucid.plots import plot_beeswarm

        return plot_beeswarm(self, **options)

    def plot_dependence(self, feature: str | int, **options: Any) -> Any:
        """A feature's local value against its value; see :func:`pellucid.plots.plot_dependence`."""
        from pellucid.plots import plot_dependence

        return plot_dependence(self, feature, **options)

    def plot_waterfall(self, row: int = 0, **options: Any) -> Any:
        """One row from expected value to output; see :func:`pellucid.plots.plot_waterfall`."""
        from pellucid.plots import plot_waterfall

        return plot_waterfall(self, row, **options)

    def plot_force(self, row: int = 0, **options: Any) -> Any:
        """One row as a force plot; see :func:`pellucid.plots.plot_force`."""
        from pellucid.plots import plot_force

        return plot_force(self, row, **options)

    def plot_heatmap(self, **options: Any) -> Any:
        """Rows x top features image of local values; see :func:`pellucid.plots.plot_heatmap`."""
        from pellucid.plots import plot_heatmap

        return plot_heatmap(self, **options)

    def plot_interactions(self, interaction_values: Any, **options: Any) -> Any:
        """Mean |interaction value| matrix; see :func:`pellucid.plots.plot_interactions`."""
        from pellucid.plots import plot_interactions

        return plot_interactions(self, interaction_values, **options)

    def to_frame(self, *, wide: bool = False) -> Any:
        """A pandas DataFrame: tidy (row, feature, output, value, feature_value) or wide; see :func:`pellucid.frames.to_frame`."""
        from pellucid.frames import to_frame

        return to_frame(self, wide=wide)

    def to_shap(self, *, output: Any = "all") -> Any:
        """A ``shap.Explanation``; see :func:`pellucid.shap_interop.to_shap`."""
        from pellucid._shap_convert import to_shap

        return to_shap(self, output=output)

    @classmethod
    def from_shap(cls, shap_explanation: Any, **options: Any) -> Explanation:
        """An Explanation from a ``shap.Explanation``; see :func:`pellucid.shap_interop.from_shap`."""
        from pellucid._shap_convert import shap_state

        return cls(**shap_state(shap_explanation, **options))

    # ------------------------------------------------------------------ helpers
    def _require(self, name: str) -> np.ndarray:
        value = getattr(self, name)
        if value is None:
            raise ArgumentError(f"this {self.method} explanation has no {name}")
        return value

    def _sdk_attribute(self, name: str, present: bool) -> None:
        """Raise AttributeError for an SDK accessor this kind of explanation did not have in the SDK."""
        if not present:
            kind = "a global-only" if self.local_values is None else "this"
            raise AttributeError(
                f"{kind} {self.method} explanation has no {name!r} (the SDK's explanation of this kind had none)"
            )

    def _sdk_classes(self, name: str) -> list:
        """The classes, or AttributeError for a regression (the SDK's per-class accessors were on classifiers)."""
        if self.classes is None:
            raise AttributeError(
                f"a regression explanation has no {name!r}: per-class accessors exist on classifiers only"
            )
        return self.classes


# ---------------------------------------------------------------------- module helpers
def _top(top_k: int | None, n: int) -> int:
    if top_k is None:
        return n
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
        raise ArgumentError(f"top_k must be a positive integer or None; found {top_k!r}")
    return int(top_k)


def _rank_desc(values: np.ndarray) -> np.ndarray:
    """Indices sorting the last axis from highest to lowest; ties keep feature order."""
    return np.argsort(-values, axis=-1, kind="stable")


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _feature_name(name: Any) -> str | int:
    """A feature name as stored: integers stay integers (the SDK's default names), anything else a string."""
    if isinstance(name, (int, np.integer)) and not isinstance(name, (bool, np.bool_)):
        return int(name)
    return str(name)


def _names_array(features: list) -> np.ndarray:
    """Feature names as an object array, so that fancy indexing keeps each name's type."""
    names = np.empty(len(features), dtype=object)
    names[:] = features
    return names


def _as_1d_data(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1:
        raise DataShapeError(f"eval_y_predicted must have 1 dimension; found shape {array.shape}")
    if array.dtype.kind == "f":
        return array.astype(np.float64, copy=False)
    return array.astype(object)


def _as_2d_data(value: Any) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 2:
        raise DataShapeError(f"eval_data must have 2 dimensions; found shape {array.shape}")
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    return array.astype(object)


def _data_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a.shape != b.shape or (a.dtype == object) != (b.dtype == object):
        return False
    if a.dtype == object:
        return all(_same_cell(x, y) for x, y in zip(a.ravel(), b.ravel()))
    return bool(np.array_equal(a, b, equal_nan=True))


def _same_cell(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y):
        return True
    return x == y


_NON_FINITE = {"NaN": np.nan, "Infinity": np.inf, "-Infinity": -np.inf}
_TOO_DEEP = "expected explanation JSON; {where} is nested too deeply to be one (a saved explanation is shallow)"


def _encode_array(array: np.ndarray) -> dict[str, Any]:
    if array.dtype == object:
        data = [_encode_cell(cell) for cell in array.ravel()]
        return {"dtype": "object", "shape": list(array.shape), "data": data}
    flat = array.ravel()
    if np.isfinite(flat).all():
        data = flat.tolist()
    else:
        data = [v if np.isfinite(v) else ("NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
                for v in flat.tolist()]
    return {"dtype": "float64", "shape": list(array.shape), "data": data}


def _encode_cell(cell: Any) -> Any:
    cell = _plain(cell)
    if cell is None or isinstance(cell, (str, bool, int)):
        return cell
    if isinstance(cell, float):
        return cell if np.isfinite(cell) else {"float": "NaN" if np.isnan(cell) else ("Infinity" if cell > 0 else "-Infinity")}
    return str(cell)


def _decode_cell(cell: Any) -> Any:
    if isinstance(cell, dict):
        return float(_NON_FINITE[cell["float"]])
    return cell


def _decode_field(name: str, encoded: Any, arrays: Any) -> np.ndarray | None:
    if encoded is None:
        return None
    if not isinstance(encoded, dict):
        raise ExplanationFormatError(f"field {name!r} must be an encoded array; found {type(encoded).__name__}")
    if "npz" in encoded:
        if arrays is None or encoded["npz"] not in arrays:
            raise ExplanationFormatError(f"field {name!r} lives in the .npz side file, which is missing")
        array = np.asarray(arrays[encoded["npz"]])
        if _array_digest(array) != encoded.get("sha256"):
            raise ExplanationFormatError(f"field {name!r} in the .npz side file fails its SHA-256 check")
        return array
    shape = tuple(int(s) for s in encoded["shape"])
    data = encoded["data"]
    if not isinstance(data, list) or int(np.prod(shape)) != len(data):
        raise ExplanationFormatError(
            f"field {name!r} must hold {int(np.prod(shape))} values for shape {shape}; "
            f"found {len(data) if isinstance(data, list) else type(data).__name__}"
        )
    if encoded.get("dtype") == "object":
        return np.array([_decode_cell(c) for c in data], dtype=object).reshape(shape)
    bad = next((i for i, v in enumerate(data) if not _is_number_cell(v)), None)
    if bad is not None:
        raise ExplanationFormatError(
            f"field {name!r} must hold numbers (or \"NaN\", \"Infinity\", \"-Infinity\"); found {data[bad]!r} at "
            f"position {bad}"
        )
    values = [(_NON_FINITE[v] if isinstance(v, str) else v) for v in data]
    return np.asarray(values, dtype=np.float64).reshape(shape)


def _is_number_cell(value: Any) -> bool:
    if isinstance(value, str):
        return value in _NON_FINITE
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _array_digest(array: np.ndarray) -> str:
    contiguous = np.ascontiguousarray(array)
    digest = hashlib.sha256(str((contiguous.dtype.str, contiguous.shape)).encode())
    digest.update(contiguous.tobytes())
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars, arrays and tuples inside ``meta`` into JSON types."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
