"""Explanation history on MLflow: upload, list and download explanations on a run.

>>> from pellucid.store import ExplanationClient                 # doctest: +SKIP
>>> client = ExplanationClient.create_run("my-experiment")      # doctest: +SKIP
>>> explanation_id = client.upload_model_explanation(explanation, top_k=5, comment="baseline")  # doctest: +SKIP
>>> client.download_model_explanation(explanation_id)           # doctest: +SKIP

Importing this package does not import MLflow; the client imports it on first use.
"""

from __future__ import annotations

from pellucid.store.client import ARTIFACT_ROOT, DEFAULT_EXPERIMENT, ExplanationClient
from pellucid.store.topk import kept_mask, trim_top_k

__all__ = ["ExplanationClient", "trim_top_k", "kept_mask", "ARTIFACT_ROOT", "DEFAULT_EXPERIMENT"]
