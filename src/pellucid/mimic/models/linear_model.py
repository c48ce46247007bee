"""Linear surrogates (import path of the old SDK: ``...mimic.models.linear_model``)."""

from __future__ import annotations

from typing import Any

from pellucid.mimic.models.explainable_model import BaseExplainableModel

__all__ = ["LinearExplainableModel", "SGDExplainableModel"]


class LinearExplainableModel(BaseExplainableModel):
    """Linear regression (``Lasso`` with ``sparse_data=True``, as in the SDK) or logistic regression surrogate,
    explained exactly with linear SHAP."""

    explainer_kind = "linear"
    method = "linear"

    def _estimator(self) -> Any:
        from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression

        if self.classification:
            return LogisticRegression(random_state=self.random_state, **{"max_iter": 1000, **self.explainable_model_args})
        if self.sparse_data:
            return Lasso(random_state=self.random_state, **self.explainable_model_args)
        return LinearRegression(**self.explainable_model_args)


class SGDExplainableModel(BaseExplainableModel):
    """Stochastic-gradient linear surrogate (SGDClassifier with log loss / SGDRegressor), linear SHAP."""

    explainer_kind = "linear"
    method = "sgd"

    def _estimator(self) -> Any:
        from sklearn.linear_model import SGDClassifier, SGDRegressor

        if self.classification:
            return SGDClassifier(random_state=self.random_state, **{"loss": "log_loss", **self.explainable_model_args})
        return SGDRegressor(random_state=self.random_state, **self.explainable_model_args)
