"""pellucid: explain machine-learning models, locally and globally, behind one API.

The public names are imported lazily, so ``import pellucid`` stays fast and optional dependencies are only
needed by the explainers that use them.

Examples
--------
>>> from pellucid import TabularExplainer  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pellucid import _extensions
from pellucid._version import __version__
from pellucid.errors import PellucidError
from pellucid.explanation import Explanation

# public name -> module that defines it
_LAZY = {
    "BaseExplainer": "pellucid.explainers.base",
    "LinearExplainer": "pellucid.explainers.linear",
    "TreeExplainer": "pellucid.explainers.tree",
    "KernelExplainer": "pellucid.explainers.kernel",
    "TabularExplainer": "pellucid.explainers.tabular",
    "SamplingPolicy": "pellucid.explainers.tabular",
    "MimicExplainer": "pellucid.explainers.mimic",
    "LGBMExplainableModel": "pellucid.mimic.models",
    "LinearExplainableModel": "pellucid.mimic.models",
    "SGDExplainableModel": "pellucid.mimic.models",
    "DecisionTreeExplainableModel": "pellucid.mimic.models",
    "LIMEExplainer": "pellucid.explainers.lime",
    "PFIExplainer": "pellucid.explainers.pfi",
    "ExplanationDashboard": "pellucid.dashboard",
    "ExplanationClient": "pellucid.store.client",
    "DeepExplainer": "pellucid.explainers.deep",
    "DataFrameMapper": "pellucid.transformations",
    "FeatureMap": "pellucid.transformations",
    "get_feature_map": "pellucid.transformations",
    "raw_explanation": "pellucid.transformations",
    "split_pipeline": "pellucid.transformations",
    "TextExplainer": "pellucid.text.explainer",
    "HANExplainer": "pellucid.text.han",
    "render_text_html": "pellucid.text.render",
    "TextHighlight": "pellucid.text.render",
    "ScoringExplainer": "pellucid.scoring",
    "create_scoring_explainer": "pellucid.scoring",
    "LinearScoringExplainer": "pellucid.scoring",
    "TreeScoringExplainer": "pellucid.scoring",
    "KernelScoringExplainer": "pellucid.scoring",
    "DeepScoringExplainer": "pellucid.scoring",
    "ShapValuesOutput": "pellucid.common.constants",
    "save_explanation": "pellucid.serialization",
    "load_explanation": "pellucid.serialization",
}

if TYPE_CHECKING:  # what editors and type checkers see: the real classes and signatures behind _LAZY
    from pellucid.common.constants import ShapValuesOutput
    from pellucid.dashboard import ExplanationDashboard
    from pellucid.explainers.base import BaseExplainer
    from pellucid.explainers.deep import DeepExplainer
    from pellucid.explainers.kernel import KernelExplainer
    from pellucid.explainers.lime import LIMEExplainer
    from pellucid.explainers.linear import LinearExplainer
    from pellucid.explainers.mimic import MimicExplainer
    from pellucid.explainers.pfi import PFIExplainer
    from pellucid.explainers.tabular import SamplingPolicy, TabularExplainer
    from pellucid.explainers.tree import TreeExplainer
    from pellucid.mimic.models import (
        DecisionTreeExplainableModel,
        LGBMExplainableModel,
        LinearExplainableModel,
        SGDExplainableModel,
    )
    from pellucid.scoring import (
        DeepScoringExplainer,
        KernelScoringExplainer,
        LinearScoringExplainer,
        ScoringExplainer,
        TreeScoringExplainer,
        create_scoring_explainer,
    )
    from pellucid.serialization import load_explanation, save_explanation
    from pellucid.store.client import ExplanationClient
    from pellucid.text.explainer import TextExplainer
    from pellucid.text.han import HANExplainer
    from pellucid.text.render import TextHighlight, render_text_html
    from pellucid.transformations import (
        DataFrameMapper,
        FeatureMap,
        get_feature_map,
        raw_explanation,
        split_pipeline,
    )

__all__ = ["__version__", "Explanation", "PellucidError", *_LAZY]


def _distributed() -> Any:
    import pellucid.distributed

    return pellucid.distributed


def _scoring() -> Any:
    import pellucid.scoring

    return pellucid.scoring


# The explainers reach the layers above them through these doors (see pellucid._extensions).
_extensions.provide("backend:dask", _distributed)
_extensions.provide("scoring", _scoring)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pellucid' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
