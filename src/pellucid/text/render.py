"""HTML highlighting of an explained document, for Jupyter and the dashboard.

:func:`render_text_html` returns an HTML fragment of the original document in which each token's background
is coloured by its value for one class: red pushes the class's output up, blue pushes it down, and the
opacity grows with ``|value|`` (relative to the largest in the document). The token spans in
``meta["tokens"]`` place every highlight on exactly the characters of its token; all text is HTML-escaped.
:class:`TextHighlight` wraps the fragment with ``_repr_html_``, so it displays in a notebook cell.

Examples
--------
>>> from pellucid.explanation import Explanation
>>> import numpy as np
>>> e = Explanation(method="demo", task="regression", features=["good", "<b>"],
...                 local_values=np.array([[[0.5], [-0.1]]]), expected_values=np.array([0.0]),
...                 meta={"tokens": [["good", 0, 4], ["<b>", 5, 8]], "document": "good <b>"})
>>> "&lt;b&gt;" in render_text_html(e)
True
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from pellucid.errors import ArgumentError, DataValueError, UnsupportedInputError, describe
from pellucid.explanation import CLASSIFICATION, Explanation

__all__ = ["render_text_html", "TextHighlight", "token_spans", "show"]

_POSITIVE_RGB = (220, 38, 38)
_NEGATIVE_RGB = (37, 99, 235)
_MAX_ALPHA = 0.8


def token_spans(explanation: Explanation) -> list[tuple[str, int, int]]:
    """The ``(token, start, end)`` spans stored in a text explanation's meta.

    Parameters
    ----------
    explanation : Explanation
        A local text explanation (one document) with ``meta["tokens"]``.

    Returns
    -------
    list of (str, int, int), one per feature
    """
    if not isinstance(explanation, Explanation):
        raise UnsupportedInputError(
            f"expected one pellucid Explanation of a document; found {describe(explanation)}"
            + (" (explain_local returns a list for several documents: render them one at a time)"
               if isinstance(explanation, list) else "")
        )
    spans = explanation.meta.get("tokens")
    if not isinstance(spans, list) or len(spans) != explanation.n_features:
        raise ArgumentError(
            f"a text explanation keeps one [token, start, end] per feature in meta['tokens']; this "
            f"{explanation.method} explanation has {'none' if spans is None else len(spans)} for "
            f"{explanation.n_features} features"
        )
    return [(str(t), int(s), int(e)) for t, s, e in spans]


def render_text_html(explanation: Explanation, document: str | None = None, class_index: int | None = None) -> str:
    """The document as HTML with each token highlighted by its value.

    Parameters
    ----------
    explanation : Explanation
        A local explanation of one document from TextExplainer or HANExplainer (``local_values`` of shape
        (1, n_tokens, n_outputs) and the token spans in ``meta["tokens"]``).
    document : str, optional
        The explained document; default ``meta["document"]``. Its text at every span must be the token.
    class_index : int, optional
        Output whose values colour the tokens; default the class with the highest model output
        (0 for a regressor).

    Returns
    -------
    str
        An HTML fragment (a ``<div>``), every piece of text escaped.
    """
    spans = token_spans(explanation)
    if explanation.local_values is None or explanation.n_rows != 1:
        raise ArgumentError(
            f"render_text_html shows the local values of one document; this explanation has "
            f"{'no local values' if explanation.local_values is None else f'{explanation.n_rows} rows'}"
        )
    if document is None:
        document = explanation.meta.get("document")
        if not isinstance(document, str):
            raise ArgumentError("pass the explained document: this explanation does not keep it in meta['document']")
    elif not isinstance(document, str):
        raise UnsupportedInputError(f"document must be a str; found {describe(document)}")
    _check_spans(spans, document)
    output = _pick_output(explanation, class_index)
    values = explanation.local_values[0, :, output]
    scale = float(np.max(np.abs(values))) if values.size else 0.0
    alphas = np.zeros_like(values) if scale == 0 else _MAX_ALPHA * np.abs(values) / scale
    pieces, position = [], 0
    for (token, start, end), value, alpha in zip(spans, values.tolist(), alphas.tolist()):
        pieces.append(html.escape(document[position:start]))
        rgb = _POSITIVE_RGB if value >= 0 else _NEGATIVE_RGB
        pieces.append(
            f'<span class="pellucid-token" title="{html.escape(token)}: {value:+.4g}" data-value="{value:.6g}" '
            f'style="background-color: rgba({rgb[0]}, {rgb[1]}, {rgb[2]}, {alpha:.3f}); border-radius: 3px">'
            f"{html.escape(document[start:end])}</span>"
        )
        position = end
    pieces.append(html.escape(document[position:]))
    return (
        '<div class="pellucid-text" style="font-family: system-ui, sans-serif; line-height: 1.7">'
        f"{_header(explanation, output)}"
        '<div class="pellucid-text-body" style="white-space: pre-wrap">' + "".join(pieces) + "</div></div>"
    )


def _check_spans(spans: list[tuple[str, int, int]], document: str) -> None:
    for index, (token, start, end) in enumerate(spans):
        if not 0 <= start <= end <= len(document) or document[start:end] != token:
            raise DataValueError(
                f"the token spans must match the document: token {index} is {token!r} at [{start}:{end}] but the "
                f"document ({len(document)} characters) has {document[start:end]!r} there. Pass the document that "
                "was explained"
            )


def _pick_output(explanation: Explanation, class_index: int | None) -> int:
    if class_index is None:
        if explanation.task == CLASSIFICATION and explanation.model_output is not None:
            return int(np.argmax(explanation.model_output[0]))
        return 0
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)) or not (
        0 <= class_index < explanation.n_outputs
    ):
        raise ArgumentError(
            f"class_index must be an integer in [0, {explanation.n_outputs}); found {class_index!r}"
        )
    return int(class_index)


def _header(explanation: Explanation, output: int) -> str:
    parts = [f"method: {html.escape(explanation.method)}"]
    if explanation.classes is not None:
        parts.append(f"class: {html.escape(str(explanation.classes[output]))}")
    if explanation.model_output is not None:
        parts.append(f"model output: {explanation.model_output[0, output]:.4g}")
    if explanation.expected_values_array is not None:
        parts.append(f"expected value: {explanation.expected_values_array[output]:.4g}")
    legend = (
        f'<span style="background-color: rgba({", ".join(map(str, _POSITIVE_RGB))}, 0.5)">raises</span> / '
        f'<span style="background-color: rgba({", ".join(map(str, _NEGATIVE_RGB))}, 0.5)">lowers</span> the output'
    )
    return (
        '<div class="pellucid-text-header" style="font-size: 0.85em; color: #555">'
        + " &middot; ".join(parts) + f" &middot; {legend}</div>"
    )


class TextHighlight:
    """A highlighted document that displays itself in Jupyter.

    Parameters
    ----------
    explanation : Explanation
        A local text explanation of one document.
    document : str, optional
        The explained document; default ``meta["document"]``.
    class_index : int, optional
        Output to colour by; default the predicted class.

    Attributes
    ----------
    html : str
        The HTML fragment of :func:`render_text_html`.
    """

    def __init__(self, explanation: Explanation, document: str | None = None, class_index: int | None = None) -> None:
        self.html = render_text_html(explanation, document, class_index)

    def _repr_html_(self) -> str:
        return self.html

    def save(self, path: str | Path) -> Path:
        """Write a standalone HTML page holding the highlight; returns the path."""
        path = Path(path)
        path.write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>pellucid text explanation</title></head>'
            f"<body>{self.html}</body></html>",
            encoding="utf-8",
        )
        return path

    def __repr__(self) -> str:
        return f"TextHighlight({len(self.html)} characters of HTML)"


def show(explanation: Any, document: str | None = None, class_index: int | None = None) -> TextHighlight:
    """Shortcut for :class:`TextHighlight` (the last expression of a notebook cell displays it)."""
    return TextHighlight(explanation, document, class_index)
