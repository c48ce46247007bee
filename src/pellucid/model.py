"""Wrap any model into one call: ``predict_output(rows) -> ndarray of shape (n_rows, n_outputs)``.

Accepted models: anything with ``predict_proba`` (a classifier) or ``predict`` (a regressor), sklearn
Pipelines, PyTorch modules and plain functions. The task fixes the output shape: a classifier (binary too) has
one output per class, a regressor one. A function's task is taken from ``model_task`` when given; otherwise
from its output on a probe row (1-D output: regression; 2-D with several columns: classification), and that
inference is recorded.

Models without ``predict_proba`` are explained as the old SDK explained them (``explained_output`` and the
notes say which output that is):

* a ``predict`` returning several columns per row (a Keras model's probabilities) is a classifier;
* an ``SGDClassifier`` without probabilities (its default hinge loss) is explained through the one-hot
  encoding of its predicted class;
* any other ``predict`` or function returning one value per row is explained as a regression of that value
  (a classifier's numeric labels included); with ``model_task="classification"`` one value ``p`` in [0, 1]
  per row becomes the two columns ``[1 - p, p]``, anything else raises :class:`ProbabilitiesRequiredError`;
* a ``torch.nn.Module`` is called as a function: numpy rows become a float tensor, the call runs under
  ``torch.no_grad()`` with the module in evaluation mode (its previous mode restored afterwards), and the
  output tensor comes back as numpy. Its outputs are explained as returned (no softmax is added).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from pellucid.data import Dataset
from pellucid.errors import (
    ArgumentError,
    DataValueError,
    ModelInterfaceError,
    ModelOutputError,
    PellucidError,
    ProbabilitiesRequiredError,
    describe,
)
from pellucid.explanation import CLASSIFICATION, REGRESSION

__all__ = [
    "ModelWrapper",
    "TASKS",
    "model_type_name",
    "is_callable_model",
    "is_torch_module",
    "predicts_without_probabilities",
    "model_feature_names",
]

#: How to give a classifier without predict_proba (e.g. an SVC) probabilities: scikit-learn's recommendation
#: since 1.9 deprecated SVC(probability=True).
SVC_ADVICE = (
    "Wrap it in a calibrator: CalibratedClassifierCV(SVC(), ensemble=False) from sklearn.calibration "
    "(scikit-learn's replacement for the deprecated SVC(probability=True))"
)

TASKS = ("unknown", CLASSIFICATION, REGRESSION)
#: Rows of the template on which a single-column output is checked to be a probability.
_PROBABILITY_CHECK_ROWS = 1000


def model_type_name(model: Any) -> str:
    """Dotted type name of a model, ``"function"`` for plain functions."""
    if is_torch_module(model):
        return f"{type(model).__module__}.{type(model).__qualname__}"
    if not hasattr(model, "predict") and not hasattr(model, "predict_proba") and callable(model):
        return "function"
    return f"{type(model).__module__}.{type(model).__qualname__}"


def is_callable_model(model: Any) -> bool:
    """True for anything :class:`ModelWrapper` can call: ``predict``, ``predict_proba`` or a plain function."""
    return _has_method(model, "predict_proba") or _has_method(model, "predict") or callable(model)


def is_torch_module(model: Any) -> bool:
    """True for a ``torch.nn.Module``; never imports torch (a module object means torch is already imported)."""
    torch = sys.modules.get("torch")
    nn = getattr(torch, "nn", None) if torch is not None else None
    module_class = getattr(nn, "Module", None) if nn is not None else None
    return module_class is not None and isinstance(model, module_class)


def predicts_without_probabilities(model: Any) -> bool:
    """True for a scikit-learn classifier whose only output is ``predict`` (labels), known without calling it.

    An ``SGDClassifier`` is excluded: it is explained through one-hot predictions, as a classifier.
    """
    return (
        not is_torch_module(model)
        and _has_method(model, "predict")
        and not _has_method(model, "predict_proba")
        and _is_sklearn_classifier(model)
        and not _is_sgd_classifier(model)
    )


def model_feature_names(model: Any) -> list[str] | None:
    """The column names a model was fitted with, or None when it stored none.

    Read, without importing any library, from scikit-learn's ``feature_names_in_`` (a model or Pipeline fitted
    on a DataFrame, LightGBM's and XGBoost's sklearn wrappers too), a LightGBM ``Booster.feature_name()``, an
    XGBoost ``Booster.feature_names`` and CatBoost's ``feature_names_``. Names a library makes up for
    unnamed columns (LightGBM's ``Column_0``, CatBoost's ``0``) are not names: None is returned for them.
    """
    candidates: list[Any] = [lambda: getattr(model, "feature_names_in_", None)]
    booster = _safe(lambda: getattr(model, "booster_", None)) if hasattr(type(model), "booster_") else None
    for source in (model, booster):
        if source is None:
            continue
        candidates.append(lambda s=source: s.feature_name() if callable(getattr(s, "feature_name", None)) else None)
        candidates.append(lambda s=source: s.get_booster().feature_names
                          if callable(getattr(s, "get_booster", None)) else None)
        candidates.append(lambda s=source: getattr(s, "feature_names", None)
                          if type(s).__module__.startswith("xgboost") else None)
        candidates.append(lambda s=source: getattr(s, "feature_names_", None)
                          if type(s).__module__.startswith("catboost") else None)
    for candidate in candidates:
        names = _safe(candidate)
        if names is None or isinstance(names, (str, bytes)):
            continue
        try:
            names = [str(n) for n in list(names)]
        except TypeError:
            continue
        if names and not _made_up(names):
            return names
    return None


def _safe(function: Callable[[], Any]) -> Any:
    try:
        return function()
    except Exception:  # an unfitted model raises on these attributes: it stored no names
        return None


def _made_up(names: list[str]) -> bool:
    """True for the names libraries give unnamed columns: Column_<i>, <i>, f<i>."""
    return all(n in (f"Column_{i}", str(i), f"f{i}") for i, n in enumerate(names))


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
    explained_output : str
        Which output of the model is explained, e.g. ``"predict_proba"``, ``"one-hot encoding of predict()"``,
        ``"predict (regression)"``.
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
        self.explained_output = "function output"
        self._probe: tuple[Callable, np.ndarray] | None = None  # (function, its float output on the first row)
        self._function, self._function_name, self.task = self._pick_function(model, model_task)
        reuse = self._probe is not None and self._probe[0] is self._function
        probe = self._call(template.values[:1], self._probe[1] if reuse else None)
        self._probe = None
        self.n_outputs = probe.shape[1]
        self.classes = self._resolve_classes(classes)
        self.output_space = "probability" if self.task == CLASSIFICATION else "raw"

    # ------------------------------------------------------------------ setup
    def _pick_function(self, model: Any, model_task: str) -> tuple[Callable, str, str]:
        if is_torch_module(model):
            function = _TorchFunction(model)
            if function.training_modules:
                self.notes.append(
                    f"the torch module was in training mode ({len(function.training_modules)} submodule(s)): each "
                    "call runs it in evaluation mode and restores its mode afterwards"
                )
            self.notes.append("torch module called as a function: rows as a float tensor, under torch.no_grad(), "
                              "in evaluation mode; its outputs are explained as returned")
            return self._pick_for_function(function, "torch module", model_task)
        has_proba = _has_method(model, "predict_proba")
        has_predict = _has_method(model, "predict")
        if has_proba and (model_task != REGRESSION or not has_predict):
            if model_task == REGRESSION:
                raise ModelInterfaceError(
                    f"model_task='regression' explains predict(); {model_type_name(model)} has only predict_proba"
                )
            self.explained_output = "predict_proba"
            return model.predict_proba, "predict_proba", CLASSIFICATION
        if has_predict:
            if model_task != REGRESSION and _is_sgd_classifier(model):
                self.explained_output = "one-hot encoding of predict()"
                self.notes.append(
                    f"{model_type_name(model)} has no predict_proba (its loss gives no probabilities): the explained "
                    "output is the one-hot encoding of its predicted class, as in the old SDK. Fit it with "
                    "loss='log_loss' or 'modified_huber' to explain probabilities"
                )
                return _OneHotPredictions(model), "predict", CLASSIFICATION
            return self._pick_for_function(model.predict, "predict", model_task,
                                           classifier=_is_sklearn_classifier(model))
        if callable(model):
            return self._pick_for_function(model, "function", model_task)
        raise ModelInterfaceError(
            f"the model must have predict or predict_proba, or be a callable function; found {describe(model)}"
        )

    def _pick_for_function(
        self, function: Callable, name: str, model_task: str, *, classifier: bool = False
    ) -> tuple[Callable, str, str]:
        """Task of a ``predict`` or a function from ``model_task`` and its output on a probe row (the SDK's rules)."""
        described = "the function's output" if name == "function" else f"the {name}'s output"
        if model_task == REGRESSION:
            self.explained_output = f"{name} (regression)"
            return function, name, REGRESSION
        output = self._raw_call(function, name, self.template.values[:1], numeric=not classifier)
        self._probe = (function, output)
        if output.dtype.kind not in "biuf":
            raise ProbabilitiesRequiredError(
                f"{model_type_name(self.model)} is a classifier without predict_proba whose predict returns labels "
                f"({output.dtype}), which cannot be explained as numbers; to explain class "
                f"probabilities give it predict_proba. {SVC_ADVICE}"
            )
        if output.ndim == 2 and output.shape[1] > 1:
            if model_task == "unknown":
                self.notes.append(
                    f"model_task inferred as 'classification' from {described} shape {output.shape}: its columns are "
                    "explained as class probabilities; pass model_task to state it"
                )
            self.explained_output = f"{name} (one column per class)"
            return function, name, CLASSIFICATION
        if model_task == CLASSIFICATION:
            self.notes.append(
                f"model_task='classification' with one value p per row from {described}: explained as the two "
                "class probabilities [1 - p, p] (p must lie in [0, 1])"
            )
            self.explained_output = f"[1 - p, p] of {name}"
            binary = _BinaryColumns(function, name)
            binary(self.template.to_model_input(self.template.values[:_PROBABILITY_CHECK_ROWS]))  # p in [0, 1]?
            return binary, name, CLASSIFICATION
        if classifier:
            self.notes.append(
                f"{model_type_name(self.model)} is a classifier without predict_proba: its predicted labels are "
                "explained as numbers (a regression of predict(), as in the old SDK). To explain class "
                f"probabilities instead: {SVC_ADVICE}"
            )
        elif name != "predict":
            self.notes.append(
                f"model_task inferred as 'regression' from {described} shape {output.shape}; "
                "pass model_task to state it"
            )
        self.explained_output = f"{name} (regression)"
        return function, name, REGRESSION

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
    def predict_output(self, values: np.ndarray | Dataset | sp.spmatrix) -> np.ndarray:
        """Model output for rows, ndarray of shape (n_rows, n_outputs), float64.

        Parameters
        ----------
        values : ndarray of shape (n_rows, n_features), Dataset or scipy.sparse matrix
            Rows in pellucid's internal layout (converted to the model's input format here). A sparse matrix
            (for a model trained on sparse data) is handed over as it is, in the template's sparse format.
        """
        if isinstance(values, Dataset):
            values = values.values
        output = self._call(values)
        if output.shape[1] != self.n_outputs:
            raise ModelInterfaceError(
                f"the model returned {output.shape[1]} outputs per row; it returned {self.n_outputs} before"
            )
        return output

    def _call(self, values: np.ndarray, output: np.ndarray | None = None) -> np.ndarray:
        if output is None:
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
        finite = np.isfinite(output)
        if not finite.all():
            self._refuse_non_finite(values, output, finite)
        return output

    def _refuse_non_finite(self, values: np.ndarray, output: np.ndarray, finite: np.ndarray) -> None:
        """Raise ModelOutputError naming the rows and outputs where the model returned NaN or inf."""
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        bad_outputs = np.flatnonzero(~finite.all(axis=0))
        labels = self.classes if getattr(self, "classes", None) is not None else None
        outputs = [labels[k] if labels is not None and k < len(labels) else int(k) for k in bad_outputs]
        row, col = np.argwhere(~finite)[0]
        shown = ", ".join(str(int(r)) for r in bad_rows[:10]) + (", ..." if bad_rows.size > 10 else "")
        first = dict(zip(self.template.feature_names, values[row].tolist())) if values.shape[1] <= 10 else None
        raise ModelOutputError(
            f"the model's {self._function_name} must return finite numbers; for {values.shape[0]} rows it "
            f"returned {int((~finite).sum())} NaN/inf values in {bad_rows.size} rows (row indices {shown}) and "
            f"outputs {outputs}; the first is {float(output[row, col])} at row {int(row)}, output {int(col)}"
            + (f" (input row {first})" if first is not None else "")
            + ". Rows are those of this model call (for perturbation methods, synthetic rows mixing your rows "
            "with the background). An explanation of non-finite outputs would be all NaN: fix the model or "
            "its input range"
        )

    def _raw_call(
        self, function: Callable, function_name: str, values: np.ndarray, *, numeric: bool = True
    ) -> np.ndarray:
        if sp.issparse(values):
            model_input = values.tocsc() if self.template.sparse_format == "csc" else values.tocsr()
        else:
            model_input = self.template.to_model_input(values)
        try:
            output = function(model_input)
        except PellucidError:
            raise
        except Exception as exc:
            bad = None if sp.issparse(values) else self.template.with_values(values).non_finite_cells()
            if bad is not None and bad.any():
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
        if not numeric:
            array = np.asarray(output)
            if array.dtype.kind not in "biuf":
                return array
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


def _is_sgd_classifier(model: Any) -> bool:
    """True for scikit-learn's SGDClassifier (the classifier the old SDK explained through one-hot predictions)."""
    try:
        from sklearn.linear_model import SGDClassifier
    except ImportError:  # pragma: no cover - scikit-learn is a core dependency
        return False
    return isinstance(model, SGDClassifier) and hasattr(model, "classes_")


class _OneHotPredictions:
    """A classifier's predictions as one-hot rows: shape (n_rows, n_classes), 1 in the predicted class's column."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.classes = np.asarray(model.classes_)

    def __call__(self, rows: Any) -> np.ndarray:
        predicted = np.asarray(self.model.predict(rows))
        hits = predicted[:, None] == self.classes[None, :]
        if not hits.any(axis=1).all():
            raise ModelInterfaceError(
                f"{model_type_name(self.model)}.predict returned a label outside its classes_ {self.classes.tolist()}"
            )
        return hits.astype(np.float64)


class _BinaryColumns:
    """One probability ``p`` per row turned into the two columns ``[1 - p, p]``."""

    def __init__(self, function: Callable, name: str) -> None:
        self.function = function
        self.name = name

    def __call__(self, rows: Any) -> np.ndarray:
        p = np.asarray(self.function(rows), dtype=np.float64)
        if p.ndim == 2 and p.shape[1] == 1:
            p = p[:, 0]
        if p.ndim != 1:
            raise ModelInterfaceError(f"the {self.name} must return one value per row; found shape {p.shape}")
        outside = (p < 0.0) | (p > 1.0) | ~np.isfinite(p)
        if outside.any():
            raise ProbabilitiesRequiredError(
                f"model_task='classification' needs probabilities: the {self.name} returns one value per row, "
                f"read as the probability p of the second class, but {int(outside.sum())} of {p.size} values lie "
                f"outside [0, 1] (first: {p[outside][0]!r}). Pass a predict_proba (or a function returning one "
                "column per class), or model_task='regression' to explain the values"
            )
        return np.stack([1.0 - p, p], axis=1)


class _TorchFunction:
    """A ``torch.nn.Module`` as a numpy function: float tensor in, no_grad, evaluation mode, numpy out.

    The modules found in training mode are switched to evaluation mode for each call and switched back after it,
    so the user's module keeps its mode.
    """

    def __init__(self, module: Any) -> None:
        self.module = module
        self.training_modules = [m for m in module.modules() if m.training]

    def __call__(self, rows: Any) -> np.ndarray:
        torch = sys.modules["torch"]  # a torch.nn.Module exists, so torch is imported (never imported here)

        if hasattr(rows, "to_numpy"):
            rows = rows.to_numpy()
        elif hasattr(rows, "toarray"):
            rows = rows.toarray()
        parameter = next(iter(self.module.parameters()), None)
        dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
        device = parameter.device if parameter is not None else torch.device("cpu")
        tensor = torch.as_tensor(np.ascontiguousarray(rows, dtype=np.float64), dtype=dtype, device=device)
        training = [m for m in self.module.modules() if m.training]
        for m in training:
            m.training = False
        try:
            with torch.no_grad():
                output = self.module(tensor)
        finally:
            for m in training:
                m.training = True
        if not torch.is_tensor(output):
            raise ModelInterfaceError(
                f"the torch module must return a tensor; found {type(output).__name__} (wrap it to return one tensor)"
            )
        return output.detach().cpu().double().numpy()
