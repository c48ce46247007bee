"""The small base class every direct explainer derives from.

A direct explainer is constructed as
``Explainer(model, initialization_examples, features=None, classes=None, transformations=None, **options)``
and offers ``explain_local(X) -> Explanation``, ``explain_global(X=None) -> Explanation`` and the classmethod
``supports(model) -> bool`` that TabularExplainer uses to pick one.

Subclasses implement :meth:`BaseExplainer._explain_rows`, returning a :class:`LocalResult`; the base class
reads the input, checks it against the background, and builds the :class:`~pellucid.explanation.Explanation`.

Transformations: given ``transformations=`` (see :mod:`pellucid.transformations`), the model is the final
estimator (it takes engineered features) while ``initialization_examples`` and evaluation data are raw. The
base class transforms the raw background once (``self.background`` is the engineered background,
``self.raw_background`` the raw one) and every evaluation set before ``_explain_rows``, so a subclass always
sees engineered rows and needs no code of its own for transformations. ``explain_local(x, raw=True)`` and
``explain_global(x, raw=True)`` return the explanation in raw features. A subclass should not override
``explain_local``; one that must reads rows with :meth:`BaseExplainer._read_input` and returns
:meth:`BaseExplainer._finish`'s result.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from pellucid._progress import check_progress, explain_in_blocks
from pellucid.data import Dataset, as_dataset
from pellucid.errors import ArgumentError, DataShapeError
from pellucid.explanation import CLASSIFICATION, Explanation
from pellucid.model import ModelWrapper, model_type_name

if TYPE_CHECKING:  # imported on use: explainers without transformations need not load scikit-learn
    from pellucid.transformations.inputs import TransformedInputs

__all__ = ["BaseExplainer", "LocalResult", "BACKENDS", "backend_module"]

logger = logging.getLogger(__name__)


@dataclass
class LocalResult:
    """What a direct explainer computes for a batch of rows.

    Attributes
    ----------
    values : ndarray of shape (n_rows, n_features, n_outputs)
    expected_values : ndarray of shape (n_outputs,)
    model_output : ndarray of shape (n_rows, n_outputs), optional
        The explained model output, in ``output_space``.
    standard_errors : ndarray of shape (n_rows, n_features, n_outputs), optional
    meta : dict
        Facts for the explanation's meta (parameters used, notes).
    """

    values: np.ndarray
    expected_values: np.ndarray
    model_output: np.ndarray | None = None
    standard_errors: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


class BaseExplainer:
    """Common behaviour of direct explainers.

    Parameters
    ----------
    model : object or callable
        The model to explain.
    initialization_examples : array-like, optional
        Background data (numpy, pandas, scipy.sparse or DenseData-like).
    features : list of str, optional
        Feature names; default the background's column names, else ``feature_<i>``. With transformations,
        the names of the raw columns (as in the SDK).
    classes : list, optional
        Class labels of a classifier, one per model output.
    transformations : optional
        Fitted transformations from raw to engineered features: a list of ``(columns, transformer)`` tuples, a
        DataFrameMapper, a ColumnTransformer, a Pipeline of transformers, or a feature map matrix of shape
        (n_raw, n_engineered) (see :mod:`pellucid.transformations`). ``model`` then takes engineered features
        and the data is raw (engineered for a plain feature map).
    model_task : {"unknown", "classification", "regression"}
        The model's task; inferred from its methods when "unknown".
    allow_all_transformations : bool, default False
        Accept transformations whose outputs mix several raw columns (e.g. a PCA), sharing each such output's
        importance equally among the columns it depends on (recorded in meta), instead of raising.

    Attributes
    ----------
    background : Dataset or None
        The background the subclass explains against (engineered when transformations are given).
    features : list of str or None
        Names of the features the subclass explains (engineered when transformations are given).
    raw_background : Dataset or None
        The raw background (transformations only).
    raw_features : list of str or None
        Raw feature names (transformations only).
    """

    method: ClassVar[str] = "base"
    #: "probability", "log_odds", "margin" or "raw"; a subclass may set it per instance.
    output_space: str = "raw"

    def __init__(
        self,
        model: Any,
        initialization_examples: Any = None,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        *,
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
    ) -> None:
        self.model = model
        self.transformations = transformations
        self.allow_all_transformations = allow_all_transformations
        self.model_task = model_task
        self.background: Dataset | None = None
        self.raw_background: Dataset | None = None
        self.raw_features: list[str] | None = None
        self._inputs: TransformedInputs | None = None
        if transformations is not None:
            from pellucid.transformations.inputs import TransformedInputs

            self._inputs = TransformedInputs(
                model, transformations, initialization_examples, features,
                allow_all_transformations=allow_all_transformations,
            )
            self.background, self.raw_background = self._inputs.background, self._inputs.raw_background
            self.features, self.raw_features = self._inputs.features, self._inputs.raw_features
            self.classes = None if classes is None else list(classes)
            self._notes: list[str] = list(self._inputs.notes)
            return
        if initialization_examples is not None:
            self.background = as_dataset(initialization_examples, features, name="initialization_examples")
        self.features = list(self.background.feature_names) if self.background is not None else (
            [str(f) for f in features] if features is not None else None
        )
        self.classes = None if classes is None else list(classes)
        self._notes: list[str] = list(self.background.notes) if self.background is not None else []

    # ------------------------------------------------------------------ to implement
    @classmethod
    def supports(cls, model: Any) -> bool:
        """True when this explainer can explain ``model``."""
        raise NotImplementedError

    def _explain_rows(self, rows: Dataset) -> LocalResult:
        """Compute local values for ``rows`` (already validated)."""
        raise NotImplementedError

    def _task_and_classes(self) -> tuple[str, list | None]:
        """The model's task and class labels: by default those of the ModelWrapper a subclass keeps in ``_model``."""
        wrapper = getattr(self, "_model", None)
        if not isinstance(wrapper, ModelWrapper):
            raise NotImplementedError(f"{type(self).__name__} must say its task and classes")
        return wrapper.task, wrapper.classes

    # ------------------------------------------------------------------ public API
    def explain_local(
        self,
        evaluation_examples: Any,
        *,
        raw: bool = False,
        progress: bool | None = None,
        backend: str = "local",
        **backend_options: Any,
    ) -> Explanation:
        """Explain each row of ``evaluation_examples``.

        Parameters
        ----------
        evaluation_examples : array-like of shape (n_rows, n_features) or (n_features,)
            Rows to explain, in the same format as the background (raw rows when the explainer has
            transformations). A 1-D array is one row. With ``backend="dask"`` also a ``dask.array`` or
            ``dask.dataframe``.
        raw : bool, default False
            Return the explanation in raw features (needs transformations); engineered features otherwise.
        progress : bool, optional
            Show a progress bar (``tqdm.auto``): True always, False never; by default when the call is
            expected to take more than about 2 s and stderr is a terminal or the code runs in a notebook.
        backend : {"local", "dask"}, default "local"
            "dask" explains partitions of the rows on a Dask cluster
            (:func:`pellucid.distributed.explain_local`).
        **backend_options
            Options of the backend (``client``, ``partition_rows``, ``retries``, ``progress`` ... for "dask").

        Returns
        -------
        Explanation
            Local values of shape (n_rows, n_features, n_outputs) and the expected values.
        """
        check_progress(progress)
        if backend != "local" or backend_options:
            if progress is not None and backend != "local":
                backend_options["progress"] = progress
            module = backend_module(backend, backend_options)
            return module.explain_local(self, evaluation_examples, raw=raw, **backend_options)
        rows, raw_rows = self._read_input(evaluation_examples)
        result = self._explain_with_progress(rows, progress)
        return self._finish(self._build(rows, result), raw_rows, raw)

    def explain_global(
        self,
        evaluation_examples: Any = None,
        *,
        include_local: bool | None = None,
        raw: bool = False,
        progress: bool | None = None,
        backend: str = "local",
        **backend_options: Any,
    ) -> Explanation:
        """Explain the model overall: the mean absolute local value of each feature over the rows.

        Parameters
        ----------
        evaluation_examples : array-like of shape (n_rows, n_features), optional
            Rows to average over; default the background data (the raw background with transformations).
        include_local : bool, optional
            Keep the local values in the explanation (the global view is derived from them); when False,
            only the global values are kept. Default True (False with the dask backend's ``output=``).
        raw : bool, default False
            Return the explanation in raw features (needs transformations); raw global values are then the
            mean absolute raw local values.
        progress : bool, optional
            Show a progress bar: True always, False never, default on long calls where it can be seen.
        backend : {"local", "dask"}, default "local"
            "dask" computes on a Dask cluster (:func:`pellucid.distributed.explain_global`; its ``output=``
            writes local values to files on the workers and reduces the global values there).
        **backend_options
            Options of the backend.

        Returns
        -------
        Explanation
        """
        check_progress(progress)
        if backend != "local" or backend_options:
            if progress is not None and backend != "local":
                backend_options["progress"] = progress
            module = backend_module(backend, backend_options)
            return module.explain_global(
                self, evaluation_examples, include_local=include_local, raw=raw, **backend_options
            )
        include_local = True if include_local is None else include_local
        if evaluation_examples is None:
            default = self._inputs.default_rows() if self._inputs is not None else self.background
            if default is None:
                raise ArgumentError("explain_global needs evaluation_examples when the explainer has no background")
            evaluation_examples = default
        explanation = self.explain_local(evaluation_examples, raw=raw, progress=progress)
        if include_local:
            return explanation
        return explanation.global_only()

    def create_scoring_explainer(self, X: Any = None) -> Any:
        """A small explainer for inference built from this one (see :func:`pellucid.scoring.create_scoring_explainer`).

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features), optional
            Data for the scoring explainer's reference (mean, background); default this explainer's background.

        Returns
        -------
        ScoringExplainer
        """
        # pellucid.scoring sits above the explainers: imported at call time, never at module level.
        scoring = importlib.import_module("pellucid.scoring")
        return scoring.create_scoring_explainer(self, X)

    # ------------------------------------------------------------------ progress
    #: False when a row's values depend on the other rows of the call (own random draws per call):
    #: such explainers are explained in one call and the progress bar steps once.
    _rows_independent: ClassVar[bool] = True

    def _row_granularity(self, rows: Dataset) -> int:
        """Rows are split into blocks of a multiple of this many rows (values must not depend on the split)."""
        return 1

    def _explain_with_progress(self, rows: Dataset, progress: bool | None) -> LocalResult:
        """``_explain_rows`` over ``rows``, in blocks under a progress bar when the call is long."""

        def explain(start: int, stop: int) -> LocalResult:
            if start == 0 and stop == rows.n_rows:
                return self._explain_rows(rows)
            block = rows.with_values(rows.values[start:stop])
            block.notes = []
            return self._explain_rows(block)

        parts = explain_in_blocks(rows.n_rows, explain, progress=progress, splittable=self._rows_independent,
                                  granularity=self._row_granularity(rows), desc=f"explaining ({self.method})")
        return parts[0] if len(parts) == 1 else self._join_results(parts)

    def _join_results(self, parts: list[LocalResult]) -> LocalResult:
        """One result from the results of consecutive row blocks (meta of the first, notes of all)."""

        def joined(name: str) -> np.ndarray | None:
            arrays = [getattr(part, name) for part in parts]
            return None if any(a is None for a in arrays) else np.concatenate(arrays, axis=0)

        meta = dict(parts[0].meta)
        notes: list[str] = []
        for part in parts:
            notes.extend(note for note in part.meta.get("notes", []) if note not in notes)
        meta["notes"] = notes
        return LocalResult(values=joined("values"), expected_values=parts[0].expected_values,
                           model_output=joined("model_output"), standard_errors=joined("standard_errors"), meta=meta)

    # ------------------------------------------------------------------ helpers for subclasses
    def _read_rows(self, evaluation_examples: Any) -> Dataset:
        """Rows to explain as the subclass sees them (engineered when the explainer has transformations)."""
        return self._read_input(evaluation_examples)[0]

    def _read_input(self, evaluation_examples: Any) -> tuple[Dataset, Dataset | None]:
        """(rows the subclass explains, the raw rows they came from, or None without raw rows)."""
        if self._inputs is None or not self._inputs.transforms_rows:
            return self._read_plain_rows(evaluation_examples), None
        rows, raw_rows = self._inputs.read(evaluation_examples)
        if self.features is None:  # no background: the map was just learnt from these rows
            self.features, self.raw_features = self._inputs.features, self._inputs.raw_features
            self._notes.extend(note for note in self._inputs.notes if note not in self._notes)
        return rows, raw_rows

    def _finish(self, explanation: Explanation, raw_rows: Dataset | None, raw: bool) -> Explanation:
        """The explanation as asked: engineered, or in raw features when ``raw``."""
        if not raw:
            return explanation
        if self._inputs is None:
            raise ArgumentError(
                "raw=True maps engineered features to raw ones through the explainer's transformations; this "
                "explainer has none, so its features already are the raw ones: call it without raw=True"
            )
        return self._inputs.to_raw(explanation, raw_rows)

    def _read_plain_rows(self, evaluation_examples: Any) -> Dataset:
        names = self.features
        rows = as_dataset(evaluation_examples, None, name="evaluation_examples")
        expected = self._expected_n_features()
        if expected is not None and rows.n_features != expected:
            raise DataShapeError(
                f"evaluation_examples must have {expected} features, like the data the explainer was built "
                f"with; found {rows.n_features}"
            )
        if names is not None and len(names) == rows.n_features:
            rows.feature_names = list(names)
        return rows

    def _expected_n_features(self) -> int | None:
        if self.background is not None:
            return self.background.n_features
        if self.features is not None:
            return len(self.features)
        n_in = getattr(self.model, "n_features_in_", None)
        return int(n_in) if n_in is not None else None

    def _wrap_model(self, template: Dataset) -> ModelWrapper:
        wrapper = ModelWrapper(self.model, template, model_task=self.model_task, classes=self.classes)
        self._notes.extend(wrapper.notes)
        return wrapper

    def _parameters(self) -> dict[str, Any]:
        """Parameters recorded in the explanation's meta; subclasses extend."""
        return {}

    def _build(self, rows: Dataset, result: LocalResult) -> Explanation:
        task, classes = self._task_and_classes()
        meta = {
            "method": self.method,
            "model_type": model_type_name(self.model),
            "output_space": self.output_space,
            "parameters": self._parameters(),
            "notes": self._notes + rows.notes + list(result.meta.pop("notes", [])),
        }
        meta.update(result.meta)
        if self._inputs is not None:
            meta.update(self._inputs.meta())
        return Explanation(
            method=self.method,
            task=task,
            features=rows.feature_names,
            classes=classes if task == CLASSIFICATION else None,
            local_values=result.values,
            expected_values=result.expected_values,
            eval_data=rows.values,
            model_output=result.model_output,
            standard_errors=result.standard_errors,
            meta=meta,
        )


#: Execution backends of explain_local / explain_global and the module that runs each.
BACKENDS = {"dask": "pellucid.distributed"}


def backend_module(backend: str, options: dict[str, Any]) -> Any:
    """The module running ``backend`` (e.g. :mod:`pellucid.distributed` for "dask").

    Imported on use, by name, because it sits above the explainers in the layers.

    Raises
    ------
    ArgumentError
        For an unknown backend, or for backend options given with ``backend="local"``.
    """
    if backend == "local":
        raise ArgumentError(
            f"options {sorted(options)} belong to a distributed backend; pass backend='dask' or drop them"
        )
    if backend not in BACKENDS:
        raise ArgumentError(f"backend must be 'local' or one of {sorted(BACKENDS)}; found {backend!r}")
    return importlib.import_module(BACKENDS[backend])
