"""Assemble the dashboard's single self-contained HTML page.

The page inlines everything it needs: the stylesheet, plotly.js, the explanation payload as JSON, and the
dashboard's own script, so it works offline and never touches a CDN. plotly.js is pellucid's own partial bundle
(``assets/plotly-pellucid.min.js``: plotly.js 4.1.1 with only the ``bar``, ``scatter`` and ``scattergl`` traces
the dashboard draws, 1.5 MB instead of the full bundle's 4.8 MB; MIT license beside it in
``assets/plotly.js-LICENSE.txt``; built from ``assets/plotly-pellucid.entry.js.txt`` with
``assets/plotly-pellucid.build.js.txt``, see docs/dashboard.md).

Long numeric lists of the payload are embedded packed: ``{"$f32": base64}`` (little-endian float32, missing values
as NaN) or ``{"$i32": base64}`` (int32), about 5.3 characters per number instead of 8-9 as JSON text. The
payload's floats are already rounded to at most 7 significant digits, which float32 keeps: the page restores
each value with ``toPrecision(7)``. :func:`unpack_payload` is the inverse in Python.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from pellucid._version import __version__
from pellucid.errors import MissingDependencyError

__all__ = ["render_page", "plotly_js", "payload_json", "pack_payload", "unpack_payload"]

#: Numeric lists shorter than this stay JSON text (packing saves nothing on a few numbers).
PACK_MIN_LENGTH = 32
_INT32 = (-(2**31), 2**31 - 1)

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _asset(name: str) -> str:
    return resources.files("pellucid.dashboard").joinpath("assets", name).read_text(encoding="utf-8")


#: pellucid's partial plotly.js bundle (bar, scatter, scattergl), package data beside its MIT license.
PLOTLY_BUNDLE = "plotly-pellucid.min.js"


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The minified partial plotly.js bundle shipped with pellucid (traces bar, scatter and scattergl).

    Raises
    ------
    MissingDependencyError
        When the package's copy of the bundle is missing (a broken install).
    """
    try:
        bundle = _asset(PLOTLY_BUNDLE)
    except FileNotFoundError as exc:
        raise MissingDependencyError(
            f"the dashboard inlines plotly.js from pellucid's package data ({PLOTLY_BUNDLE}); it is missing. "
            'Reinstall pellucid: pip install --force-reinstall "pellucid[dashboard]"'
        ) from exc
    # A literal "</script" inside the inlined code would end the script element early.
    return bundle.replace("</script", "<\\/script")


def _pack_list(values: list) -> Any:
    if len(values) < PACK_MIN_LENGTH:
        return [pack_payload(v) for v in values]
    if all(type(v) is int for v in values) and _INT32[0] <= min(values) and max(values) <= _INT32[1]:
        return {"$i32": base64.b64encode(np.asarray(values, dtype="<i4").tobytes()).decode("ascii")}
    if all(type(v) is float or v is None or (type(v) is int and abs(v) <= 2**24) for v in values):
        array = np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)
        with np.errstate(over="ignore"):
            packed = array.astype("<f4")
        if np.array_equal(np.isfinite(packed), ~np.isnan(array)):  # every number fits float32's range
            return {"$f32": base64.b64encode(packed.tobytes()).decode("ascii")}
    return [pack_payload(v) for v in values]


def pack_payload(node: Any) -> Any:
    """The payload with its long numeric lists packed as base64 float32 / int32 (see the module's docstring)."""
    if isinstance(node, list):
        return _pack_list(node)
    if isinstance(node, dict):
        return {key: pack_payload(value) for key, value in node.items()}
    return node


def unpack_payload(node: Any) -> Any:
    """The inverse of :func:`pack_payload`: packed lists back to lists (floats as float32 values, NaN as None)."""
    if isinstance(node, list):
        return [unpack_payload(v) for v in node]
    if isinstance(node, dict):
        if set(node) == {"$i32"}:
            return np.frombuffer(base64.b64decode(node["$i32"]), dtype="<i4").astype(np.int64).tolist()
        if set(node) == {"$f32"}:
            values = np.frombuffer(base64.b64decode(node["$f32"]), dtype="<f4").astype(np.float64)
            return [None if math.isnan(v) else float(f"{v:.7g}") for v in values.tolist()]
        return {key: unpack_payload(value) for key, value in node.items()}
    return node


def payload_json(payload: dict[str, Any]) -> str:
    """The payload as compact JSON, long numeric lists packed, that is safe inside a ``<script>`` element."""
    text = json.dumps(pack_payload(payload), separators=(",", ":"), allow_nan=False, ensure_ascii=False)
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
