"""The old SDK's import path: ``azureml.interpret.scoring.scoring_explainer`` becomes this module.

>>> from pellucid.scoring.scoring_explainer import KernelScoringExplainer, save, load  # doctest: +SKIP
"""

from __future__ import annotations

from pellucid.scoring import (
    DeepScoringExplainer,
    KernelScoringExplainer,
    LinearScoringExplainer,
    ScoringExplainer,
    TreeScoringExplainer,
    create_scoring_explainer,
    load,
    save,
)

__all__ = [
    "ScoringExplainer",
    "KernelScoringExplainer",
    "TreeScoringExplainer",
    "LinearScoringExplainer",
    "DeepScoringExplainer",
    "create_scoring_explainer",
    "save",
    "load",
]
