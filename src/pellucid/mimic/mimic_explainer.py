"""The old SDK's import path of MimicExplainer (``...mimic.mimic_explainer.MimicExplainer``)."""

from pellucid.explainers.mimic import MimicExplainer

__all__ = ["MimicExplainer"]
