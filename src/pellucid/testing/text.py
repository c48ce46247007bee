"""A synthetic text corpus with planted sentiment words, and teachers whose decision depends on them.

Documents are sentences of neutral filler words into which positive (:data:`POSITIVE_WORDS`) and negative
(:data:`NEGATIVE_WORDS`) words are planted; the label says which kind is more frequent (a coin flip on
ties). Two teachers read them: a LogisticRegression over a CountVectorizer trained on the labels, and a plain
function whose probability is ``sigmoid(2 * (positives - negatives))``. Nothing is downloaded.

Examples
--------
>>> documents, labels = make_corpus(20, seed=1)
>>> planted_word_model(["An excellent plot."]).round(3).tolist()
[[0.119, 0.881]]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = [
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "FILLER_WORDS",
    "make_corpus",
    "train_teacher",
    "planted_word_model",
]

POSITIVE_WORDS = ("excellent", "wonderful", "superb")
NEGATIVE_WORDS = ("awful", "terrible", "dreadful")
FILLER_WORDS = tuple(
    "the a film movie plot actor actress scene story camera music score director script ending start "
    "character dialogue city night day house car road window garden river table letter friend family "
    "brother sister mother father teacher doctor and of to in on with for from by about after before "
    "then while once long short old new red blue green quiet loud early late".split()
)
_WORD = re.compile(r"\w+")
_POSITIVE = frozenset(POSITIVE_WORDS)
_NEGATIVE = frozenset(NEGATIVE_WORDS)


def make_corpus(n_documents: int = 300, *, seed: int = 0, max_sentences: int = 3) -> tuple[list[str], np.ndarray]:
    """Synthetic documents with planted positive/negative words, and their labels.

    Parameters
    ----------
    n_documents : int
        Documents to make.
    seed : int
        Random seed.
    max_sentences : int
        Each document has 1 to ``max_sentences`` sentences of 4 to 9 filler words.

    Returns
    -------
    (list of str, ndarray of int of shape (n_documents,))
        Documents and labels (1 when positive words outnumber negative ones).
    """
    rng = np.random.default_rng(seed)
    documents, labels = [], np.zeros(n_documents, dtype=np.int64)
    for index in range(n_documents):
        sentences = [list(rng.choice(FILLER_WORDS, size=rng.integers(4, 10))) for _ in range(rng.integers(1, max_sentences + 1))]
        n_positive, n_negative = rng.integers(0, 3, size=2)
        planted = list(rng.choice(POSITIVE_WORDS, n_positive)) + list(rng.choice(NEGATIVE_WORDS, n_negative))
        for word in planted:
            sentence = sentences[rng.integers(len(sentences))]
            sentence.insert(rng.integers(len(sentence) + 1), word)
        ends = rng.choice([".", "!", "?"], size=len(sentences), p=[0.8, 0.1, 0.1])
        documents.append(" ".join(" ".join(s).capitalize() + end for s, end in zip(sentences, ends)))
        labels[index] = 1 if n_positive > n_negative else 0 if n_negative > n_positive else rng.integers(2)
    return documents, labels


def train_teacher(documents: Sequence[str], labels: np.ndarray):
    """A LogisticRegression over a CountVectorizer (an sklearn Pipeline) fitted on the documents."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(CountVectorizer(), LogisticRegression(C=1.0, max_iter=2000)).fit(list(documents), labels)


def planted_word_model(documents: Sequence[str]) -> np.ndarray:
    """Probabilities ``[1 - p, p]`` with ``p = sigmoid(2 * (positive words - negative words))``.

    Parameters
    ----------
    documents : sequence of str

    Returns
    -------
    ndarray of shape (n_documents, 2)
    """
    if isinstance(documents, str) or not all(isinstance(d, str) for d in documents):
        raise TypeError("planted_word_model takes a list of str")
    scores = np.array([
        sum((w in _POSITIVE) - (w in _NEGATIVE) for w in _WORD.findall(d.lower())) for d in documents
    ], dtype=np.float64)
    positive = 1.0 / (1.0 + np.exp(-2.0 * scores))
    return np.column_stack([1.0 - positive, positive])
