"""Kernel SHAP for text: Shapley values of tokens, a coalition keeping some tokens and masking the others.

The game of a document is ``v(S) = f(document with only the tokens of S kept)``; ``v(empty)`` is the fully
masked document, which is the explanation's expected value, and ``v(all)`` the document itself, so the values
add up: ``sum(values) + expected = f(document)``. The coalitions, their kernel weights and the constrained
weighted least squares are the shared ones of :mod:`pellucid.shapley`: when every coalition fits the budget
they are all enumerated and the values are exact Shapley values; otherwise strata of coalition sizes are
enumerated or sampled in complementary pairs and each value gets a standard error.

All documents with the same number of tokens share one coalition plan (seeded by ``(seed, M)``, so a
document's explanation does not depend on which documents it is explained with): their regressions share
the design and are solved in one call with every document's every output as a target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pellucid.shapley import CoalitionPlan, solve_shapley_regression
from pellucid.text._model import DocumentModel
from pellucid.text._perturb import evaluate_coalitions
from pellucid.text.tokenize import TokenizedDocument

__all__ = ["KernelTextResult", "explain_kernel", "max_coalitions"]


@dataclass
class KernelTextResult:
    """Kernel SHAP results for documents of the same length.

    Attributes
    ----------
    values : ndarray of shape (n_documents, n_tokens, n_outputs)
        Shapley values (exact when ``exact``).
    standard_errors : ndarray of shape (n_documents, n_tokens, n_outputs) or None
        Standard errors of sampled values; None when exact.
    full_outputs, empty_outputs : ndarray of shape (n_documents, n_outputs)
        Model output on the document and on its fully masked copy.
    n_coalitions : int
        Coalitions evaluated per document, the full and the fully masked document included.
    exact : bool
        True when every coalition was enumerated.
    """

    values: np.ndarray
    standard_errors: np.ndarray | None
    full_outputs: np.ndarray
    empty_outputs: np.ndarray
    n_coalitions: int
    exact: bool


def max_coalitions(n_tokens: int) -> float:
    """Number of proper non-empty coalitions of ``n_tokens`` tokens, ``2**n_tokens - 2``."""
    return 2.0**n_tokens - 2


def explain_kernel(
    model: DocumentModel,
    documents: Sequence[TokenizedDocument],
    *,
    budget: int,
    seed: int,
    mask_token: str,
    allocation: str = "uniform",
) -> KernelTextResult:
    """Kernel SHAP values of the tokens of documents that all have the same number (at least 2) of tokens.

    Parameters
    ----------
    model : DocumentModel
    documents : sequence of TokenizedDocument, length n_documents, each with n_tokens >= 2 tokens
    budget : int
        Coalitions to evaluate besides the full and the fully masked document.
    seed : int
    mask_token : str
    allocation : {"uniform", "kernel", "sqrt"}, default "uniform"
        How sampled coalitions are spread over coalition sizes (see :data:`pellucid.shapley.ALLOCATIONS`);
        "uniform" (the regression's leverage scores) is also KernelExplainer's default.

    Returns
    -------
    KernelTextResult
    """
    n_tokens = documents[0].n_tokens
    n_documents, n_outputs = len(documents), model.n_outputs
    plan = CoalitionPlan(n_tokens, allocation=allocation, seed=np.random.default_rng((int(seed), n_tokens)))
    masks = plan.start(int(min(budget, max_coalitions(n_tokens))))
    keep = np.concatenate([np.ones((1, n_tokens), bool), np.zeros((1, n_tokens), bool), masks])
    outputs = evaluate_coalitions(model, documents, keep, mask_token)
    full_outputs, empty_outputs = outputs[:, 0], outputs[:, 1]
    gains = (outputs[:, 2:] - empty_outputs[:, None, :]).transpose(1, 0, 2).reshape(masks.shape[0], -1)
    totals = (full_outputs - empty_outputs).reshape(-1)
    solved = solve_shapley_regression(masks, plan.weights(), gains, totals, plan=plan)
    values = solved.values.reshape(n_documents, n_outputs, n_tokens).transpose(0, 2, 1)
    errors = None
    if not plan.is_exact and solved.standard_errors is not None:
        errors = solved.standard_errors.reshape(n_documents, n_outputs, n_tokens).transpose(0, 2, 1)
    return KernelTextResult(
        values=values,
        standard_errors=errors,
        full_outputs=full_outputs,
        empty_outputs=empty_outputs,
        n_coalitions=keep.shape[0],
        exact=plan.is_exact,
    )
