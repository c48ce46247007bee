"""Wrap any model into one call: ``predict_output(rows) -> ndarray of shape (n_rows, n_outputs)``.

Accepted models: anything with ``predict_proba`` (a classifier) or ``predict`` (a regressor), sklearn
Pipelines, and plain functions. The task fixes the output shape: a classifier (binary too) has one output per
class, a regressor one. A function's task is taken from ``model_task`` when given; otherwise from its output
on a probe row (1-D output: regression; 2-D with several columns: classification), and that inference is
recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pellucid.data import Dataset
from pellucid.errors import ArgumentError, DataValueError, ModelInterfaceError, PellucidError, describe
from pellucid.explanation import CLASSIFICATION, REGRESSION

__all__ = ["ModelWrapper", "TASKS", "model_type_name", "is_callable_model"]

#: How to give a classifier without predict_proba (e.g. an SVC) probabilities: scikit-learn's recommendation
#: since 1.9 deprecated SVC(probability=True).
SVC_ADVICE = (
    "Wrap it in a calibrator: CalibratedClassifierCV(SVC(), ensemble=False) from sklearn.calibration "
    "(scikit-learn's replacement for the deprecated SVC(probability=True))"
)

TASKS = ("unknown", CLASSIFICATION, REGRESSION)


def model_type_name(model: Any) -> str:
    """Dotted type name of a model, ``"function"`` for plain functions."""
    if not hasattr(model, "predict") and not hasattr(model, "predict_proba") and callable(model):
        return "function"
    return f"{type(model).__module__}.{type(model).__qualname__}"


def is_callable_model(model: Any) -> bool:
    """True for anything :class:`ModelWrapper` can call: ``predict``, ``predict_proba`` or a plain function."""
    return _has_method(model, "predict_proba") or _has_method(model, "predict") or callable(model)


def _is_sklearn_classifier(model: Any) -> bool:
    try:
        from sklearn.base import is_classifier

        return bool(is_classifier(model))
    except Exception:  # not an sklearn estimator
        return getattr(model, "_estimator_type", None) == "classifier"


class ModelWrapper:
    """One interface over predict / predict_proba / functions.

    Parameters
    ----------
    model : object or callable
        The model to call.
    template : Dataset
        Data in the model's input format; synthetic rows are converted like it before each call.
    model_task : {"unknown", "classification", "regression"}
        The task; "unknown" infers it from the model's methods (or a function's output).
    classes : sequence, optional
        Class labels for a classifier, one per output; default the model's ``classes_`` or ``0..k-1``.

    Attributes
    ----------
    task : str
        ``"classification"`` or ``"regression"``.
    classes : list or None
        Class labels (classification) or None.
    n_outputs : int
        Number of outputs.
    output_space : str
        ``"probability"`` for classifiers, ``"raw"`` for regressors.
    notes : list of str
        What was inferred on the user's behalf.
    """

    def __init__(
        self,
        model: Any,
        template: Dataset,
        *,
        model_task: str = "unknown",
        classes: Sequence[Any] | None = None,
    ) -> None:
        if model_task not in TASKS:
            raise ArgumentError(f"model_task must be one of {TASKS}; found {model_task!r}")
        self.model = model
        self.template = template
        self.notes: list[str] = []
        self._function, self._function_name, self.task = self._pick_function(model, model_task)
        probe = self._call(template.values[:1])
        self.n_outputs = probe.shape[1]
        self.classes = self._resolve_classes(classes)
        self.output_space = "probability" if self.task == CLASSIFICATION else "raw"

    # ------------------------------------------------------------------ setup
    def _pick_function(self, model: Any, model_task: str) -> tuple[Callable, str, str]:
        has_proba = _has_method(model, "predict_proba")
        has_predict = _has_method(model, "predict")
        if model_task == CLASSIFICATION or (model_task == "unknown" and has_proba):
            if has_proba:
                return model.predict_proba, "predict_proba", CLASSIFICATION
            if not has_predict and callable(model):
                return model, "function", CLASSIFICATION
            raise ModelInterfaceError(
                f"a classifier must have predict_proba (or be a function returning probabilities); "
                f"found {model_type_name(model)} without one. {SVC_ADVICE}"
            )
        if has_predict:
            if model_task == "unknown" and _is_sklearn_classifier(model):
                raise ModelInterfaceError(
                    f"{model_type_name(model)} is a classifier without predict_proba; explanations of a "
                    f"classifier are in class probabilities, so give it probabilities ({SVC_ADVICE}) "
                    "or pass model_task='regression' to explain predict()"
                )
            return model.predict, "predict", REGRESSION
        if callable(model):
            if model_task == REGRESSION:
                return model, "function", REGRESSION
            output = self._raw_call(model, "function", self.template.values[:1])
            task = CLASSIFICATION if output.ndim == 2 and output.shape[1] > 1 else REGRESSION
            self.notes.append(
                f"model_task inferred as {task!r} from the function's output shape {output.shape}; "
                "pass model_task to state it"
            )
            return model, "function", task
        raise ModelInterfaceError(
            f"the model must have predict or predict_proba, or be a callable function; found {describe(model)}"
        )

    def _resolve_classes(self, classes: Sequence[Any] | None) -> list | None:
        if self.task == REGRESSION:
            return None
        if classes is not None:
            classes = list(classes)
            if len(classes) != self.n_outputs:
                raise ArgumentError(
                    f"classes lists {len(classes)} labels but the model has {self.n_outputs} outputs "
                    f"(columns of {self._function_name}); pass one label per output"
                )
            return classes
        model_classes = getattr(self.model, "classes_", None)
        if model_classes is not None and len(model_classes) == self.n_outputs:
            return list(np.asarray(model_classes).tolist())
        return list(range(self.n_outputs))

    # ------------------------------------------------------------------ calls
    def predict_output(self, values: np.ndarray | Dataset) -> np.ndarray:
        """Model output for rows, ndarray of shape (n_rows, n_outputs), float64.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features) or Dataset
            Rows in pellucid's internal layout (converted to the model's input format here).
        """
        if isinstance(values, Dataset):
            values = values.values
        output = self._call(values)
        if output.shape[1] != self.n_outputs:
            raise ModelInterfaceError(
                f"the model returned {output.shape[1]} outputs per row; it returned {self.n_outputs} before"
            )
        return output

    def _call(self, values: np.ndarray) -> np.ndarray:
        output = self._raw_call(self._function, self._function_name, values)
        if output.ndim == 1:
            output = output.reshape(-1, 1)
        if output.ndim != 2 or output.shape[0] != values.shape[0]:
            raise ModelInterfaceError(
                f"the model's {self._function_name} must return one value or one row of values per input row; "
                f"for {values.shape[0]} rows it returned shape {output.shape}"
            )
        if self.task == REGRESSION and output.shape[1] != 1:
            raise ModelInterfaceError(
                f"a regressor must return one output per row; found {output.shape[1]} "
                "(multi-output regression is not supported: explain one output at a time)"
            )
        if self.task == CLASSIFICATION and output.shape[1] < 2:
            raise ModelInterfaceError(
                f"a classifier must return one probability per class (at least 2 columns); found {output.shape[1]}"
            )
        return output

    def _raw_call(self, function: Callable, function_name: str, values: np.ndarray) -> np.ndarray:
        model_input = self.template.to_model_input(values)
        try:
            output = function(model_input)
        except PellucidError:
            raise
        except Exception as exc:
            bad = self.template.with_values(values).non_finite_cells()
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise DataValueError(
                    f"the model cannot take missing or infinite values: the data holds {int(bad.sum())} "
                    f"NaN/inf cells (first at row {row}, feature {self.template.feature_names[col]!r}) and "
                    f"{function_name} raised {type(exc).__name__}: {exc}. Impute them first "
                    "(e.g. sklearn.impute.SimpleImputer) or use a model that handles missing values"
                ) from exc
            raise ModelInterfaceError(
                f"calling the model's {function_name} on {values.shape[0]} rows x {values.shape[1]} features "
                f"failed with {type(exc).__name__}: {exc}"
            ) from exc
        try:
            array = np.asarray(output, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ModelInterfaceError(
                f"the model's {function_name} must return numbers; found {describe(output)} ({exc})"
            ) from exc
        return array


def _has_method(model: Any, name: str) -> bool:
    try:
        return callable(getattr(model, name, None))
    except Exception:  # sklearn's available_if raises AttributeError subclasses; others may raise more
        return False
