"""Surrogate models for MimicExplainer, at the import paths of the old SDK."""

from pellucid.mimic.models.explainable_model import BaseExplainableModel
from pellucid.mimic.models.lightgbm_model import LGBMExplainableModel
from pellucid.mimic.models.linear_model import LinearExplainableModel, SGDExplainableModel
from pellucid.mimic.models.tree_model import DecisionTreeExplainableModel

__all__ = [
    "BaseExplainableModel",
    "LGBMExplainableModel",
    "LinearExplainableModel",
    "SGDExplainableModel",
    "DecisionTreeExplainableModel",
]
