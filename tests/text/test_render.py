"""HTML highlighting: spans line up with the original text, everything is escaped, bad input is refused."""

from __future__ import annotations

import html
from html.parser import HTMLParser

import numpy as np
import pytest

from pellucid.errors import ArgumentError, DataValueError, UnsupportedInputError
from pellucid.explanation import Explanation
from pellucid.text.render import TextHighlight, render_text_html
from pellucid.text.tokenize import tokenize

DOCUMENT = 'Great <script>alert("x")</script> film & "cast"\n  — awful ending!'


def make_explanation(document: str = DOCUMENT, *, output: tuple[float, float] = (0.2, 0.8)) -> Explanation:
    doc = tokenize(document)
    values = np.linspace(-1.0, 1.0, doc.n_tokens)
    return Explanation(
        method="text_kernel_shap", task="classification", features=doc.tokens, classes=["neg", "pos"],
        local_values=np.stack([-values, values], axis=1)[None], expected_values=np.array([0.5, 0.5]),
        model_output=np.array([output]), meta={"tokens": doc.spans(), "document": document},
    )


class _Collector(HTMLParser):
    """Collects the body text and the text of each highlighted token."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.body, self.tokens, self.tags = [], [], []
        self._in_body, self._in_token = 0, False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if attributes.get("class") == "pellucid-text-body":
            self._in_body = 1
        elif self._in_body:
            self._in_body += 1
            self._in_token = attributes.get("class") == "pellucid-token"
            self.tokens.append(["", float(attributes["data-value"])])

    def handle_endtag(self, tag):
        if self._in_body:
            self._in_body -= 1
            self._in_token = False

    def handle_data(self, data):
        if self._in_body:
            self.body.append(data)
            if self._in_token:
                self.tokens[-1][0] += data


def test_highlights_line_up_and_text_is_escaped():
    explanation = make_explanation()
    page = render_text_html(explanation)
    assert "<script" not in page and all(entity in page for entity in ("&lt;", "&gt;", "&amp;", "&quot;"))
    parser = _Collector()
    parser.feed(page)
    assert parser.tags.count("script") == 0
    # The visible text is exactly the document, and each highlighted piece is one token with its value.
    assert "".join(parser.body) == DOCUMENT
    assert [t for t, _ in parser.tokens] == explanation.features
    np.testing.assert_allclose([v for _, v in parser.tokens], explanation.local_values[0, :, 1], rtol=1e-5)


def test_class_choice_colours():
    explanation = make_explanation()
    default = render_text_html(explanation)  # predicted class "pos"
    assert "class: pos" in default
    negative = render_text_html(explanation, class_index=0)
    assert "class: neg" in negative and negative != default
    # The strongest token is fully opaque at the maximum alpha; a zero value is transparent.
    assert "0.800)" in default
    with pytest.raises(ArgumentError, match="class_index"):
        render_text_html(explanation, class_index=2)


def test_classes_and_methods_are_escaped():
    explanation = make_explanation()
    explanation.classes = ["<i>neg</i>", "<b>pos</b>"]
    page = render_text_html(explanation)
    assert "<b>pos</b>" not in page and html.escape("<b>pos</b>") in page


def test_wrong_document_and_wrong_input():
    explanation = make_explanation()
    with pytest.raises(DataValueError, match="spans must match"):
        render_text_html(explanation, document="Something else entirely, longer than the original text is")
    with pytest.raises(DataValueError, match="spans must match"):
        render_text_html(explanation, document="short")
    with pytest.raises(UnsupportedInputError, match="one at a time"):
        render_text_html([explanation, explanation])
    with pytest.raises(UnsupportedInputError):
        render_text_html(explanation, document=42)
    no_spans = Explanation(method="m", task="regression", features=["a"], local_values=np.ones((1, 1, 1)))
    with pytest.raises(ArgumentError, match="meta\\['tokens'\\]"):
        render_text_html(no_spans, document="a")


def test_text_highlight_displays_in_jupyter(tmp_path):
    explanation = make_explanation()
    highlight = TextHighlight(explanation)
    assert highlight._repr_html_() == render_text_html(explanation)
    path = highlight.save(tmp_path / "page.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_renders_a_real_explanation(teacher):
    from pellucid.text.explainer import TextExplainer

    document = "An <em>excellent</em> plot & a dreadful end."
    explanation = TextExplainer(teacher).explain_local(document)
    parser = _Collector()
    parser.feed(render_text_html(explanation, document))
    assert "".join(parser.body) == document
    assert [t for t, _ in parser.tokens] == explanation.features
