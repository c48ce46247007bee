"""``create_scoring_explainer``: pick the scoring explainer that matches a fitted explainer."""

from __future__ import annotations

import logging
from typing import Any

from pellucid.errors import ArgumentError
from pellucid.scoring.base import KINDS, ScoringExplainer

__all__ = ["create_scoring_explainer"]

logger = logging.getLogger(__name__)

def create_scoring_explainer(explainer: Any, X: Any = None) -> ScoringExplainer:
    """Build the scoring explainer for a fitted explainer.

    Parameters
    ----------
    explainer : BaseExplainer or TabularExplainer
        A fitted LinearExplainer, TreeExplainer or KernelExplainer, or a TabularExplainer that chose one. A
        MimicExplainer gives the scoring explainer of its surrogate (linear or tree).
    X : array-like of shape (n_rows, n_features), optional
        Data for the scoring explainer's reference: the mean for a linear model, the background for Kernel SHAP
        (summarised like the explainer's), the interventional background for trees. Default: the explainer's own.

    Returns
    -------
    ScoringExplainer
        LinearScoringExplainer, TreeScoringExplainer or KernelScoringExplainer.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from pellucid.explainers.linear import LinearExplainer
    >>> X = np.arange(12.0).reshape(6, 2); y = X @ [1.0, 2.0]
    >>> create_scoring_explainer(LinearExplainer(Ridge().fit(X, y), X)).kind
    'linear'
    """
    direct = getattr(explainer, "explainer", explainer)  # TabularExplainer -> its direct explainer
    subset = getattr(explainer, "explain_subset", None)
    name = type(direct).__name__
    kind = getattr(direct, "scoring_kind", None)
    if kind == "surrogate":  # a MimicExplainer: the scoring explainer of its surrogate
        return _for_mimic(direct, X)
    if kind not in KINDS:
        raise ArgumentError(
            f"no scoring explainer for {name}; create_scoring_explainer takes a LinearExplainer, TreeExplainer, "
            f"KernelExplainer, DeepExplainer or MimicExplainer (or a TabularExplainer that chose one)"
        )
    scoring = KINDS[kind](direct, X)
    if subset is not None:
        note = (
            f"the TabularExplainer's explain_subset ({len(subset)} features) is not applied: the scoring explainer "
            "explains every feature, so values add up to the model output"
        )
        scoring.notes.append(note)
        logger.warning(note)
    return scoring


def _for_mimic(mimic: Any, X: Any) -> ScoringExplainer:
    """The scoring explainer of a MimicExplainer's surrogate (linear or tree), which it explains exactly."""
    inner = getattr(mimic, "surrogate_explainer", None)
    if inner is None:
        raise ArgumentError("the MimicExplainer has no fitted surrogate explainer; construct it before scoring")
    scoring = create_scoring_explainer(inner, X)
    scoring.features = list(mimic.features)
    surrogate = type(getattr(mimic, "surrogate", None)).__name__
    fidelity = getattr(mimic, "fidelity", None)
    note = (
        f"explains the {surrogate} surrogate that mimics the model (held-out fidelity {fidelity}); predictions are "
        "the surrogate's: pass the model to the service for the model's own predictions"
    )
    scoring.notes.append(note)
    logger.info(note)
    return scoring
