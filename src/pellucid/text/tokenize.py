"""Word tokens that keep their character spans, sentence splitting, and masked copies of a document.

Every explainer in :mod:`pellucid.text` works on the tokens of :func:`tokenize`: regular-expression word
matches, each with its ``start`` and ``end`` offsets in the original text, so ``text[start:end] == token``
always holds and highlights line up with the text the user gave. A *coalition* of tokens is a boolean mask
over them; :func:`rebuild` turns many masks into documents at once, copying the original text between tokens
and replacing each dropped token by ``mask_token`` (``""`` removes it).

Examples
--------
>>> doc = tokenize("Great film. Awful ending!")
>>> doc.tokens
['Great', 'film', 'Awful', 'ending']
>>> doc.sentence_ids.tolist()
[0, 0, 1, 1]
>>> rebuild(doc, np.array([[True, False, True, True]]), "[MASK]")
['Great [MASK]. Awful ending!']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pellucid.errors import ArgumentError, DataValueError, EmptyDataError, UnsupportedInputError, describe

__all__ = [
    "WORD_PATTERN",
    "SENTENCE_END_PATTERN",
    "TokenizedDocument",
    "tokenize",
    "rebuild",
    "read_documents",
    "compile_pattern",
    "tokenize_all",
]

#: Words: runs of letters/digits/underscore, with inner apostrophes or hyphens ("don't", "well-made").
WORD_PATTERN = r"\w+(?:['\u2019-]\w+)*"
#: Sentence ends for the HAN's sentence split: a run of ``.``, ``!`` or ``?``.
SENTENCE_END_PATTERN = r"[.!?]+"


@dataclass(frozen=True)
class TokenizedDocument:
    """A document and its word tokens with character spans.

    Attributes
    ----------
    text : str
        The original document.
    tokens : list of str
        The tokens, in order; ``tokens[i] == text[starts[i]:ends[i]]``.
    starts, ends : ndarray of int64 of shape (n_tokens,)
        Character offsets of each token in ``text``.
    sentence_ids : ndarray of int64 of shape (n_tokens,)
        Sentence index of each token, 0-based and contiguous (sentences without tokens are skipped);
        sentences end at a run of ``.!?``.
    """

    text: str
    tokens: list[str]
    starts: np.ndarray
    ends: np.ndarray
    sentence_ids: np.ndarray
    _gaps: np.ndarray = field(repr=False, compare=False, default=None)

    @property
    def n_tokens(self) -> int:
        """Number of tokens."""
        return len(self.tokens)

    @property
    def n_sentences(self) -> int:
        """Number of sentences holding at least one token."""
        return int(self.sentence_ids[-1]) + 1 if self.n_tokens else 0

    def spans(self) -> list[list[Any]]:
        """Tokens with their spans, ``[[token, start, end], ...]`` (JSON-friendly)."""
        return [[token, int(s), int(e)] for token, s, e in zip(self.tokens, self.starts, self.ends)]

    def gaps(self) -> np.ndarray:
        """The text between tokens, object ndarray of shape (n_tokens + 1,): before the first token, between
        consecutive tokens, after the last."""
        return self._gaps


def compile_pattern(pattern: str | re.Pattern) -> re.Pattern:
    """Compile a token pattern, raising ArgumentError when it is not a valid regular expression."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str) or not pattern:
        raise ArgumentError(f"token_pattern must be a non-empty regular expression string; found {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ArgumentError(f"token_pattern {pattern!r} is not a valid regular expression: {exc}") from exc


def tokenize(document: str, *, pattern: str | re.Pattern = WORD_PATTERN) -> TokenizedDocument:
    """Split a document into word tokens with their character spans and sentence ids.

    Parameters
    ----------
    document : str
        The text.
    pattern : str or compiled regex, default :data:`WORD_PATTERN`
        What a token is; every non-empty match is one token.

    Returns
    -------
    TokenizedDocument
    """
    if not isinstance(document, str):
        raise UnsupportedInputError(f"a document must be a str; found {describe(document)}")
    matches = [m for m in compile_pattern(pattern).finditer(document) if m.end() > m.start()]
    tokens = [m.group() for m in matches]
    starts = np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches))
    ends = np.fromiter((m.end() for m in matches), dtype=np.int64, count=len(matches))
    return TokenizedDocument(
        text=document,
        tokens=tokens,
        starts=starts,
        ends=ends,
        sentence_ids=_sentence_ids(document, starts),
        _gaps=_gaps(document, starts, ends),
    )


