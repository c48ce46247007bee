"""Global word importances from per-document token explanations.

Aggregation, per word (a token's text, lower-cased unless ``case_sensitive``) and output:

1. within a document, the values of the word's occurrences are summed (its total effect in that document);
2. the word's global value is the mean, over the documents that contain it, of the absolute summed value.

So a word is judged only where it occurs: a rare but decisive word is not diluted by the documents without
it. The number of documents containing each word is kept beside the values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["WordImportance", "aggregate_by_word", "AGGREGATION"]

AGGREGATION = (
    "per document, the values of a word's occurrences are summed; the word's global value is the mean, over "
    "the documents that contain it, of the absolute summed value (per output)"
)


@dataclass
class WordImportance:
    """Aggregated word importances.

    Attributes
    ----------
    words : list of str, length n_words
        The vocabulary seen, most important first (importance = mean of ``values`` over outputs).
    values : ndarray of shape (n_words, n_outputs)
    document_frequency : ndarray of int64 of shape (n_words,)
        Documents containing each word.
    """

    words: list[str]
    values: np.ndarray
    document_frequency: np.ndarray


def aggregate_by_word(
    tokens: Sequence[Sequence[str]], local_values: Sequence[np.ndarray], *, case_sensitive: bool = False
) -> WordImportance:
    """Aggregate per-document token values over the vocabulary (see the module docstring).

    Parameters
    ----------
    tokens : sequence of sequences of str
        Each document's tokens.
    local_values : sequence of ndarray, each of shape (n_tokens_d, n_outputs)
        Each document's token values.
    case_sensitive : bool, default False
        Keep "Great" and "great" apart.

    Returns
    -------
    WordImportance
    """
    counts = np.array([len(t) for t in tokens], dtype=np.int64)
    words = np.empty(int(counts.sum()), dtype=object)
    words[:] = [w if case_sensitive else w.lower() for doc in tokens for w in doc]
    values = np.concatenate([np.asarray(v, dtype=np.float64) for v in local_values], axis=0)
    vocabulary, word_ids = np.unique(words, return_inverse=True)
    word_ids = word_ids.reshape(-1)
    n_words = len(vocabulary)
    doc_ids = np.repeat(np.arange(len(counts)), counts)
    # Sum occurrences per (document, word), then average |sum| over the documents holding the word.
    pairs, pair_ids = np.unique(doc_ids * n_words + word_ids, return_inverse=True)
    pair_ids = pair_ids.reshape(-1)
    per_document = np.zeros((len(pairs), values.shape[1]))
    np.add.at(per_document, pair_ids, values)
    pair_words = pairs % n_words
    frequency = np.bincount(pair_words, minlength=n_words)
    totals = np.zeros((n_words, values.shape[1]))
    np.add.at(totals, pair_words, np.abs(per_document))
    global_values = totals / frequency[:, None]
    order = np.argsort(-global_values.mean(axis=1), kind="stable")
    return WordImportance(
        words=[str(w) for w in vocabulary[order]],
        values=global_values[order],
        document_frequency=frequency[order].astype(np.int64),
    )
