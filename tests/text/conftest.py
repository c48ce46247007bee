"""Shared corpus and teachers for the text tests (made here, nothing downloaded)."""

from __future__ import annotations

import pytest

from pellucid.testing.text import NEGATIVE_WORDS, POSITIVE_WORDS, make_corpus, train_teacher

PLANTED = frozenset(POSITIVE_WORDS + NEGATIVE_WORDS)


@pytest.fixture(scope="session")
def corpus():
    """300 training documents and their labels."""
    return make_corpus(300, seed=0)


@pytest.fixture(scope="session")
def teacher(corpus):
    """LogisticRegression over CountVectorizer fitted on the corpus."""
    documents, labels = corpus
    return train_teacher(documents, labels)


@pytest.fixture(scope="session")
def fresh_documents():
    """Documents not seen in training."""
    return make_corpus(30, seed=7)[0]
