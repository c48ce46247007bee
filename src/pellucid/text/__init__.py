"""Text explanations: word-level TextExplainer (Kernel SHAP / LIME by token masking), the HAN surrogate
explainer, and HTML highlighting of explained documents.

Names are imported lazily: ``HANExplainer`` needs torch (``pip install "pellucid[text]"``), the others do not.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TextExplainer": "pellucid.text.explainer",
    "HANExplainer": "pellucid.text.han",
    "render_text_html": "pellucid.text.render",
    "TextHighlight": "pellucid.text.render",
    "TokenizedDocument": "pellucid.text.tokenize",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pellucid.text' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
