"""LightGBM surrogate (import path of the old SDK: ``...mimic.models.lightgbm_model``)."""

from __future__ import annotations

from typing import Any

from pellucid.errors import require
from pellucid.mimic.models.explainable_model import BaseExplainableModel

__all__ = ["LGBMExplainableModel"]


class LGBMExplainableModel(BaseExplainableModel):
    """A LightGBM surrogate, explained exactly with TreeSHAP. Needs ``pip install "pellucid[lightgbm]"``."""

    explainer_kind = "tree"
    method = "lightgbm"
    defaults = {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "verbose": -1, "n_jobs": 1}

    def _estimator(self) -> Any:
        lightgbm = require("lightgbm", "lightgbm")
        estimator = lightgbm.LGBMClassifier if self.classification else lightgbm.LGBMRegressor
        return estimator(random_state=self.random_state, **self.explainable_model_args)
