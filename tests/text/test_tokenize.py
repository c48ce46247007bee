"""Tokens keep their spans; sentences; masked copies; reading documents."""

from __future__ import annotations

import numpy as np
import pytest

from pellucid.errors import ArgumentError, DataValueError, EmptyDataError, UnsupportedInputError
from pellucid.text.tokenize import read_documents, rebuild, tokenize, tokenize_all

TEXTS = [
    "Great film. Awful ending!",
    "  Leading spaces, tabs\tand\nnewlines... don't break well-made spans?!  ",
    "Ünïcödé wörds — naïve café; 東京 too.",
    "x",
    "<b>tags</b> & entities &amp; stay text",
]


@pytest.mark.parametrize("text", TEXTS)
def test_spans_line_up_with_the_text(text):
    doc = tokenize(text)
    assert doc.n_tokens == len(doc.tokens) > 0
    for token, start, end in doc.spans():
        assert text[start:end] == token
    assert np.all(doc.starts[1:] >= doc.ends[:-1])
    # Gaps and tokens interleaved give back the text exactly.
    assert rebuild(doc, np.ones((1, doc.n_tokens), dtype=bool))[0] == text


def test_tokens_and_sentences():
    doc = tokenize("Great film. Awful ending! Why? ... Fine")
    assert doc.tokens == ["Great", "film", "Awful", "ending", "Why", "Fine"]
    assert doc.sentence_ids.tolist() == [0, 0, 1, 1, 2, 3]
    assert doc.n_sentences == 4
    assert tokenize("don't stop well-made").tokens == ["don't", "stop", "well-made"]


def test_rebuild_masks_and_removes():
    doc = tokenize("Great film. Awful ending!")
    keep = np.array([[True, False, True, True], [False, False, False, False], [True, True, True, False]])
    assert rebuild(doc, keep, "[MASK]") == [
        "Great [MASK]. Awful ending!", "[MASK] [MASK]. [MASK] [MASK]!", "Great film. Awful [MASK]!"
    ]
    assert rebuild(doc, keep, "") == ["Great . Awful ending!", " .  !", "Great film. Awful !"]
    with pytest.raises(ArgumentError, match="shape"):
        rebuild(doc, np.ones((2, 3), dtype=bool))


def test_custom_pattern():
    doc = tokenize("a1 b2 c3", pattern=r"[a-z]")
    assert doc.tokens == ["a", "b", "c"] and doc.starts.tolist() == [0, 3, 6]
    with pytest.raises(ArgumentError, match="regular expression"):
        tokenize("x", pattern="(")


def test_read_documents():
    assert read_documents("one") == (["one"], True)
    assert read_documents(("a", "b")) == (["a", "b"], False)
    assert read_documents(np.array(["a", "b"], dtype=object)) == (["a", "b"], False)
    with pytest.raises(UnsupportedInputError, match="item 1"):
        read_documents(["a", 3])
    with pytest.raises(UnsupportedInputError, match="bytes"):
        read_documents(b"abc")
    with pytest.raises(UnsupportedInputError, match="sequence of strings"):
        read_documents(42)
    with pytest.raises(UnsupportedInputError, match="1-D"):
        read_documents(np.array([["a"]]))
    with pytest.raises(EmptyDataError):
        read_documents([])


def test_documents_without_tokens_are_refused():
    with pytest.raises(DataValueError, match="document 1 .* has none"):
        tokenize_all(["fine", "  ?! ", ""])
    with pytest.raises(UnsupportedInputError):
        tokenize(None)
