"""The HTML card Jupyter and VS Code show for an Explanation (``Explanation._repr_html_``).

Self-contained: inline CSS and an inline SVG bar chart, no script and no network, so it renders offline
and in notebooks that block JavaScript. Bar ``i`` has width ``BAR_WIDTH * value_i / max value``.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pellucid.explanation import Explanation

__all__ = ["explanation_html", "BAR_WIDTH", "TOP_K"]

#: Pixel width of the longest bar.
BAR_WIDTH = 220
#: Features shown in the card.
TOP_K = 8
_ROW = 18
_LABEL = 170


def _number(value: float) -> str:
    return f"{value:.4g}"


def _bars(names: list[str], values: list[float]) -> str:
    largest = max((abs(v) for v in values), default=0.0) or 1.0
    height = _ROW * len(names) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="pellucid-bars" width="{_LABEL + BAR_WIDTH + 70}" '
             f'height="{height}" role="img" aria-label="top features by global importance">']
    for i, (name, value) in enumerate(zip(names, values)):
        y = i * _ROW + 2
        width = BAR_WIDTH * abs(value) / largest
        label = name if len(name) <= 26 else name[:25] + "…"
        parts.append(
            f'<text x="{_LABEL - 6}" y="{y + 12}" text-anchor="end" font-size="11" fill="currentColor">'
            f"{html.escape(label)}</text>"
            f'<rect x="{_LABEL}" y="{y + 2}" width="{width:.3f}" height="{_ROW - 5}" fill="#ff0051" '
            f'data-feature="{html.escape(name, quote=True)}" data-value="{value!r}"><title>'
            f"{html.escape(name)}: {_number(value)}</title></rect>"
            f'<text x="{_LABEL + width + 4:.3f}" y="{y + 12}" font-size="10" fill="currentColor">'
            f"{_number(value)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def explanation_html(explanation: Explanation, *, top_k: int = TOP_K) -> str:
    """A compact HTML card of the explanation.

    Shows the method, explainer, task, output space, rows, features, classes, expected values, the ``top_k``
    features by overall global importance (``get_ranked_global_values``) as an SVG bar chart, and the notes of
    what pellucid did on the user's behalf (``meta["notes"]``).

    Returns
    -------
    str
        An HTML fragment (a ``<div class="pellucid-card">``).
    """
    meta = explanation.meta
    expected = explanation.expected_values_array
    if expected is None:
        expected_text = "none"
    elif explanation.classes is None:
        expected_text = _number(float(expected[0]))
    else:
        expected_text = ", ".join(f"{c}: {_number(float(v))}" for c, v in zip(explanation.classes, expected))
    rows = f"{explanation.n_rows:,}" if explanation.local_values is not None else "none (global-only)"
    facts = [
        ("method", explanation.method + (f" ({meta['explainer']})" if meta.get("explainer") else "")),
        ("task", explanation.task + ("" if explanation.classes is None else
                                     f", {len(explanation.classes)} classes")),
        ("output space", str(meta.get("output_space", "not recorded"))),
        ("rows", rows),
        ("features", f"{explanation.n_features}" + (" raw" if explanation.is_raw else "")),
        ("expected value" + ("s" if explanation.classes is not None else ""), expected_text),
    ]
    k = min(int(top_k), explanation.n_features)
    names = explanation.get_ranked_global_names(k)
    values = explanation.get_ranked_global_values(k)
    notes = [str(n) for n in meta.get("notes", []) if n]
    table = "".join(
        f'<tr><th style="text-align:left;padding:1px 10px 1px 0;font-weight:600">{html.escape(key)}</th>'
        f'<td style="text-align:left;padding:1px 0">{html.escape(value)}</td></tr>'
        for key, value in facts
    )
    measure = "mean |local value|" if explanation.local_values is not None else "global importance"
    if explanation.classes is not None and explanation.n_outputs > 1:
        measure += ", averaged over classes"
    note_list = ""
    if notes:
        items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
        note_list = (f'<details><summary style="cursor:pointer">what pellucid did ({len(notes)})</summary>'
                     f'<ul style="margin:4px 0 0 0;padding-left:18px">{items}</ul></details>')
    finite = bool(np.all(np.isfinite(values)))
    chart = _bars(names, values) if finite and names else ""
    return (
        '<div class="pellucid-card" style="font-family:system-ui,-apple-system,Segoe UI,sans-serif;font-size:12px;'
        'border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;max-width:520px;line-height:1.35">'
        f'<div style="font-weight:700;font-size:13px;margin-bottom:4px">pellucid Explanation '
        f'<span style="font-weight:400;color:#888">{html.escape(explanation.id[:8])}</span></div>'
        f'<table style="border-collapse:collapse;margin-bottom:6px">{table}</table>'
        f'<div style="color:#666;margin-bottom:2px">top {len(names)} features ({html.escape(measure)})</div>'
        f"{chart}{note_list}</div>"
    )
