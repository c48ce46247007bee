"""The surrogate ("explainable") models MimicExplainer can train, and how each is explained exactly.

A surrogate is constructed as ``Surrogate(classification, random_state=0, **explainable_model_args)``; it fits on
the teacher's outputs and names the direct explainer that explains it exactly (TreeSHAP for trees and LightGBM,
linear SHAP for linear models).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from pellucid.errors import ArgumentError

__all__ = ["BaseExplainableModel"]


class BaseExplainableModel:
    """A surrogate model: an sklearn-compatible estimator plus the name of its exact explainer.

    Parameters
    ----------
    classification : bool
        Train a classifier (on the teacher's predicted labels) rather than a regressor.
    random_state : int
        Seed of the estimator.
    sparse_data : bool, default False
        The old SDK's flag that the training data is sparse: a linear regression surrogate is then a ``Lasso``
        (as in the SDK); the other surrogates take sparse data as it is and ignore it.
    **explainable_model_args
        Passed to the underlying estimator (e.g. ``n_estimators`` for LightGBM, ``alpha`` for Ridge).
    """

    #: "tree" or "linear": which exact explainer explains the fitted estimator.
    explainer_kind: ClassVar[str] = "tree"
    #: the SDK's name of the surrogate: the explanation's method is ``"mimic.<method>"``.
    method: ClassVar[str] = "base"
    #: the default arguments of the underlying estimator.
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self, classification: bool, random_state: int = 0, *, sparse_data: bool = False, **explainable_model_args: Any
    ) -> None:
        self.classification = bool(classification)
        self.random_state = random_state
        self.sparse_data = bool(sparse_data)
        self.explainable_model_args = {**self.defaults, **explainable_model_args}
        self.model: Any = None

    def _estimator(self) -> Any:
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: np.ndarray) -> BaseExplainableModel:
        """Fit the surrogate on features ``X`` (n_rows, n_features) and teacher outputs ``y`` (n_rows,)."""
        try:
            self.model = self._estimator().fit(X, y)
        except TypeError as exc:
            raise ArgumentError(
                f"explainable_model_args {sorted(self.explainable_model_args)} do not fit "
                f"{type(self).__name__}: {exc}"
            ) from exc
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Surrogate predictions (labels or values), shape (n_rows,)."""
        return self.model.predict(X)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Surrogate class probabilities, shape (n_rows, n_classes) (classification only)."""
        return self.model.predict_proba(X)

    @property
    def expected_values(self) -> Any:  # pragma: no cover - informative only
        """Not stored: the explainer computes expected values against the background."""
        raise AttributeError("expected values come from the Explanation, not the surrogate")
