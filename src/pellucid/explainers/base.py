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
sees engineered rows and needs no code of its own for transformations. As in the SDK, an explainer given
transformations answers in raw features by default (``raw=None``); ``explain_local(x, raw=False)`` and
``explain_global(x, raw=False)`` return the engineered view. A subclass should not override
``explain_local``; one that must reads rows with :meth:`BaseExplainer._read_input` and returns
:meth:`BaseExplainer._finish`'s result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import scipy.sparse as sp

from pellucid import _extensions
from pellucid._progress import check_progress, explain_in_blocks
from pellucid.data import Dataset, align_columns, as_dataset, column_names
from pellucid.errors import ArgumentError, DataShapeError, PellucidError, ProbabilitiesRequiredError, describe
from pellucid.explanation import CLASSIFICATION, REGRESSION, Explanation
from pellucid.model import ModelWrapper, model_feature_names, model_type_name

if TYPE_CHECKING:  # imported on use: explainers without transformations need not load scikit-learn
    from pellucid.transformations.inputs import TransformedInputs

__all__ = ["BaseExplainer", "LocalResult", "backend_module", "CAPABILITIES", "is_single_row", "select_subset",
           "check_subset", "as_function_model"]

logger = logging.getLogger(__name__)

#: The words of ``BaseExplainer.capabilities``: "local" (explain_local gives local values), "global"
#: (explain_global), "distributed" (its rows can be explained on a Dask cluster: values of a row do not depend on
#: the other rows of the call), "standard_errors" (estimates come with standard errors), "gpu" (use_gpu=True has an
#: effect), "model_agnostic" (explains any predict function, so TabularExplainer prefers a model-specific one).
CAPABILITIES = frozenset({"local", "global", "distributed", "standard_errors", "gpu", "model_agnostic"})


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
        Feature names; default the background's column names, else the column indices (SDK). With transformations,
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
    explain_subset : list of int, optional
        Indices of the features to keep in the explanations (SDK argument). Values are computed for every
        feature and the others dropped, so each kept value equals the full explanation's; the kept values then
        no longer sum to the model output (noted in meta). Not with transformations, as in the SDK.
    is_function : bool, default False
        ``model`` is a prediction function (SDK argument): it is called as ``model(rows)`` even when it also has
        ``predict``/``predict_proba``. Model-agnostic explainers only.

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
    #: The name callers choose it by (``pellucid explain --method NAME``, pellucid.explainers.registry).
    name: ClassVar[str] = ""
    #: What it supports, words of :data:`CAPABILITIES`; callers ask this, never the class name.
    capabilities: ClassVar[frozenset[str]] = frozenset({"local", "global", "distributed"})
    #: The kind of scoring explainer built from it (a key of ``pellucid.scoring.KINDS``), None for none.
    scoring_kind: ClassVar[str | None] = None
    #: "probability", "log_odds", "margin" or "raw"; a subclass may set it per instance.
    output_space: str = "raw"
    #: True where the old SDK refused ``classes=`` for a model explained as a regression (LIME, PFI).
    classes_need_probabilities: ClassVar[bool] = False

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
        explain_subset: list[int] | None = None,
        is_function: bool = False,
    ) -> None:
        if is_function:
            model = as_function_model(model)
        self.explain_subset = _subset_indices(explain_subset, transformations)
        self.model = model
        self.transformations = transformations
        self.allow_all_transformations = allow_all_transformations
        self.model_task = model_task
        self.background: Dataset | None = None
        self.raw_background: Dataset | None = None
        self.raw_features: list[str] | None = None
        self._inputs: TransformedInputs | None = None
        self.column_names: list[str] | None = None
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
        model_names = model_feature_names(model)
        if initialization_examples is not None:
            self.background = align_columns(
                as_dataset(initialization_examples, features, name="initialization_examples"), model_names,
                name="initialization_examples",
            )
        # Column names rows are matched by: the background DataFrame's columns, else the model's own, or None.
        self.column_names = (
            column_names(self.background) if self.background is not None and column_names(self.background)
            else model_names
        )
        self.features = list(self.background.feature_names) if self.background is not None else (
            list(features) if features is not None else None
        )
        self.classes = None if classes is None else list(classes)
        self._notes: list[str] = list(self.background.notes) if self.background is not None else []
        if self.explain_subset is not None and self.features is not None:
            check_subset(self.explain_subset, len(self.features))

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
    def task_and_classes(self) -> tuple[str, list | None]:
        """The model's task (``"classification"`` or ``"regression"``) and class labels (None for a regressor)."""
        return self._task_and_classes()

    def expected_n_features(self) -> int | None:
        """How many columns the explained (engineered) rows have; None when it cannot be known before explaining."""
        return self._expected_n_features()

    @property
    def has_transformations(self) -> bool:
        """True when built with ``transformations=``: evaluation rows are raw and transformed before explaining."""
        return self._inputs is not None

    def default_rows(self) -> Any:
        """The rows ``explain_global()`` explains when given none: the raw background with transformations, else
        the background (None without one)."""
        return self._inputs.default_rows() if self._inputs is not None else self.background

    def explain_local(
        self,
        evaluation_examples: Any,
        *,
        raw: bool | None = None,
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
        raw : bool, optional
            True: the explanation in raw features (needs transformations); False: in the features the model
            takes (engineered ones with transformations). Default: raw features when the explainer was given
            transformations (as in the SDK), else the model's features.
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
        explanation = self._finish(self._build(rows, result), raw_rows, raw)
        if is_single_row(evaluation_examples):
            explanation = explanation.replace(single_row=True, explanation_id=explanation.id)
        return explanation

    def explain_global(
        self,
        evaluation_examples: Any = None,
        *,
        include_local: bool | None = None,
        raw: bool | None = None,
        sampling_policy: Any = None,
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
        raw : bool, optional
            True: the explanation in raw features (needs transformations; raw global values are then the mean
            absolute raw local values); False: in engineered features. Default: raw features when the explainer
            was given transformations (as in the SDK).
        sampling_policy : SamplingPolicy, optional
            As in the old SDK: with ``allow_eval_sampling=True``, explain a uniform sample of
            ``evaluation_examples`` of at most ``max_rows`` rows (the SDK's ``max_dim_clustering`` is read when
            there is no ``max_rows``), recorded in the explanation's notes. None or ``allow_eval_sampling=False``
            explain every row.
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
            limit = sampling_limit(sampling_policy)
            if evaluation_examples is not None and limit is not None:
                evaluation_examples, _ = module.sample_rows(
                    evaluation_examples, limit[0], seed=limit[1], client=backend_options.get("client")
                )
            return module.explain_global(
                self, evaluation_examples, include_local=include_local, raw=raw, **backend_options
            )
        include_local = True if include_local is None else include_local
        sampling_note = None
        if evaluation_examples is not None and sampling_policy is not None:
            evaluation_examples, sampling_note = sample_evaluation_examples(evaluation_examples, sampling_policy)
        if evaluation_examples is None:
            default = self.default_rows()
            if default is None:
                raise ArgumentError("explain_global needs evaluation_examples when the explainer has no background")
            evaluation_examples = default
        explanation = self.explain_local(evaluation_examples, raw=raw, progress=progress)
        explanation.meta["scope"] = "global"  # the SDK's global explanation: raw importances in the global layout
        if sampling_note is not None:
            explanation.meta["notes"] = list(explanation.meta.get("notes", [])) + [sampling_note]
        if include_local:
            return explanation
        return explanation.global_only()

    @classmethod
    def is_global_only(cls) -> bool:
        """True for an explainer with no local explanation (``explain_local`` raises; PFI)."""
        return "local" not in cls.capabilities

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
        # pellucid.scoring sits above the explainers: reached through the door the top package wires.
        return _extensions.obtain("scoring").create_scoring_explainer(self, X)

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

    @property
    def default_raw(self) -> bool:
        """What ``raw=None`` means: True when the explainer was given transformations (the SDK's default)."""
        return self._inputs is not None

    def _finish(self, explanation: Explanation, raw_rows: Dataset | None, raw: bool | None) -> Explanation:
        """The explanation as asked: in raw features when ``raw`` (default :attr:`default_raw`), else engineered."""
        if raw is None:
            raw = self.default_raw
        if not raw:
            return select_subset(explanation, self.explain_subset)
        if self._inputs is None:
            raise ArgumentError(
                "raw=True maps engineered features to raw ones through the explainer's transformations; this "
                "explainer has none, so its features already are the raw ones: call it without raw=True"
            )
        return self._inputs.to_raw(explanation, raw_rows)

    def _read_plain_rows(self, evaluation_examples: Any) -> Dataset:
        names = self.features
        rows = as_dataset(evaluation_examples, None, name="evaluation_examples")
        rows = align_columns(rows, self.column_names, name="evaluation_examples")
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
        if self.classes_need_probabilities and self.classes is not None and wrapper.task == REGRESSION:
            raise ProbabilitiesRequiredError(classes_without_probabilities(self.model, wrapper.explained_output))
        self._notes.extend(wrapper.notes)
        self._explained_output = wrapper.explained_output
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
        if getattr(self, "_explained_output", None) is not None:
            meta.setdefault("explained_output", self._explained_output)
        if self._inputs is not None:
            meta.update(self._inputs.meta())
        predicted, probabilities = self._predictions(rows, task, classes, result)
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
            is_engineered=self._inputs is not None,
            eval_y_predicted=predicted,
            eval_y_predicted_proba=probabilities,
        )

    def _predictions(
        self, rows: Dataset, task: str, classes: list | None, result: LocalResult
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The model's predictions for the explained rows (SDK's ``eval_y_predicted`` and ``_proba``).

        Read from the explained output when it is the prediction (probabilities of a classifier, values of a
        regressor), else asked of the model once through a ModelWrapper; None when the model cannot say.
        """
        output = result.model_output
        if output is None or self.output_space not in ("probability", "raw"):
            try:
                wrapper = ModelWrapper(self.model, rows, model_task=task, classes=classes)
                if wrapper.output_space not in ("probability", "raw"):
                    return None, None
                output = wrapper.predict_output(rows.values)
            except PellucidError as exc:
                logger.info("no eval_y_predicted: the model's predictions could not be read (%s)", exc)
                return None, None
        if task == CLASSIFICATION:
            if classes is None or output.shape[1] != len(classes):
                return None, None
            labels = np.empty(output.shape[0], dtype=object)
            labels[:] = [classes[i] for i in np.argmax(output, axis=1)]
            return labels, output
        return output[:, 0], None


def as_function_model(model: Any) -> Any:
    """``model`` for ``is_function=True``: a plain function calling it, so that it is called, not its methods."""
    if not callable(model):
        raise ArgumentError(f"is_function=True needs a callable model (a prediction function); found {describe(model)}")
    if not (hasattr(model, "predict") or hasattr(model, "predict_proba")):
        return model

    def predict_function(rows: Any) -> Any:
        return model(rows)

    return predict_function


def is_single_row(evaluation_examples: Any) -> bool:
    """True for one 1-D row (a 1-D array or list, or a Series): the SDK's views then drop the row axis."""
    if isinstance(evaluation_examples, Dataset) or sp.issparse(evaluation_examples):
        return False
    if type(evaluation_examples).__name__ == "Series":
        return True
    if isinstance(evaluation_examples, (np.ndarray, list, tuple)):
        return np.ndim(np.asarray(evaluation_examples, dtype=object)) == 1
    return False


def _subset_indices(explain_subset: Any, transformations: Any) -> list[int] | None:
    if explain_subset is None:
        return None
    if transformations is not None:
        raise ArgumentError(
            "explain_subset selects engineered features and cannot be combined with transformations (as in the "
            "SDK); explain in raw features and keep the ones you want with the explanation's top-k views instead"
        )
    indices = list(explain_subset)
    if not indices or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in indices):
        raise ArgumentError(f"explain_subset must be a non-empty list of feature indices; found {explain_subset!r}")
    return [int(i) for i in indices]


