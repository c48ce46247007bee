"""Perturbed copies of documents: random token removals, and the model's output on many coalitions at once.

:func:`evaluate_coalitions` evaluates the same coalition masks on several documents with the same number
of tokens. The perturbed documents are rebuilt from the original text (:func:`~pellucid.text.tokenize.rebuild`)
one bounded chunk at a time, and each chunk goes to the model in one call, so memory stays bounded by
``batch_size`` documents whatever the number of coalitions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pellucid.text._model import DocumentModel
from pellucid.text.tokenize import TokenizedDocument, rebuild

__all__ = ["evaluate_coalitions", "sample_removals"]


def evaluate_coalitions(
    model: DocumentModel, documents: Sequence[TokenizedDocument], keep: np.ndarray, mask_token: str
) -> np.ndarray:
    """Model output on every coalition of every document.

    Parameters
    ----------
    model : DocumentModel
        The text model.
    documents : sequence of TokenizedDocument, length n_documents
        Documents that all have ``n_tokens`` tokens.
    keep : ndarray of bool of shape (n_coalitions, n_tokens)
        Coalitions: True keeps the token, False replaces it by ``mask_token``.
    mask_token : str
        Replacement of a dropped token (``""`` removes it).

    Returns
    -------
    ndarray of shape (n_documents, n_coalitions, n_outputs)
    """
    n_documents, n_coalitions = len(documents), keep.shape[0]
    outputs = np.empty((n_documents * n_coalitions, model.n_outputs))
    step = model.batch_size
    for start in range(0, n_documents * n_coalitions, step):  # one model call per bounded chunk
        stop = min(start + step, n_documents * n_coalitions)
        texts: list[str] = []
        for doc_index in range(start // n_coalitions, (stop - 1) // n_coalitions + 1):
            first = max(start - doc_index * n_coalitions, 0)
            last = min(stop - doc_index * n_coalitions, n_coalitions)
            texts.extend(rebuild(documents[doc_index], keep[first:last], mask_token))
        outputs[start:stop] = model.predict(texts)
    return outputs.reshape(n_documents, n_coalitions, model.n_outputs)


def sample_removals(n_tokens: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Random coalitions that drop between 1 and ``n_tokens`` tokens, the count drawn uniformly.

    This is LIME's text neighbourhood: pick how many tokens to remove uniformly, then which ones uniformly.

    Parameters
    ----------
    n_tokens : int
        Tokens in the document.
    n_samples : int
        Coalitions to draw.
    rng : numpy Generator

    Returns
    -------
    ndarray of bool of shape (n_samples, n_tokens)
        True keeps the token.
    """
    n_removed = rng.integers(1, n_tokens + 1, size=n_samples)
    ranks = np.argsort(np.argsort(rng.random((n_samples, n_tokens)), axis=1), axis=1)
    return ranks >= n_removed[:, None]
