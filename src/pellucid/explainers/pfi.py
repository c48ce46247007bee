"""PFIExplainer: permutation feature importance, a global explanation of any model (Breiman 2001).

A feature's importance is how much a score of the model (accuracy, r2, ...) drops when the feature's column
is shuffled, breaking its link with the labels while keeping its distribution: the baseline score minus the
mean score over ``n_repeats`` shuffles. It needs the true labels, and it has no local values.

The importance scores the whole model, not one output, so ``global_values`` of shape
(n_features, n_outputs) repeats the same column for every output (one per class for a classifier).
The standard deviation over repeats and each repeat's importance are in ``meta``.

The permuted copies are batched: the copies of several features and repeats go to the model in one call
of bounded size, so the model is called about ``n_features * n_repeats * n_rows * n_features / CELL_BUDGET``
times rather than once per feature and repeat.

On the command line, PFI needs the labels: ``pellucid explain --method pfi --target COLUMN`` names the
column of the data file holding them.

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from sklearn.ensemble import RandomForestClassifier
>>> X, y = load_iris(return_X_y=True)
>>> explanation = PFIExplainer(RandomForestClassifier(random_state=0).fit(X, y)).explain_global(X, y)
>>> explanation.global_values.shape
(4, 3)
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pellucid._progress import check_progress, explain_in_blocks
from pellucid.data import SPARSE, Dataset
from pellucid.errors import (
    ArgumentError,
    DataShapeError,
    DataValueError,
    MissingArgumentError,
    ProbabilitiesRequiredError,
    describe,
)
from pellucid.explainers._pfi_metrics import resolve_metric
from pellucid.explainers.base import BaseExplainer, classes_without_probabilities
from pellucid.explanation import CLASSIFICATION, Explanation
from pellucid.model import ModelWrapper, is_callable_model, model_type_name, predicts_without_probabilities

__all__ = ["PFIExplainer"]

logger = logging.getLogger(__name__)

#: Most feature cells handed to the model in one call.
CELL_BUDGET = 1_000_000


# Module-level (explainers stay picklable): wrapping happens once per explainer, so contention is nil.
_WRAP_LOCK = threading.Lock()

class PFIExplainer(BaseExplainer):
    """Global feature importance by permuting one feature at a time.

    Parameters
    ----------
    model : object or callable
        Classifier with ``predict_proba``, regressor with ``predict``, a function or a torch module; models
        without ``predict_proba`` follow the old SDK's rules (:mod:`pellucid.model`).
    initialization_examples : array-like, optional
        Not needed by the method; when given, it fixes the expected format and feature count.
    features : list of str, optional
        Feature names.
    classes : list, optional
        Class names, one per model output (used for the explanation's output names).
    transformations : optional
        Fitted raw -> engineered transformations (see :class:`~pellucid.explainers.base.BaseExplainer`): the
        model takes engineered features, the evaluation rows are raw, the importances are reported per raw
        feature by default.
    metric : str or callable, optional
        Score to permute against, greater is better. Classification: "accuracy" (default),
        "balanced_accuracy", "f1" (binary), "f1_macro", "f1_micro", "f1_weighted", "roc_auc" (one-vs-rest
        macro average for several classes), "neg_log_loss". Regression: "r2" (default),
        "neg_mean_squared_error", "neg_root_mean_squared_error", "neg_mean_absolute_error". A callable
        ``metric(y_true, y_pred) -> float`` gets predicted labels (the most probable class) for a classifier
        and predictions for a regressor.
    n_repeats : int, default 5
        Shuffles per feature.
    seed : int, default 0
        Seed of the shuffles.
    model_task : {"unknown", "classification", "regression"}
        The model's task; inferred when "unknown".
    explain_subset : list of int, optional
        Keep only these features in the explanations (SDK argument; see :class:`BaseExplainer`).
    is_function : bool, default False
        ``model`` is a prediction function, called as ``model(rows)`` (SDK argument).
    """

    method: ClassVar[str] = "permutation_importance"
    name = "pfi"
    capabilities = frozenset({"global", "model_agnostic"})
    classes_need_probabilities: ClassVar[bool] = True

    def __init__(
        self,
        model: Any,
        initialization_examples: Any = None,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        *,
        metric: str | Any = None,
        n_repeats: int = 5,
        seed: int = 0,
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
        explain_subset: list[int] | None = None,
        is_function: bool = False,
    ) -> None:
        super().__init__(
            model, initialization_examples, features, classes, transformations, model_task=model_task,
            allow_all_transformations=allow_all_transformations, explain_subset=explain_subset,
            is_function=is_function,
        )
        if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
            raise ArgumentError(f"n_repeats must be a positive integer; found {n_repeats!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ArgumentError(f"seed must be an integer; found {seed!r}")
        if metric is not None and not isinstance(metric, str) and not callable(metric):
            raise ArgumentError(f"metric must be a metric name, a callable metric(y_true, y_pred) or None; found {metric!r}")
        self.metric = metric
        self.n_repeats = int(n_repeats)
        self.seed = int(seed)
        self._model: ModelWrapper | None = None
        if self.background is not None:
            self._model = self._wrap_model(self.background)
            resolve_metric(metric, self._model.task, self._label_set())  # fail early on a metric the task can't use
        elif classes is not None and predicts_without_probabilities(model):
            raise ProbabilitiesRequiredError(classes_without_probabilities(model, "predict (regression)"))

    @classmethod
    def supports(cls, model: Any) -> bool:
        """PFI is model-agnostic: any model with predict/predict_proba, or a function."""
        return is_callable_model(model)

    def _parameters(self) -> dict[str, Any]:
        return {"metric": self._metric_name(), "n_repeats": self.n_repeats, "seed": self.seed}

    def explain_local(self, evaluation_examples: Any) -> Explanation:
        """PFI has no local explanation: it always raises.

        Raises
        ------
        ArgumentError
            Always; use LIMEExplainer or KernelExplainer for local explanations.
        """
        raise ArgumentError(
            "permutation feature importance is a global method: it scores the whole model and has no local "
            "values; call explain_global(evaluation_examples, true_labels), or use LIMEExplainer or "
            "KernelExplainer for local explanations"
        )

    def explain_global(
        self, evaluation_examples: Any = None, true_labels: Any = None, *, raw: bool | None = None,
        progress: bool | None = None,
    ) -> Explanation:
        """Importance of each feature: the drop in the metric when the feature is shuffled.

        Parameters
        ----------
        evaluation_examples : array-like of shape (n_rows, n_features)
            Labelled rows to score the model on (numpy, pandas, scipy.sparse or DenseData-like).
        true_labels : array-like of shape (n_rows,)
            The true labels (classes for a classifier, targets for a regressor); a sparse column or row is read
            as its values.
        raw : bool, optional
            With transformations: True (the default, as in the SDK) sums each raw feature's engineered
            importances through the feature map; False keeps the engineered features.

        Raises
        ------
        MissingArgumentError
            Without ``true_labels`` (also a ``TypeError``, as in the old SDK).
        progress : bool, optional
            A progress bar over the shuffled copies: True always, False never; by default when the call is
            expected to take more than about 2 s and stderr is a terminal or the code runs in a notebook.

        Returns
        -------
        Explanation
            Global-only: ``global_values`` of shape (n_features, n_outputs), the same column for every output;
            ``meta["importances_std"]`` the standard deviation over repeats, ``meta["importances"]`` of shape
            (n_features, n_repeats) each repeat's drop, ``meta["baseline_score"]`` the unpermuted score.
        """
        check_progress(progress)
        if evaluation_examples is None:
            raise ArgumentError("explain_global needs evaluation_examples (labelled rows); found None")
        if true_labels is None:
            raise MissingArgumentError(
                "permutation feature importance needs true_labels, one per evaluation row (on the command line: "
                "--target COLUMN); found None"
            )
        rows = self._read_rows(evaluation_examples)
        if self._model is None:
            with _WRAP_LOCK:  # without a background the model is wrapped on first use, once
                if self._model is None:
                    self._model = self._wrap_model(rows)
        labels = self._read_labels(true_labels, rows.n_rows)
        name, score = resolve_metric(self.metric, self._model.task, self._label_set())
        baseline = float(score(labels, self._predict(rows.values)[None])[0])
        scores, skipped = self._permuted_scores(rows, labels, score, progress)
        drops = baseline - scores  # (n_features, n_repeats)
        drops[np.isnan(drops)] = 0.0  # constant columns, never permuted
        importances = drops.mean(axis=1)
        task, classes = self._task_and_classes()
        n_outputs = len(classes) if task == CLASSIFICATION else 1
        notes = list(self._notes) + rows.notes
        if skipped:
            notes.append(f"{skipped} of {rows.n_features} features are constant in these rows (e.g. all-zero "
                         "sparse columns): shuffling cannot change them, so they were not permuted and their "
                         "importance is exactly 0")
        meta = {
            "method": self.method,
            "model_type": model_type_name(self.model),
            "output_space": self._model.output_space,
            "explained_output": self._model.explained_output,
            "parameters": self._parameters(),
            "metric": name,
            "baseline_score": baseline,
            "importances_std": drops.std(axis=1),
            "importances": drops,
            "values": (f"mean drop in {name} over {self.n_repeats} shuffles of the feature (baseline minus "
                       "shuffled score); a model-level score, so every output column holds the same value"),
            "n_rows": rows.n_rows,
            "notes": notes,
        }
        if self._inputs is not None:  # the feature map, for get_raw_explanation() on an engineered result
            meta.update(self._inputs.meta())
        logger.info("permutation importance of %d features on %d rows (%s, %d repeats)",
                    rows.n_features, rows.n_rows, name, self.n_repeats)
        explanation = Explanation(
            method=self.method,
            task=task,
            features=rows.feature_names,
            classes=classes if task == CLASSIFICATION else None,
            global_values=np.repeat(importances[:, None], n_outputs, axis=1),
            meta=meta,
        )
        if self.explain_subset is not None:  # per-feature meta follows the kept features
            explanation.meta["importances_std"] = [explanation.meta["importances_std"][i] for i in self.explain_subset]
            explanation.meta["importances"] = [explanation.meta["importances"][i] for i in self.explain_subset]
        return self._finish(explanation, None, raw)

    # ------------------------------------------------------------------ helpers
    def _metric_name(self) -> str:
        if self.metric is None or isinstance(self.metric, str):
            return self.metric or "default"
        return getattr(self.metric, "__name__", type(self.metric).__name__)

    def _label_set(self) -> np.ndarray | None:
        """Labels in output order, as the model's true labels are written (its ``classes_`` when it has them)."""
        if self._model.task != CLASSIFICATION:
            return None
        model_classes = getattr(self.model, "classes_", None)
        if model_classes is not None and len(model_classes) == self._model.n_outputs:
            return np.asarray(model_classes)
        return np.asarray(self._model.classes, dtype=object)

    def _read_labels(self, true_labels: Any, n_rows: int) -> np.ndarray:
        if isinstance(true_labels, (pd.Series, pd.DataFrame)):
            true_labels = true_labels.to_numpy()
        elif sp.issparse(true_labels):  # e.g. a label column sliced from a sparse matrix
            true_labels = true_labels.toarray()
        labels = np.asarray(true_labels)
        if labels.ndim == 2 and 1 in labels.shape:
            labels = labels.ravel()
        if labels.ndim != 1 or labels.shape[0] != n_rows:
            raise DataShapeError(
                f"true_labels must hold one label per evaluation row ({n_rows}); found {describe(labels)}"
            )
        if self._model.task != CLASSIFICATION:
            try:
                return labels.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise DataValueError(f"true_labels of a regressor must be numbers; found dtype {labels.dtype}") from exc
        label_set = self._label_set()
        unknown = ~np.isin(labels, label_set)
        if unknown.any():
            raise DataValueError(
                f"true_labels hold {int(unknown.sum())} labels the classifier does not predict "
                f"(first: {labels[unknown][0]!r}); its classes are {label_set.tolist()}"
            )
        return labels

    def _permuted_scores(
        self, rows: Dataset, labels: np.ndarray, score: Any, progress: bool | None
    ) -> tuple[np.ndarray, int]:
        """Scores of shuffled copies, shape (n_features, n_repeats) (NaN for constant columns), and their count.

        Several copies go to the model per call.

        A constant column (e.g. a column of a sparse matrix with no non-zero value in these rows) is the same
        after any shuffle, so it is not permuted: its score is the baseline and its importance exactly 0.
        """
        n_rows, n_features = rows.values.shape
        rng = np.random.default_rng(self.seed)
        varying = np.flatnonzero(~_constant_columns(rows.values))
        n_copies = len(varying) * self.n_repeats
        # One shuffle of the rows per (varying feature, repeat), drawn together.
        orders = rng.permuted(np.broadcast_to(np.arange(n_rows), (n_copies, n_rows)), axis=1)
        shuffled_feature = np.repeat(varying, self.n_repeats)
        scores = np.empty(n_copies)
        if rows.kind == SPARSE:
            self._sparse_scores(rows.values, orders, shuffled_feature, labels, score, scores)
            all_scores = np.full((n_features, self.n_repeats), np.nan)
            all_scores[varying] = scores.reshape(len(varying), self.n_repeats)
            return all_scores, n_features - len(varying)
        batch = max(1, CELL_BUDGET // (n_rows * n_features))
        row_index = np.arange(n_rows)[None, :]

        def score_copies(start: int, stop: int) -> None:
            feature = shuffled_feature[start:stop][:, None]
            copies = np.broadcast_to(rows.values, (stop - start, n_rows, n_features)).copy()
            copies[np.arange(stop - start)[:, None], row_index, feature] = rows.values[orders[start:stop], feature]
            outputs = self._predict(copies.reshape(-1, n_features))
            scores[start:stop] = score(labels, outputs.reshape(stop - start, n_rows, -1))

        explain_in_blocks(n_copies, score_copies, progress=progress, block_rows=batch,
                          desc=f"explaining ({self.method})", unit="shuffle")
        all_scores = np.full((n_features, self.n_repeats), np.nan)
        all_scores[varying] = scores.reshape(len(varying), self.n_repeats)
        return all_scores, n_features - len(varying)

    def _sparse_scores(
        self, values: np.ndarray, orders: np.ndarray, shuffled_feature: np.ndarray, labels: np.ndarray, score: Any,
        scores: np.ndarray,
    ) -> None:
        """Fill ``scores`` for sparse data: the shuffled copies go to the model as CSR matrices.

        Each copy is the rows plus a correction of one column (shuffled minus original values), so a batch of
        copies holds about ``copies * (non-zeros + n_rows)`` stored values and no dense copy of the rows is made.
        """
        n_rows, n_features = values.shape
        base = sp.csr_matrix(values)
        batch = max(1, CELL_BUDGET // (base.nnz + n_rows))
        row_index = np.arange(n_rows)
        for start in range(0, len(scores), batch):
            stop = min(start + batch, len(scores))
            n_copies = stop - start
            features = shuffled_feature[start:stop]
            delta = values[orders[start:stop], features[:, None]] - values[row_index[None, :], features[:, None]]
            correction = sp.csr_matrix(
                (delta.ravel(), (np.arange(n_copies * n_rows), np.repeat(features, n_rows))),
                shape=(n_copies * n_rows, n_features),
            )
            copies = sp.vstack([base] * n_copies, format="csr") + correction
            copies.eliminate_zeros()
            outputs = self._predict(copies)
            scores[start:stop] = score(labels, outputs.reshape(n_copies, n_rows, -1))

    def _predict(self, values: np.ndarray) -> np.ndarray:
        """Model output for many rows, in calls of at most CELL_BUDGET cells."""
        step = max(1, CELL_BUDGET // max(values.shape[1], 1))
        if values.shape[0] <= step or sp.issparse(values):  # a sparse batch is bounded by its stored values
            return self._model.predict_output(values)
        return np.concatenate([self._model.predict_output(values[i:i + step])
                               for i in range(0, values.shape[0], step)])


def _constant_columns(values: np.ndarray) -> np.ndarray:
    """Boolean mask of shape (n_features,): columns whose every row equals the first (NaN counts as varying)."""
    equal = values == values[:1]
    return np.asarray(equal, dtype=bool).all(axis=0)
