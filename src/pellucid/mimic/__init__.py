"""The old SDK's ``mimic`` package paths: surrogate models and ``mimic_explainer.MimicExplainer``."""