def check_subset(explain_subset: list[int], n_features: int) -> None:
    """Raise ArgumentError for subset indices outside ``[0, n_features)``."""
    bad = [i for i in explain_subset if not 0 <= i < n_features]
    if bad:
        raise ArgumentError(f"explain_subset must hold feature indices in [0, {n_features}); found {bad}")


def select_subset(explanation: Explanation, explain_subset: list[int] | None) -> Explanation:
    """``explanation`` with only the ``explain_subset`` features (the SDK's explain_subset), noted in meta."""
    if explain_subset is None:
        return explanation
    check_subset(explain_subset, explanation.n_features)
    meta = dict(explanation.meta)
    meta["notes"] = list(meta.get("notes", [])) + [
        f"explain_subset: kept {len(explain_subset)} of {explanation.n_features} features; values of the others "
        "were computed and dropped, so the kept values do not sum to the model output"
    ]
    return explanation.select_features(explain_subset, meta=meta)


def sampling_limit(sampling_policy: Any) -> tuple[int, int] | None:
    """``(rows to keep, seed)`` of an SDK-style sampling policy, or None when it does not sample.

    Reads pellucid's ``SamplingPolicy`` (``max_rows``, ``seed``) and the SDK's (``max_dim_clustering``).

    Raises
    ------
    ArgumentError
        For an object without ``allow_eval_sampling`` or a limit that is not a positive integer.
    """
    if sampling_policy is None:
        return None
    if not hasattr(sampling_policy, "allow_eval_sampling"):
        raise ArgumentError(
            "sampling_policy must be a SamplingPolicy (allow_eval_sampling, max_rows); found "
            f"{type(sampling_policy).__name__}"
        )
    if not sampling_policy.allow_eval_sampling:
        return None
    limit = getattr(sampling_policy, "max_rows", None) or getattr(sampling_policy, "max_dim_clustering", None)
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ArgumentError(f"sampling_policy's max_rows must be a positive integer; found {limit!r}")
    return int(limit), int(getattr(sampling_policy, "seed", 0) or 0)


