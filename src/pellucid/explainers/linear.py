"""LinearExplainer: exact SHAP values for linear and logistic models.

For a model ``f(x) = w . x + b`` with independent features, the SHAP value of feature j against a background with
(weighted) mean ``mu`` is exactly ``w_j * (x_j - mu_j)`` and the expected value is ``w . mu + b``. Classifiers are
explained in their decision-function space: log-odds for a binary logistic model (class 1 gets the values, class 0
their negation), per-class logits (pre-softmax scores) for a multinomial or one-vs-rest model.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LinearRegression
>>> X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 2.0]]); y = X @ [1.0, -2.0] + 0.5
>>> e = LinearExplainer(LinearRegression().fit(X, y), X).explain_local(X[:1])
>>> np.round(e.local_values[0, :, 0], 6).tolist()
[-2.0, 2.0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pellucid.data import Dataset
from pellucid.errors import ArgumentError, DataValueError, ModelInterfaceError
from pellucid.explainers.base import BaseExplainer, LocalResult
from pellucid.explanation import CLASSIFICATION, REGRESSION

__all__ = ["LinearExplainer"]

_LINEAR_MODULES = ("sklearn.linear_model", "sklearn.svm._classes", "sklearn.discriminant_analysis")
_LINEAR_SVM = ("LinearSVC", "LinearSVR")


class LinearExplainer(BaseExplainer):
    """Exact SHAP values for models linear in their features (interventional, against the background mean).

    Parameters
    ----------
    model : fitted sklearn linear model
        Anything with ``coef_`` and ``intercept_`` from ``sklearn.linear_model`` (LinearRegression, Ridge, Lasso,
        LogisticRegression, SGDClassifier ...), or LinearSVC / LinearSVR.
    initialization_examples : array-like of shape (n_rows, n_features)
        Background data; its (weighted) mean is the reference point.
    features, classes, transformations, model_task, explain_subset
        See :class:`~pellucid.explainers.base.BaseExplainer`.
    """

    method = "linear_shap"
    name = "linear"
    capabilities = frozenset({"local", "global", "distributed"})
    scoring_kind = "linear"

    def __init__(
        self,
        model: Any,
        initialization_examples: Any,
        features: list[str] | None = None,
        classes: list[Any] | None = None,
        transformations: Any = None,
        *,
        model_task: str = "unknown",
        allow_all_transformations: bool = False,
        explain_subset: list[int] | None = None,
    ) -> None:
        super().__init__(
            model, initialization_examples, features, classes, transformations, model_task=model_task,
            allow_all_transformations=allow_all_transformations, explain_subset=explain_subset,
        )
        if not self.supports(model):
            raise ModelInterfaceError(
                f"LinearExplainer needs a fitted linear model with coef_ and intercept_ (sklearn.linear_model, "
                f"LinearSVC, LinearSVR); found {type(model).__name__}. Use KernelExplainer for other models"
            )
        if self.background is None:
            raise ArgumentError("LinearExplainer needs initialization_examples: their mean is the reference point")
        self._coef = np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))  # [n_lines, m]
        self._intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=np.float64))
        if self._coef.shape[1] != self.background.n_features:
            raise ModelInterfaceError(
                f"the model has {self._coef.shape[1]} coefficients but initialization_examples has "
                f"{self.background.n_features} features; pass the data the model was trained on"
            )
        self._task, self._classes = self._resolve_task()
        background = self._numeric(self.background, "initialization_examples")
        self._mean = background.T @ self.background.row_weights()
        self.output_space = "log_odds" if self._is_binary_classifier() else (
            "logit" if self._task == CLASSIFICATION else "raw"
        )

    def to_state(self) -> dict[str, Any]:
        """The fitted linear model as arrays: what a scoring explainer keeps (a copy).

        Returns
        -------
        dict
            ``coef`` of shape (n_lines, n_features) (one line for a regressor or a binary classifier),
            ``intercept`` of shape (n_lines,), ``mean`` (the background mean, the reference point) of shape
            (n_features,), ``task`` ("classification" or "regression") and ``classes`` (list or None).
        """
        return {
            "coef": self._coef.copy(),
            "intercept": self._intercept.copy(),
            "mean": np.array(self._mean, dtype=np.float64),
            "task": self._task,
            "classes": None if self._classes is None else list(self._classes),
        }

    @classmethod
    def supports(cls, model: Any) -> bool:
        """True for fitted sklearn linear models (coef_ and intercept_)."""
        module = type(model).__module__
        linear_type = module.startswith(_LINEAR_MODULES[0]) or type(model).__name__ in _LINEAR_SVM
        try:
            fitted = hasattr(model, "coef_") and hasattr(model, "intercept_")
        except Exception:  # an unfitted estimator may raise on attribute access
            return False
        return bool(linear_type and fitted)

    def _resolve_task(self) -> tuple[str, list | None]:
        model = self.model
        model_classes = getattr(model, "classes_", None)
        is_classifier = model_classes is not None and self.model_task != REGRESSION
        if self.model_task == CLASSIFICATION and model_classes is None:
            raise ModelInterfaceError("model_task='classification' but the linear model has no classes_")
        if not is_classifier:
            if self._coef.shape[0] != 1:
                raise ModelInterfaceError(
                    f"a linear regressor must have one coefficient row; found {self._coef.shape[0]} "
                    "(multi-output regression is not supported)"
                )
            return REGRESSION, None
        labels = list(np.asarray(model_classes).tolist())
        if self.classes is not None:
            if len(self.classes) != len(labels):
                raise ArgumentError(
                    f"classes lists {len(self.classes)} labels but the model has {len(labels)} classes; "
                    "pass one label per class"
                )
            labels = list(self.classes)
        expected_lines = 1 if len(labels) == 2 else len(labels)
        if self._coef.shape[0] != expected_lines:
            raise ModelInterfaceError(
                f"a {len(labels)}-class linear model should have {expected_lines} coefficient rows; "
                f"found {self._coef.shape[0]}"
            )
        return CLASSIFICATION, labels

    def _is_binary_classifier(self) -> bool:
        return self._task == CLASSIFICATION and self._coef.shape[0] == 1

    def _task_and_classes(self) -> tuple[str, list | None]:
        return self._task, self._classes

    def _parameters(self) -> dict[str, Any]:
        return {"feature_perturbation": "interventional", "reference": "background mean"}

    @staticmethod
    def _numeric(dataset: Dataset, name: str) -> np.ndarray:
        if not dataset.is_numeric:
            raise DataValueError(
                f"{name} must be numeric for a linear model; found non-numeric columns. Encode them first or "
                "pass transformations"
            )
        if not np.isfinite(dataset.values).all():
            bad = np.argwhere(~np.isfinite(dataset.values))[0]
            raise DataValueError(
                f"{name} must be finite for a linear model; found NaN/inf (first at row {bad[0]}, "
                f"feature {dataset.feature_names[bad[1]]!r}); impute them first"
            )
        return dataset.values

    def _explain_rows(self, rows: Dataset) -> LocalResult:
        x = self._numeric(rows, "evaluation_examples")
        centred = x - self._mean  # [n, m]
        values = centred[:, :, None] * self._coef.T[None, :, :]  # [n, m, lines]
        expected = self._coef @ self._mean + self._intercept  # [lines]
        output = x @ self._coef.T + self._intercept  # [n, lines]
        if self._is_binary_classifier():
            values = np.concatenate([-values, values], axis=2)
            expected = np.concatenate([-expected, expected])
            output = np.concatenate([-output, output], axis=1)
        return LocalResult(values=values, expected_values=expected, model_output=output)

    @property
    def expected_values(self) -> np.ndarray:
        """Expected model output in the explained space, shape (n_outputs,)."""
        expected = self._coef @ self._mean + self._intercept
        return np.concatenate([-expected, expected]) if self._is_binary_classifier() else expected
