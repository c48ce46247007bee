"""The saved dashboard page in headless Chromium: every view renders the right marks and reacts to input.

Each check reads what plotly rendered (``gd._fullData``, the SVG bars) and compares it with the explanation's
arrays, ranked in numpy here (the oracle), not with the page's own computations.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from pellucid.dashboard import ExplanationDashboard

from .conftest import (
    bar_chart,
    emit_click,
    global_only_explanation,
    large_explanation,
    linear_iris_explanation,
    linear_regression_explanation,
    open_dashboard,
    point_traces,
    raw_categorical_explanation,
    shown_points,
    top_k_by_abs,
    wait_for,
)

pytestmark = pytest.mark.timeout(300)


def _page(tmp_path: Path, dashboard: ExplanationDashboard, name: str) -> str:
    return dashboard.save_html(tmp_path / f"{name}.html").as_uri()


def _text(driver, element_id: str) -> str:
    return driver.execute_script("return document.getElementById(arguments[0]).textContent", element_id)


def _press(driver, element_id: str, *keys) -> None:
    from selenium.webdriver.common.by import By

    element = driver.find_element(By.ID, element_id)
    for key in keys:  # send_keys focuses the element first (a click would move a slider to its middle)
        element.send_keys(key)


def _select(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


def _wait_row(driver, row: int) -> None:
    wait_for(driver, "return document.getElementById('local-row-label').textContent === arguments[0]", f"Row {row}")


def _expected_plus_sum(driver) -> float:
    return float(re.search(r"= (\S+)", _text(driver, "local-expected")).group(1))


def test_regression_views_marks_slider_and_clicks(browser, tmp_path, screenshot_dir):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    explanation, model, X, _ = linear_regression_explanation()
    open_dashboard(browser, _page(tmp_path, ExplanationDashboard(explanation), "regression"))
    # Offline: the page loaded no other resource (plotly.js and data are inline).
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    n_rows, n_features = explanation.local_values.shape[:2]
    overall = explanation.global_values[:, 0]

    # Global importance: K = 10 bars, the 10 largest mean |local value|s, in order.
    bars = bar_chart(browser, "chart-global")
    order = np.argsort(-overall, kind="stable")
    assert bars["marks"] == 10 and bars["features"] == order[:10].tolist()
    np.testing.assert_allclose(bars["x"], overall[order[:10]], rtol=1e-3)
    assert bars["ticks"] == [explanation.features[j] for j in order[:10]]
    # The K slider, moved with the keyboard: Home -> 1 bar, three steps right -> 4 bars.
    _press(browser, "global-k", Keys.HOME)
    assert bar_chart(browser, "chart-global")["marks"] == 1
    _press(browser, "global-k", Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    bars = bar_chart(browser, "chart-global")
    assert bars["marks"] == 4 and bars["features"] == order[:4].tolist() and _text(browser, "global-k-value") == "4"

    # Point views: every row drawn once; the summary draws every row for each of its top 10 features.
    assert shown_points(browser, "chart-data") == n_rows
    assert shown_points(browser, "chart-dependence") == n_rows
    assert shown_points(browser, "chart-summary") == n_rows * 10
    assert {t["type"] for t in point_traces(browser, "chart-data")} == {"scatter"}
    # The data view's axes follow the dropdowns: x = "bmi" shows that column.
    bmi = explanation.features.index("bmi")
    _select(browser, "data-x", f"f:{bmi}")
    x_values = browser.execute_script("return Array.from(document.getElementById('chart-data')._fullData[0].x)")
    np.testing.assert_allclose(x_values, X[:, bmi], rtol=1e-5)
    predicted = browser.execute_script("return Array.from(document.getElementById('chart-data')._fullData[0].y)")
    np.testing.assert_allclose(predicted, model.predict(X), rtol=1e-5)

    # Local importance of row 0: the 10 largest |local value|s; expected + sum = the model's prediction.
    local = bar_chart(browser, "chart-local")
    top = top_k_by_abs(explanation.local_values[0, :, 0], 10)
    assert local["marks"] == 10 and local["features"] == top.tolist()
    np.testing.assert_allclose(local["x"], explanation.local_values[0, top, 0], rtol=1e-3)
    assert _expected_plus_sum(browser) == pytest.approx(model.predict(X[:1])[0], rel=1e-3)
    _press(browser, "local-k", Keys.HOME, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)
    assert bar_chart(browser, "chart-local")["marks"] == 3

    # A plotly_click on the dependence view explains that row.
    emit_click(browser, "chart-dependence", 37)
    _wait_row(browser, 37)
    local = bar_chart(browser, "chart-local")
    top = top_k_by_abs(explanation.local_values[37, :, 0], 3)
    assert local["features"] == top.tolist()
    np.testing.assert_allclose(local["x"], explanation.local_values[37, top, 0], rtol=1e-3)
    assert _expected_plus_sum(browser) == pytest.approx(model.predict(X[37:38])[0], rel=1e-3)
    # The selected row is ringed in the point views: at (bmi, prediction) in the data view, and at its local
    # value of each of the summary's top 10 features.
    ring = browser.execute_script("return document.getElementById('chart-data').layout.shapes")
    assert len(ring) == 1
    assert (ring[0]["xanchor"], ring[0]["yanchor"]) == (pytest.approx(X[37, bmi], rel=1e-5),
                                                        pytest.approx(model.predict(X[37:38])[0], rel=1e-5))
    rings = browser.execute_script("return document.getElementById('chart-summary').layout.shapes")
    summary_top = np.argsort(-overall, kind="stable")[:10]
    np.testing.assert_allclose([r["xanchor"] for r in rings], explanation.local_values[37, summary_top, 0], rtol=1e-3)
    assert browser.execute_script(
        "return document.querySelectorAll('#chart-summary .shapelayer path').length") == 10

    # A real mouse click on an SVG point of the data view: the rightmost point (isolated, so it is the one hit).
    target = int(np.argmax(X[:, bmi]))
    point = browser.find_elements(By.CSS_SELECTOR, "#chart-data .scatterlayer .trace:first-child .points path")[target]
    ActionChains(browser).move_to_element(point).pause(0.2).click().perform()
    _wait_row(browser, target)
    top = top_k_by_abs(explanation.local_values[target, :, 0], 3)
    np.testing.assert_allclose(bar_chart(browser, "chart-local")["x"], explanation.local_values[target, top, 0],
                               rtol=1e-3)
    browser.save_screenshot(str(screenshot_dir / "regression.png"))


def test_multiclass_views_follow_the_class_selectors(browser, tmp_path, screenshot_dir):
    explanation, model, X, y = linear_iris_explanation()
    labels = np.asarray(explanation.classes, dtype=object)[y]
    dashboard = ExplanationDashboard(explanation, model=model, true_y=labels)
    open_dashboard(browser, _page(tmp_path, dashboard, "multiclass"))
    assert "3 classes" in _text(browser, "summary-line")

    # One trace per predicted class, holding the rows the model predicts as that class.
    traces = point_traces(browser, "chart-data")
    counts = np.bincount(model.predict(X), minlength=3)
    assert [(t["name"], t["n"]) for t in traces] == [
        (f"predicted {c}", int(n)) for c, n in zip(explanation.classes, counts) if n
    ]
    assert shown_points(browser, "chart-summary") == 150 * 4

    # Global importance per class.
    _select(browser, "global-class", "1")
    bars = bar_chart(browser, "chart-global")
    order = np.argsort(-explanation.global_values[:, 1], kind="stable")
    assert bars["features"] == order.tolist()
    np.testing.assert_allclose(bars["x"], explanation.global_values[order, 1], rtol=1e-3)

    # The class selector switches the local, dependence and summary views to that class.
    _select(browser, "class-select", "2")
    emit_click(browser, "chart-summary", 120)
    _wait_row(browser, 120)
    local = bar_chart(browser, "chart-local")
    top = top_k_by_abs(explanation.local_values[120, :, 2], 4)
    assert local["marks"] == 4 and local["features"] == top.tolist()
    np.testing.assert_allclose(local["x"], explanation.local_values[120, top, 2], rtol=1e-3)
    # expected + sum of local values = the model's margin for class 2
    assert _expected_plus_sum(browser) == pytest.approx(model.decision_function(X[120:121])[0, 2], rel=1e-3)
    prediction = _text(browser, "local-prediction")
    assert f"predicted class {explanation.classes[model.predict(X[120:121])[0]]}" in prediction
    probability = float(re.search(r"probability of class virginica: (\S+)", prediction).group(1))
    assert probability == pytest.approx(model.predict_proba(X[120:121])[0, 2], rel=1e-3)
    assert f"true value {explanation.classes[y[120]]}" == _text(browser, "local-true")
    dependence_y = browser.execute_script("return Array.from(document.getElementById('chart-dependence').data[0].y)")
    top_feature = int(np.argmax(explanation.global_values.mean(axis=1)))
    np.testing.assert_allclose(dependence_y, explanation.local_values[:, top_feature, 2], rtol=1e-3, atol=1e-9)
    browser.save_screenshot(str(screenshot_dir / "multiclass.png"))


def test_raw_explanation_with_categories(browser, tmp_path, screenshot_dir):
    explanation = raw_categorical_explanation()
    open_dashboard(browser, _page(tmp_path, ExplanationDashboard(explanation), "raw"))
    assert "3 raw features" in _text(browser, "summary-line")
    # Binary classifier: the positive class is explained by default.
    assert browser.execute_script("return document.getElementById('class-select').value") == "1"
    _select(browser, "data-x", "f:1")
    axis = browser.execute_script(
        "const gd = document.getElementById('chart-data');"
        "return {ticks: gd._fullLayout.xaxis.ticktext, x: gd._fullData.flatMap(t => Array.from(t.x)),"
        "        rows: gd._fullData.flatMap(t => Array.from(t.customdata))}"
    )
    assert axis["ticks"] == ["blue", "green", "red"]
    assert sorted(axis["rows"]) == list(range(explanation.n_rows))
    # Each point sits (jittered by less than half a step) on its row's category.
    categories = np.array(axis["ticks"])[np.rint(axis["x"]).astype(int)]
    assert categories.tolist() == explanation.eval_data[axis["rows"], 1].tolist()
    labels = bar_chart(browser, "chart-local")["ticks"]
    assert f"colour = {explanation.eval_data[0, 1]}" in labels
    browser.save_screenshot(str(screenshot_dir / "raw.png"))


def test_global_only_explanation_shows_global_view_and_says_why_not_local(browser, tmp_path, screenshot_dir):
    explanation = global_only_explanation()
    open_dashboard(browser, _page(tmp_path, ExplanationDashboard(explanation), "global_only"))
    bars = bar_chart(browser, "chart-global")
    overall = explanation.global_values.mean(axis=1)
    assert bars["marks"] == 10 and bars["features"] == np.argsort(-overall, kind="stable")[:10].tolist()
    for chart in ("chart-local", "chart-summary", "chart-dependence", "chart-data"):
        assert browser.execute_script("return document.getElementById(arguments[0])", chart) is None
    local_panel = _text(browser, "panel-local")
    assert "global-only" in local_panel and "local importance values" in local_panel
    assert "needs the explained rows" in _text(browser, "panel-data")
    # No view would follow a class choice, so the class selector is hidden; the global view offers each class.
    assert browser.execute_script("return document.getElementById('class-control').hidden") is True
    assert len(browser.execute_script("return document.getElementById('global-class').options")) == 3
    browser.save_screenshot(str(screenshot_dir / "global_only.png"))


def test_large_explanation_is_sampled_and_timed(browser, tmp_path, screenshot_dir, capsys):
    explanation = large_explanation(n_rows=20_000, n_features=50)
    started = time.perf_counter()
    dashboard = ExplanationDashboard(explanation)
    path = dashboard.save_html(tmp_path / "large.html")
    build_s = time.perf_counter() - started
    ready_ms = open_dashboard(browser, path.as_uri(), timeout=120)
    with capsys.disabled():
        print(f"\n[dashboard] 20,000 rows x 50 features: page {path.stat().st_size / 1e6:.1f} MB built in "
              f"{build_s:.2f} s; interactive {ready_ms:.0f} ms after navigation start (headless Chromium)")

    assert "Showing 5,000 of 20,000 rows" in _text(browser, "sample-note")
    captions = browser.execute_script(
        "return Array.from(document.querySelectorAll('.sample-caption')).map(e => e.textContent)")
    assert captions == ["showing 5,000 of 20,000 rows"] * 3
    rows = browser.execute_script("return window.pellucid.payload.rows")
    assert len(rows) == 5000 and rows[0] == 0
    assert shown_points(browser, "chart-data") == 5000
    assert shown_points(browser, "chart-dependence") == 5000
    assert shown_points(browser, "chart-summary") == 5000 * 10
    assert {t["type"] for t in point_traces(browser, "chart-summary")} == {"scattergl"}

    row = rows[1234]
    emit_click(browser, "chart-data", row)
    _wait_row(browser, row)
    top = top_k_by_abs(explanation.local_values[row, :, 0], 10)
    np.testing.assert_allclose(bar_chart(browser, "chart-local")["x"], explanation.local_values[row, top, 0],
                               rtol=1e-3)
    # A row outside the sample cannot be explained from the page, and the page says so.
    hidden = int(np.setdiff1d(np.arange(20_000), rows)[0])
    browser.execute_script(
        "const box = document.getElementById('local-row'); box.value = arguments[0];"
        "box.dispatchEvent(new Event('change'));", hidden)
    assert _text(browser, "local-row-message") == f"row {hidden} is not among the 5,000 rows shown"
    assert _text(browser, "local-row-label") == f"Row {row}"
    browser.save_screenshot(str(screenshot_dir / "large.png"))


def test_missing_values_and_a_single_feature(browser, tmp_path):
    from pellucid.explanation import Explanation

    rng = np.random.default_rng(5)
    data = np.empty((40, 2), dtype=object)
    data[:, 0] = rng.normal(size=40)
    data[:, 1] = rng.choice(["a", "b"], size=40)
    data[3, 0] = np.nan
    data[4, 1] = None
    explanation = Explanation(method="random", task="regression", features=["x", "kind"],
                              local_values=rng.normal(size=(40, 2, 1)), expected_values=[0.0], eval_data=data)
    open_dashboard(browser, _page(tmp_path, ExplanationDashboard(explanation), "missing"))
    _select(browser, "data-x", "f:1")
    ticks = browser.execute_script("return document.getElementById('chart-data')._fullLayout.xaxis.ticktext")
    assert ticks == ["a", "b", "missing"]
    # The row with a missing number has no position on that axis; every other row is drawn.
    _select(browser, "data-x", "f:0")
    x_values = browser.execute_script("return Array.from(document.getElementById('chart-data')._fullData[0].x)")
    assert x_values[3] is None and sum(v is not None for v in x_values) == 39
    emit_click(browser, "chart-summary", 4)
    _wait_row(browser, 4)
    assert "kind = missing" in bar_chart(browser, "chart-local")["ticks"]

    single = Explanation(method="random", task="regression", features=["only"],
                         local_values=rng.normal(size=(10, 1, 1)), expected_values=[1.0], eval_data=rng.normal(size=(10, 1)))
    open_dashboard(browser, _page(tmp_path, ExplanationDashboard(single), "single"))
    assert bar_chart(browser, "chart-global")["marks"] == 1
    assert shown_points(browser, "chart-summary") == 10
