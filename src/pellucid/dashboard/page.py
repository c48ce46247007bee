"""Assemble the dashboard's single self-contained HTML page.

The page inlines everything it needs: the stylesheet, plotly.js (the ``plotly.min.js`` bundled with the
installed ``plotly`` package, so the page works offline and never touches a CDN), the explanation payload as
JSON, and the dashboard's own script.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pellucid._version import __version__
from pellucid.errors import MissingDependencyError, require

__all__ = ["render_page", "plotly_js"]

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _asset(name: str) -> str:
    return resources.files("pellucid.dashboard").joinpath("assets", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The minified plotly.js bundled with the installed plotly package.

    Raises
    ------
    MissingDependencyError
        When plotly is not installed, or its package lacks the bundled ``plotly.min.js``.
    """
    plotly = require("plotly", "dashboard")
    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not bundle.is_file():
        raise MissingDependencyError(
            f"the dashboard inlines plotly.js from the plotly package, expected at {bundle}; it is missing. "
            'Reinstall plotly: pip install --force-reinstall "pellucid[dashboard]"'
        )
    # A literal "</script" inside the inlined code would end the script element early.
    return bundle.read_text(encoding="utf-8").replace("</script", "<\\/script")


def payload_json(payload: dict[str, Any]) -> str:
    """The payload as compact JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    # Escaping "<" keeps "</script>" and "<!--" in feature names from breaking out of the element.
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_page(payload: dict[str, Any]) -> str:
    """The full HTML page for a payload from :func:`pellucid.dashboard.payload.build_payload`.

    Parameters
    ----------
    payload : dict
        The dashboard payload.

    Returns
    -------
    str
        One HTML document with no external references.
    """
    parts = {
        "version": __version__,
        "title": html.escape(str(payload.get("title", "pellucid dashboard"))),
        "css": _asset("dashboard.css"),
        "plotly": plotly_js(),
        "data": payload_json(payload),
        "app": _asset("dashboard.js"),
    }
    # One pass: text inserted for one placeholder is never scanned for others.
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)], _asset("page.html"))