def sample_evaluation_examples(evaluation_examples: Any, sampling_policy: Any) -> tuple[Any, str | None]:
    """Rows of ``evaluation_examples`` kept by an SDK-style ``sampling_policy`` (uniform, without replacement).

    Parameters
    ----------
    evaluation_examples : array-like of shape (n_rows, n_features)
        ndarray, list, DataFrame or scipy.sparse matrix.
    sampling_policy : object
        With ``allow_eval_sampling`` (bool), and ``max_rows`` (pellucid) or ``max_dim_clustering`` (the SDK's),
        and optionally ``seed``.

    Returns
    -------
    (array-like, str or None)
        The kept rows in the input's own type (sorted, the input itself when nothing is dropped) and a note
        saying what was sampled, or None.
    """
    policy_limit = sampling_limit(sampling_policy)
    if policy_limit is None:
        return evaluation_examples, None
    limit, seed = policy_limit
    if isinstance(evaluation_examples, (list, tuple)):
        evaluation_examples = np.asarray(evaluation_examples)
    shape = getattr(evaluation_examples, "shape", None)
    n_rows = shape[0] if shape is not None and len(shape) == 2 else 1
    if n_rows <= limit:
        return evaluation_examples, None
    index = np.sort(np.random.default_rng(seed).choice(n_rows, size=int(limit), replace=False))
    take = getattr(evaluation_examples, "iloc", evaluation_examples)
    note = f"evaluation data sampled from {n_rows} to {int(limit)} rows by sampling_policy (uniform, seed {seed})"
    logger.info(note)
    return take[index], note


