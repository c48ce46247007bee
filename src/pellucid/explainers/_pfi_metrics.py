"""Scores for permutation feature importance: every one "greater is better", scored on a batch of outputs.

Each metric takes the true labels ``y_true`` of shape (n_rows,) and a batch of model outputs of shape
(n_batch, n_rows, n_outputs) (class probabilities for a classifier, one column for a regressor) and returns
one score per batch entry. Losses are negated (``neg_log_loss`` ...), as in scikit-learn's scorer names, so
a permutation that hurts the model always lowers the score.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics as skm

from pellucid.errors import ArgumentError
from pellucid.explanation import CLASSIFICATION

__all__ = ["CLASSIFICATION_METRICS", "REGRESSION_METRICS", "BatchMetric", "resolve_metric"]

BatchMetric = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _labels(outputs: np.ndarray, label_set: np.ndarray) -> np.ndarray:
    return label_set[np.argmax(outputs, axis=-1)]


def _accuracy(label_set: np.ndarray) -> BatchMetric:
    return lambda y, outputs: (_labels(outputs, label_set) == y).mean(axis=-1)


def _per_entry(score: Callable[[np.ndarray, np.ndarray], float]) -> BatchMetric:
    return lambda y, outputs: np.array([score(y, entry) for entry in outputs], dtype=np.float64)


def _classification_metrics(label_set: np.ndarray) -> dict[str, BatchMetric]:
    binary = len(label_set) == 2
    positive = label_set[-1]

    def labels_of(entry: np.ndarray) -> np.ndarray:
        return _labels(entry, label_set)

    table = {
        "accuracy": _accuracy(label_set),
        "balanced_accuracy": _per_entry(lambda y, e: skm.balanced_accuracy_score(y, labels_of(e))),
        "f1_macro": _per_entry(lambda y, e: skm.f1_score(y, labels_of(e), average="macro", labels=label_set)),
        "f1_micro": _per_entry(lambda y, e: skm.f1_score(y, labels_of(e), average="micro", labels=label_set)),
        "f1_weighted": _per_entry(
            lambda y, e: skm.f1_score(y, labels_of(e), average="weighted", labels=label_set)),
        "neg_log_loss": _per_entry(lambda y, e: -skm.log_loss(y, e, labels=label_set)),
    }
    if binary:
        table["f1"] = _per_entry(lambda y, e: skm.f1_score(y, labels_of(e), pos_label=positive))
        table["roc_auc"] = _per_entry(lambda y, e: skm.roc_auc_score(y == positive, e[:, -1]))
    else:
        table["roc_auc"] = _per_entry(
            lambda y, e: skm.roc_auc_score(y, e, multi_class="ovr", average="macro", labels=label_set))
    return table


def _regression_metrics() -> dict[str, BatchMetric]:
    def errors(y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        return outputs[..., 0] - y

    def r2(y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        total = ((y - y.mean()) ** 2).sum()
        residual = (errors(y, outputs) ** 2).sum(axis=-1)
        return 1.0 - residual / total if total > 0 else np.where(residual == 0, 1.0, 0.0)

    return {
        "r2": r2,
        "neg_mean_squared_error": lambda y, o: -(errors(y, o) ** 2).mean(axis=-1),
        "neg_root_mean_squared_error": lambda y, o: -np.sqrt((errors(y, o) ** 2).mean(axis=-1)),
        "neg_mean_absolute_error": lambda y, o: -np.abs(errors(y, o)).mean(axis=-1),
    }


CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1", "f1_macro", "f1_micro", "f1_weighted",
                          "roc_auc", "neg_log_loss")
REGRESSION_METRICS = ("r2", "neg_mean_squared_error", "neg_root_mean_squared_error", "neg_mean_absolute_error")


def resolve_metric(metric: Any, task: str, label_set: np.ndarray | None) -> tuple[str, BatchMetric]:
    """The metric's name and batch function for a task.

    Parameters
    ----------
    metric : str, callable or None
        A name from CLASSIFICATION_METRICS / REGRESSION_METRICS, a callable ``metric(y_true, y_pred) -> float``
        (greater is better; ``y_pred`` holds predicted labels for a classifier, predictions for a regressor),
        or None for the task's default (accuracy, r2).
    task : {"classification", "regression"}
    label_set : ndarray, optional
        The classifier's labels, in output order.

    Raises
    ------
    ArgumentError
        For an unknown name or one the task cannot use.
    """
    if metric is None:
        metric = "accuracy" if task == CLASSIFICATION else "r2"
    if callable(metric):
        name = getattr(metric, "__name__", type(metric).__name__)
        if task == CLASSIFICATION:
            return name, _per_entry(lambda y, e: float(metric(y, _labels(e, label_set))))
        return name, _per_entry(lambda y, e: float(metric(y, e[:, 0])))
    if not isinstance(metric, str):
        raise ArgumentError(f"metric must be a metric name, a callable metric(y_true, y_pred) or None; found {metric!r}")
    table = _classification_metrics(label_set) if task == CLASSIFICATION else _regression_metrics()
    if metric in table:
        return metric, table[metric]
    valid = sorted(table)
    if metric == "f1" and task == CLASSIFICATION:
        raise ArgumentError(
            f"metric 'f1' needs a binary classifier; this one has {len(label_set)} classes. Use one of "
            "'f1_macro', 'f1_micro', 'f1_weighted'"
        )
    other = REGRESSION_METRICS if task == CLASSIFICATION else CLASSIFICATION_METRICS
    why = f"{metric!r} is a {'regression' if task == CLASSIFICATION else 'classification'} metric" if (
        metric in other) else f"{metric!r} is not a known metric"
    raise ArgumentError(f"{why}; for this {task} model pass one of {valid} or a callable metric(y_true, y_pred)")
