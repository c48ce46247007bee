"""Explanation._repr_html_: the notebook card, rendered in headless Chromium (offline), draws the top features'
global importances as SVG bars whose lengths are proportional to the numbers computed here with numpy."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from pellucid._display import BAR_WIDTH, TOP_K
from pellucid.explainers.linear import LinearExplainer
from pellucid.explanation import Explanation

from .dashboard.conftest import browser  # noqa: F401  (the headless Chromium fixture)

pytestmark = pytest.mark.timeout(300)


def _iris_explanation() -> Explanation:
    data = load_iris()
    X = np.column_stack([data.data, data.data[:, :3] * 0.5 + 1.0, data.data[:, 1] ** 2, data.data[:, 0] - 2])
    names = [*data.feature_names, "half a", "half b", "half c", "width squared", "<b>shifted</b>"]
    model = LogisticRegression(max_iter=3000).fit(X, data.target)
    return LinearExplainer(model, X, features=names, classes=list(data.target_names)).explain_local(X)


def _open(driver, tmp_path, html: str) -> None:
    page = tmp_path / "card.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{html}</body></html>",
                    encoding="utf-8")
    driver.get(page.as_uri())


def test_card_renders_offline_with_bars_proportional_to_global_importance(browser, tmp_path):  # noqa: F811
    explanation = _iris_explanation()
    _open(browser, tmp_path, explanation._repr_html_())
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    bars = browser.execute_script(
        "return Array.from(document.querySelectorAll('.pellucid-card svg rect')).map("
        "r => [r.getAttribute('data-feature'), r.getBBox().width, r.getBoundingClientRect().top])"
    )
    overall = np.abs(explanation.local_values).mean(axis=0).mean(axis=1)  # the oracle: numpy on the values
    top = np.argsort(-overall, kind="stable")[:TOP_K]
    assert [name for name, _, _ in bars] == [explanation.features[j] for j in top]
    widths = np.array([width for _, width, _ in bars])
    np.testing.assert_allclose(widths, BAR_WIDTH * overall[top] / overall[top[0]], atol=1e-3)
    tops = [top_px for _, _, top_px in bars]
    assert tops == sorted(tops)  # most important first, from the top down
    text = browser.execute_script("return document.querySelector('.pellucid-card').innerText")
    for fact in ("linear_shap", "classification, 3 classes", explanation.meta["output_space"], "150",
                 "features\t9", "setosa: "):
        assert fact in text, (fact, text)
    # names are escaped: a feature called "<b>shifted</b>" is text, not markup
    assert browser.execute_script("return document.querySelectorAll('.pellucid-card b').length") == 0
    height = browser.execute_script("return document.querySelector('.pellucid-card').getBoundingClientRect().height")
    assert height < 400  # compact


def test_card_of_a_global_only_explanation_and_its_notes(browser, tmp_path):  # noqa: F811
    values = np.array([[0.5], [2.0], [1.0]])
    explanation = Explanation(method="permutation_importance", task="regression", features=["a", "b", "c"],
                              global_values=values,
                              meta={"output_space": "raw", "notes": ["background summarised to 10 k-means centres"]})
    _open(browser, tmp_path, explanation._repr_html_())
    widths = browser.execute_script(
        "return Array.from(document.querySelectorAll('.pellucid-card svg rect')).map(r => r.getBBox().width)")
    np.testing.assert_allclose(widths, [BAR_WIDTH, BAR_WIDTH * 0.5, BAR_WIDTH * 0.25], atol=1e-3)
    text = browser.execute_script("return document.querySelector('.pellucid-card').innerText")
    assert "none (global-only)" in text and "what pellucid did (1)" in text
    browser.execute_script("document.querySelector('.pellucid-card details').open = true")
    text = browser.execute_script("return document.querySelector('.pellucid-card').innerText")
    assert "background summarised to 10 k-means centres" in text
