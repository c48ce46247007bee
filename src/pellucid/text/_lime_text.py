"""LIME for text: token weights from a weighted ridge over random token removals (Ribeiro et al. 2016).

For a document of ``M`` tokens, ``n_samples - 1`` coalitions each remove between 1 and ``M`` tokens (the
count drawn uniformly, then the tokens), plus the original document. Each sample is weighted by an
exponential kernel of the fraction ``d`` of tokens it removed, ``exp(-d**2 / (2 * kernel_width**2))``, and a
ridge regression with intercept of the model's output on the binary "token kept" indicators gives each
token's weight. The ridge is the shared batched one of :mod:`pellucid.explainers._lime_ridge`.

All documents with the same number of tokens share the same samples (drawn from a generator seeded by
``(seed, M)``, so a document's explanation does not depend on which documents it is explained with), hence
the same design and kernel weights: their ridge fits differ only in the targets and are solved as one
system with many right-hand sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pellucid.explainers._lime_ridge import fit_ridge, weighted_moments
from pellucid.text._model import DocumentModel
from pellucid.text._perturb import evaluate_coalitions, sample_removals
from pellucid.text.tokenize import TokenizedDocument

__all__ = ["LimeTextResult", "explain_lime", "lime_kernel"]


@dataclass
class LimeTextResult:
    """LIME results for documents of the same length.

    Attributes
    ----------
    values : ndarray of shape (n_documents, n_tokens, n_outputs)
        Ridge weights of the tokens.
    intercepts : ndarray of shape (n_documents, n_outputs)
    scores : ndarray of shape (n_documents, n_outputs)
        Weighted R^2 of each fit on its samples.
    local_predictions : ndarray of shape (n_documents, n_outputs)
        The ridge's prediction for the full document (intercept + sum of values).
    full_outputs, empty_outputs : ndarray of shape (n_documents, n_outputs)
        Model output on the document and on its fully masked copy.
    n_samples : int
        Coalitions evaluated per document (the original and the fully masked document included).
    """

    values: np.ndarray
    intercepts: np.ndarray
    scores: np.ndarray
    local_predictions: np.ndarray
    full_outputs: np.ndarray
    empty_outputs: np.ndarray
    n_samples: int


def lime_kernel(removed_fraction: np.ndarray, kernel_width: float) -> np.ndarray:
    """Sample weights ``exp(-d**2 / (2 * kernel_width**2))`` of the fraction ``d`` of removed tokens."""
    return np.exp(-(removed_fraction**2) / (2.0 * kernel_width**2))


def explain_lime(
    model: DocumentModel,
    documents: Sequence[TokenizedDocument],
    *,
    n_samples: int,
    seed: int,
    kernel_width: float,
    alpha: float,
    mask_token: str,
) -> LimeTextResult:
    """LIME weights for documents that all have the same number of tokens.

    Parameters
    ----------
    model : DocumentModel
    documents : sequence of TokenizedDocument, length n_documents, each with n_tokens tokens
    n_samples : int
        Samples per document, the original document included (at least 2).
    seed : int
    kernel_width : float
        Width of the exponential kernel on the removed fraction.
    alpha : float
        Ridge penalty.
    mask_token : str

    Returns
    -------
    LimeTextResult
    """
    n_tokens = documents[0].n_tokens
    n_documents, n_outputs = len(documents), model.n_outputs
    rng = np.random.default_rng((int(seed), n_tokens))
    keep = np.concatenate(
        [np.ones((1, n_tokens), dtype=bool), sample_removals(n_tokens, n_samples - 1, rng)]
    )
    # The fully masked document (the expected value) is evaluated with the samples, in the same calls.
    outputs = evaluate_coalitions(model, documents, np.concatenate([keep, np.zeros((1, n_tokens), bool)]), mask_token)
    empty_outputs = outputs[:, -1]
    outputs = outputs[:, :-1]
    weights = lime_kernel(1.0 - keep.mean(axis=1), kernel_width)
    # Shared design and weights: one system whose right-hand sides are every document's every output.
    targets = outputs.transpose(1, 0, 2).reshape(1, keep.shape[0], n_documents * n_outputs)
    moments = weighted_moments(keep[None].astype(np.float64), weights[None], targets)
    fit = fit_ridge(moments, np.ones((1, n_tokens)), alpha=alpha)
    values = fit.coefficients[0].reshape(n_tokens, n_documents, n_outputs).transpose(1, 0, 2)
    return LimeTextResult(
        values=values,
        intercepts=fit.intercepts.reshape(n_documents, n_outputs),
        scores=fit.scores.reshape(n_documents, n_outputs),
        local_predictions=fit.local_predictions.reshape(n_documents, n_outputs),
        full_outputs=outputs[:, 0],
        empty_outputs=empty_outputs,
        n_samples=keep.shape[0] + 1,
    )
