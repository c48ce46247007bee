"""Text explanations: word-level TextExplainer (Kernel SHAP / LIME by token masking), the HAN surrogate
explainer, and HTML highlighting of explained documents.

Names are imported lazily: ``HANExplainer`` needs torch (``pip install "pellucid[text]"``), the others do not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TextExplainer", "HANExplainer", "render_text_html", "TextHighlight", "TokenizedDocument"]


def __getattr__(name: str) -> Any:
    if name == "TextExplainer":
        from pellucid.text.explainer import TextExplainer as value
    elif name == "HANExplainer":
        from pellucid.text.han import HANExplainer as value
    elif name == "render_text_html":
        from pellucid.text.render import render_text_html as value
    elif name == "TextHighlight":
        from pellucid.text.render import TextHighlight as value
    elif name == "TokenizedDocument":
        from pellucid.text.tokenize import TokenizedDocument as value
    else:
        raise AttributeError(f"module 'pellucid.text' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
