"""The HTML page: one self-contained file (plotly.js and data inlined), and the Jupyter representation."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest

import pellucid.dashboard
from pellucid.dashboard import ExplanationDashboard
from pellucid.dashboard.page import PACK_MIN_LENGTH, pack_payload, payload_json, unpack_payload
from pellucid.dashboard.payload import build_payload
from pellucid.errors import ArgumentError

from .conftest import linear_regression_explanation


def _embedded_payload(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="pellucid-data">(.*?)</script>', page, re.S)
    assert match, "the page has no embedded payload"
    return unpack_payload(json.loads(match.group(1)))


def test_saved_page_is_one_self_contained_file(tmp_path: Path):
    explanation, _, _, _ = linear_regression_explanation()
    path = ExplanationDashboard(explanation).save_html(tmp_path / "dashboard.html")
    page = path.read_text(encoding="utf-8")
    # plotly.js is pellucid's partial bundle (package data), inlined whole, with its license beside it.
    assets = Path(pellucid.dashboard.__file__).parent / "assets"
    bundle = (assets / "plotly-pellucid.min.js").read_text(encoding="utf-8")
    assert page.count(bundle) == 1
    assert "MIT License" in (assets / "plotly.js-LICENSE.txt").read_text(encoding="utf-8")
    # Outside plotly.js (whose strings mention URLs it never loads here) nothing refers to another resource.
    own = page.replace(bundle, "")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", own)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", own)
    payload = _embedded_payload(page)
    assert payload["features"] == explanation.features
    np.testing.assert_allclose(np.array(payload["local"])[0].T, explanation.local_values[:, :, 0], rtol=5e-4)


def test_repr_html_is_an_iframe_holding_the_page():
    explanation, _, _, _ = linear_regression_explanation()
    dashboard = ExplanationDashboard(explanation, title="Diabetes & <friends>")
    shown = dashboard._repr_html_()
    match = re.fullmatch(r'<iframe [^>]*srcdoc="([^"]*)"></iframe>', shown, re.S)
    assert match and "allow-scripts" in shown
    assert html.unescape(match.group(1)) == dashboard.to_html()
    assert "<title>Diabetes &amp; &lt;friends&gt;</title>" in dashboard.to_html()


def test_sdk_widget_keywords_datasetx_and_truey_mean_dataset_and_true_y():
    explanation, model, X, y = linear_regression_explanation()
    new = ExplanationDashboard(explanation, model, dataset=X, true_y=y).payload
    old = ExplanationDashboard(explanation, model, datasetX=X, trueY=y).payload
    assert json.dumps(old, sort_keys=True, default=str) == json.dumps(new, sort_keys=True, default=str)
    without = ExplanationDashboard(explanation, model, dataset=X).payload
    assert json.dumps(without, sort_keys=True, default=str) != json.dumps(new, sort_keys=True, default=str)
    with pytest.raises(ArgumentError, match="datasetX"):
        ExplanationDashboard(explanation, dataset=X, datasetX=X)


def test_packed_payload_is_smaller_and_unpacks_to_the_payload():
    explanation, _, _, _ = linear_regression_explanation()
    payload = build_payload(explanation)
    plain = json.dumps(payload, separators=(",", ":"))
    packed = payload_json(payload)
    assert len(packed) < 0.75 * len(plain)
    unpacked = unpack_payload(json.loads(packed))
    assert unpacked.keys() == payload.keys()
    assert unpacked["rows"] == payload["rows"]  # int32: exact
    np.testing.assert_allclose(np.array(unpacked["local"]), np.array(payload["local"]), rtol=1e-7, atol=0)
    for got, want in zip(unpacked["data"], payload["data"], strict=True):
        np.testing.assert_allclose(got["v"], want["v"], rtol=1e-7)


def test_pack_payload_keeps_missing_values_short_lists_and_what_float32_cannot_hold():
    n = PACK_MIN_LENGTH
    floats = [0.1234, None, -2.5e-7, 123456.0] * n
    node = pack_payload({"f": floats, "i": list(range(n)), "short": [1.5, 2.5], "big": [1e300] * n,
                         "wide": [2**40] * n, "text": ["a"] * n})
    assert set(node["f"]) == {"$f32"} and set(node["i"]) == {"$i32"}
    assert node["short"] == [1.5, 2.5] and node["big"] == [1e300] * n and node["wide"] == [2**40] * n
    assert node["text"] == ["a"] * n
    back = unpack_payload(node)
    assert back["f"] == floats and back["i"] == list(range(n))