def classes_without_probabilities(model: Any, explained: str) -> str:
    """The error message for ``classes=`` given with a model that returns one value per row (the SDK's wording first).

    Parameters
    ----------
    model : object or callable
        The model.
    explained : str
        The output that would be explained (``ModelWrapper.explained_output``).
    """
    is_function = model_type_name(model) == "function"
    sdk = ("Classes is specified but function was predict, not predict_proba." if is_function
           else "Classes is specified but model does not define predict_proba, only predict.")
    return (
        f"{sdk} classes= names the columns of class probabilities, but the model returns one value per row "
        f"(explained: {explained}). Pass a model with predict_proba (for an SVC: CalibratedClassifierCV(SVC(), ensemble=False)) or a function "
        "returning one probability column per class; or drop classes= to explain the predicted values"
    )


def backend_module(backend: str, options: dict[str, Any]) -> Any:
    """The module running ``backend`` (e.g. :mod:`pellucid.distributed` for "dask").

    It sits above the explainers in the layers, so it is reached through :mod:`pellucid._extensions`, where the
    top package registers it, and imported on first use.

    Raises
    ------
    ArgumentError
        For an unknown backend, or for backend options given with ``backend="local"``.
    """
    if backend == "local":
        raise ArgumentError(
            f"options {sorted(options)} belong to a distributed backend; pass backend='dask' or drop them"
        )
    backends = [role.split(":", 1)[1] for role in _extensions.provided("backend:")]
    if backend not in backends:
        raise ArgumentError(f"backend must be 'local' or one of {backends}; found {backend!r}")
    return _extensions.obtain(f"backend:{backend}")