def _sentence_ids(document: str, starts: np.ndarray) -> np.ndarray:
    if starts.size == 0:
        return np.zeros(0, dtype=np.int64)
    boundaries = np.fromiter(
        (m.end() for m in re.finditer(SENTENCE_END_PATTERN, document)), dtype=np.int64
    )
    raw = np.searchsorted(boundaries, starts, side="right")
    # Renumber so sentences without tokens (e.g. "...") leave no empty ids.
    return np.unique(raw, return_inverse=True)[1].astype(np.int64).reshape(-1)


def _gaps(document: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    edges_from = np.concatenate([[0], ends])
    edges_to = np.concatenate([starts, [len(document)]])
    gaps = np.empty(len(edges_from), dtype=object)
    gaps[:] = [document[a:b] for a, b in zip(edges_from.tolist(), edges_to.tolist())]
    return gaps


def rebuild(document: TokenizedDocument, keep: np.ndarray, mask_token: str = "") -> list[str]:
    """Documents in which only the kept tokens remain, the others replaced by ``mask_token``.

    The text between tokens (spaces, punctuation) is copied unchanged, so a kept token stays where it was.

    Parameters
    ----------
    document : TokenizedDocument
        The original document.
    keep : ndarray of bool of shape (n_coalitions, n_tokens)
        One coalition per row: True keeps the token.
    mask_token : str, default ""
        What replaces a dropped token; ``""`` removes it.

    Returns
    -------
    list of str, length n_coalitions
    """
    keep = np.asarray(keep, dtype=bool)
    if keep.ndim != 2 or keep.shape[1] != document.n_tokens:
        raise ArgumentError(
            f"keep must have shape (n_coalitions, {document.n_tokens}); found {keep.shape}"
        )
    n_tokens = document.n_tokens
    pieces = np.empty((keep.shape[0], 2 * n_tokens + 1), dtype=object)
    pieces[:, 0::2] = document.gaps()
    tokens = np.empty(n_tokens, dtype=object)
    tokens[:] = document.tokens
    pieces[:, 1::2] = np.where(keep, tokens, mask_token)
    # One C-level join per coalition; the strings cannot be built without visiting each.
    return ["".join(row) for row in pieces.tolist()]


def read_documents(documents: Any, *, name: str = "documents") -> tuple[list[str], bool]:
    """Read one document or a sequence of documents.

    Parameters
    ----------
    documents : str or sequence of str
        A single document, or a list/tuple/ndarray/pandas Series of documents.
    name : str
        Argument name used in error messages.

    Returns
    -------
    (list of str, bool)
        The documents and whether a single document was given.
    """
    if isinstance(documents, str):
        return [documents], True
    if isinstance(documents, bytes):
        raise UnsupportedInputError(f"{name} must be str, not bytes; decode it first (e.g. .decode('utf-8'))")
    if hasattr(documents, "to_numpy") and not isinstance(documents, np.ndarray):
        documents = documents.to_numpy()
    if isinstance(documents, np.ndarray):
        if documents.ndim != 1:
            raise UnsupportedInputError(
                f"{name} must be a string or a 1-D sequence of strings; found an array of shape {documents.shape}"
            )
        documents = documents.tolist()
    if not isinstance(documents, Sequence):
        raise UnsupportedInputError(f"{name} must be a string or a sequence of strings; found {describe(documents)}")
    documents = list(documents)
    if not documents:
        raise EmptyDataError(f"{name} must hold at least one document; found an empty sequence")
    bad = [i for i, d in enumerate(documents) if not isinstance(d, str)]
    if bad:
        raise UnsupportedInputError(
            f"every item of {name} must be a str; item {bad[0]} is {describe(documents[bad[0]])}"
            + (f" ({len(bad)} non-string items in all)" if len(bad) > 1 else "")
        )
    return documents, False


def tokenize_all(
    documents: Sequence[str], *, pattern: str | re.Pattern = WORD_PATTERN, name: str = "documents"
) -> list[TokenizedDocument]:
    """Tokenize documents, raising DataValueError for a document without any token.

    Parameters
    ----------
    documents : sequence of str
    pattern : str or compiled regex
    name : str
        Argument name used in error messages.

    Returns
    -------
    list of TokenizedDocument
    """
    compiled = compile_pattern(pattern)
    tokenized = [tokenize(d, pattern=compiled) for d in documents]
    empty = [i for i, doc in enumerate(tokenized) if doc.n_tokens == 0]
    if empty:
        shown = documents[empty[0]]
        raise DataValueError(
            f"every document must hold at least one word token (pattern {compiled.pattern!r}); "
            f"document {empty[0]} of {name} has none: {shown[:60]!r}"
            + (f" ({len(empty)} such documents)" if len(empty) > 1 else "")
            + ". Remove empty documents before explaining"
        )
    return tokenized
