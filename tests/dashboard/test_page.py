"""The HTML page: one self-contained file (plotly.js and data inlined), and the Jupyter representation."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import plotly
import pytest

from pellucid.dashboard import ExplanationDashboard
from pellucid.errors import ArgumentError

from .conftest import linear_regression_explanation


def _embedded_payload(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="pellucid-data">(.*?)</script>', page, re.S)
    assert match, "the page has no embedded payload"
    return json.loads(match.group(1))


def test_saved_page_is_one_self_contained_file(tmp_path: Path):
    explanation, _, _, _ = linear_regression_explanation()
    path = ExplanationDashboard(explanation).save_html(tmp_path / "dashboard.html")
    page = path.read_text(encoding="utf-8")
    # plotly.js is the copy bundled with the installed plotly package, inlined whole.
    bundle = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    assert page.count(bundle) == 1
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
