"""LinearScoringExplainer: exact SHAP values of a linear model from its coefficients and a reference mean.

The whole state is the coefficient matrix ``W`` (lines x features), the intercepts ``b`` and the background
mean ``mu``: local values ``W_lj * (x_j - mu_j)``, expected values ``W mu + b``. A binary classifier has one
line (log-odds of class 1); class 0 gets the negated values, as LinearExplainer does.

Examples
--------
>>> import numpy as np
>>> from sklearn.linear_model import LinearRegression
>>> from pellucid.explainers.linear import LinearExplainer
>>> X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 2.0]]); y = X @ [1.0, -2.0] + 0.5
>>> scoring = LinearScoringExplainer(LinearExplainer(LinearRegression().fit(X, y), X))
>>> np.round(scoring.explain(X[:1]), 6).tolist()
[[-2.0, 2.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pellucid.data import as_dataset
from pellucid.errors import ModelInterfaceError
from pellucid.explanation import CLASSIFICATION
from pellucid.scoring.base import ScoringExplainer

__all__ = ["LinearScoringExplainer"]


class LinearScoringExplainer(ScoringExplainer):
    """Scoring explainer for a fitted :class:`~pellucid.explainers.linear.LinearExplainer`.

    Parameters
    ----------
    explainer : LinearExplainer
        The fitted explainer (or a TabularExplainer that chose one).
    initialization_examples : array-like of shape (n_rows, n_features), optional
        Rows whose mean replaces the explainer's background mean as the reference point.
    """

    kind = "linear"
    _required_arrays = ("coef", "intercept", "mean")

    def __init__(self, explainer: Any, initialization_examples: Any = None) -> None:
        explainer = getattr(explainer, "explainer", explainer)  # TabularExplainer -> its direct explainer
        if getattr(explainer, "scoring_kind", None) != "linear" or not callable(getattr(explainer, "to_state", None)):
            raise ModelInterfaceError(
                f"LinearScoringExplainer needs a fitted LinearExplainer; found {type(explainer).__name__}"
            )
        state = explainer.to_state()
        self.coef = np.asarray(state["coef"], dtype=np.float64)
        self.intercept = np.asarray(state["intercept"], dtype=np.float64)
        self.mean = np.asarray(state["mean"], dtype=np.float64)
        self.task = state["task"]
        self.classes = state["classes"]
        self.features = list(explainer.features)
        self.output_space = explainer.output_space
        self.method = explainer.method
        self.notes = []
        self._adopt_transformations(explainer)
        if initialization_examples is not None:
            weights = getattr(as_dataset(initialization_examples, None, name="initialization_examples"), "weights", None)
            rows = self.prepare(initialization_examples).values  # raw rows are transformed first
            weights = np.full(len(rows), 1.0 / len(rows)) if weights is None else weights
            self.mean = rows.T @ weights
            self.notes.append(f"reference mean taken from the {len(rows)} rows given to the scoring explainer")

    @property
    def _binary(self) -> bool:
        return self.task == CLASSIFICATION and self.coef.shape[0] == 1

    @property
    def expected_values(self) -> np.ndarray:
        """Expected model output ``W mu + b`` in the explained space, shape (n_outputs,)."""
        expected = self.coef @ self.mean + self.intercept
        return np.concatenate([-expected, expected]) if self._binary else expected

    def _local(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        local = (values - self.mean)[:, :, None] * self.coef.T[None, :, :]  # [n, m, lines]
        output = values @ self.coef.T + self.intercept  # [n, lines]
        if self._binary:
            local = np.concatenate([-local, local], axis=2)
            output = np.concatenate([-output, output], axis=1)
        return local, self.expected_values, output

    def _predict(self, values: np.ndarray) -> np.ndarray:
        scores = values @ self.coef.T + self.intercept
        if self.task != CLASSIFICATION:
            return scores[:, 0]
        if self._binary:  # decision function > 0 means class 1, as scikit-learn decides
            scores = np.concatenate([np.zeros_like(scores), scores], axis=1)
        return self._labels(scores)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"coef": self.coef, "intercept": self.intercept, "mean": self.mean}

    @classmethod
    def _restore(cls, header: dict[str, Any], state: dict[str, Any], arrays: dict[str, np.ndarray], model: Any):
        explainer = cls.__new__(cls)
        explainer.coef = np.asarray(arrays["coef"], dtype=np.float64)
        explainer.intercept = np.asarray(arrays["intercept"], dtype=np.float64)
        explainer.mean = np.asarray(arrays["mean"], dtype=np.float64)
        explainer.task, explainer.classes = header["task"], header["classes"]
        explainer.features, explainer.output_space = header["features"], header["output_space"]
        explainer.method, explainer.notes = header["method"], list(header["notes"])
        lines = 1 if explainer.task != CLASSIFICATION or len(explainer.classes) == 2 else len(explainer.classes)
        shapes_ok = (
            explainer.coef.shape == (lines, len(explainer.features))
            and explainer.intercept.shape == (lines,)
            and explainer.mean.shape == (len(explainer.features),)
        )
        if not shapes_ok:
            raise ValueError(
                f"coef {explainer.coef.shape}, intercept {explainer.intercept.shape} and mean {explainer.mean.shape} "
                f"do not fit {len(explainer.features)} features and {lines} lines"
            )
        return explainer
