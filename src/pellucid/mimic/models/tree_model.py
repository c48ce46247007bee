"""Decision-tree surrogate (import path of the old SDK: ``...mimic.models.tree_model``)."""

from __future__ import annotations

from typing import Any

from pellucid.mimic.models.explainable_model import BaseExplainableModel

__all__ = ["DecisionTreeExplainableModel"]


class DecisionTreeExplainableModel(BaseExplainableModel):
    """A single decision tree surrogate, explained exactly with TreeSHAP."""

    explainer_kind = "tree"
    method = "tree"

    def _estimator(self) -> Any:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        estimator = DecisionTreeClassifier if self.classification else DecisionTreeRegressor
        return estimator(random_state=self.random_state, **self.explainable_model_args)
