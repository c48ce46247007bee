"""Explanations, a headless Chromium and page helpers shared by the dashboard tests.

The explanations are built directly (no explainer): exact linear-model explanations on sklearn's bundled
datasets, where ``expected value + sum of local values == model output`` holds exactly, and random ones.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression

from pellucid.explanation import Explanation

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


# ---------------------------------------------------------------------- explanations
def linear_regression_explanation() -> tuple[Explanation, LinearRegression, np.ndarray, np.ndarray]:
    """Diabetes (442 x 10) with a linear regression: local value = coef * (x - mean x), exact."""
    data = load_diabetes()
    X, y = data.data, data.target
    model = LinearRegression().fit(X, y)
    local = (model.coef_ * (X - X.mean(axis=0)))[:, :, None]
    expected = np.array([model.predict(X).mean()])
    explanation = Explanation(
        method="linear_exact", task="regression", features=data.feature_names, local_values=local,
        expected_values=expected, eval_data=X, model_output=model.predict(X)[:, None],
        meta={"output_space": "raw"},
    )
    return explanation, model, X, y


def linear_iris_explanation() -> tuple[Explanation, LogisticRegression, np.ndarray, np.ndarray]:
    """Iris (150 x 4, 3 classes) with a logistic regression, explained exactly in margin space."""
    data = load_iris()
    X, y = data.data, data.target
    model = LogisticRegression(max_iter=1000).fit(X, y)
    local = np.einsum("rf,cf->rfc", X - X.mean(axis=0), model.coef_)  # (rows, features, classes)
    margins = model.decision_function(X)
    explanation = Explanation(
        method="linear_exact", task="classification", features=data.feature_names,
        classes=list(data.target_names), local_values=local, expected_values=margins.mean(axis=0),
        eval_data=X, model_output=margins, meta={"output_space": "margin"},
    )
    return explanation, model, X, y


def raw_categorical_explanation(n_rows: int = 120, seed: int = 1) -> Explanation:
    """Raw features with a string column; binary classification."""
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], size=n_rows).astype(object)
    eval_data = np.empty((n_rows, 3), dtype=object)
    eval_data[:, 0] = rng.normal(size=n_rows)
    eval_data[:, 1] = colour
    eval_data[:, 2] = rng.integers(18, 80, size=n_rows)
    local = rng.normal(size=(n_rows, 3, 2))
    local[:, :, 0] = -local[:, :, 1]
    return Explanation(
        method="random_raw", task="classification", features=["income", "colour", "age"], classes=["no", "yes"],
        local_values=local, expected_values=np.array([0.4, 0.6]), eval_data=eval_data, is_raw=True,
        meta={"output_space": "log_odds"},
    )


def global_only_explanation(n_features: int = 15, seed: int = 2) -> Explanation:
    rng = np.random.default_rng(seed)
    return Explanation(
        method="permutation_importance", task="classification",
        features=[f"g{j}" for j in range(n_features)], classes=[0, 1],
        global_values=rng.uniform(0.0, 1.0, size=(n_features, 2)),
    )


def large_explanation(n_rows: int = 20_000, n_features: int = 50, seed: int = 3) -> Explanation:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    weights = rng.normal(size=n_features)
    local = (X - X.mean(axis=0)) * weights
    return Explanation(
        method="random_large", task="regression", features=[f"feature_{j}" for j in range(n_features)],
        local_values=local[:, :, None], expected_values=np.array([0.5]), eval_data=X,
        model_output=0.5 + local.sum(axis=1, keepdims=True),
    )


# ---------------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dashboard_screenshots")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (Debian's chromium and chromedriver)."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("browser tests need /usr/bin/chromium and /usr/bin/chromedriver: run scripts/install_chromium.sh")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pellucid-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1400,2000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_dashboard(driver, url: str, timeout: float = 60.0) -> float:
    """Load a dashboard page and wait until every chart has rendered; returns ms from navigation to ready."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, error, ready_ms = driver.execute_script(
            "return [window.pellucidReady === true, window.pellucidError || null, window.pellucidReadyMs || null]"
        )
        if error:
            raise AssertionError(f"the dashboard failed to draw: {error}")
        if ready:
            return float(ready_ms)
        time.sleep(0.05)
    raise AssertionError(f"the dashboard at {url} was not ready after {timeout} s")


def wait_for(driver, script: str, *args, timeout: float = 15.0):
    """Poll a script until it returns a truthy value; returns that value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def point_traces(driver, chart: str) -> list[dict]:
    """Name, type and number of points of each trace of a chart, from plotly's full (rendered) data."""
    return driver.execute_script(
        "return document.getElementById(arguments[0])._fullData.map("
        "t => ({name: t.name, type: t.type, n: t.x ? t.x.length : 0, visible: t.visible}))",
        chart,
    )


def shown_points(driver, chart: str) -> int:
    """Points drawn in a chart, over all its traces."""
    return sum(t["n"] for t in point_traces(driver, chart))


def bar_chart(driver, chart: str) -> dict:
    """A bar chart's values, feature indices and tick labels, and the number of bar marks in its SVG."""
    return driver.execute_script(
        "const gd = document.getElementById(arguments[0]); const t = gd._fullData[0];"
        "return {x: Array.from(t.x), features: Array.from(t.customdata), ticks: gd._fullLayout.yaxis.ticktext,"
        " marks: gd.querySelectorAll('.barlayer .point').length};",
        chart,
    )


def emit_click(driver, chart: str, row: int) -> None:
    """Dispatch plotly_click on a chart for the point of one row (what plotly emits on a real click)."""
    driver.execute_script(
        "const gd = document.getElementById(arguments[0]);"
        "gd.emit('plotly_click', {points: [{customdata: arguments[1], data: gd.data[0], curveNumber: 0}]});",
        chart, row,
    )


def top_k_by_abs(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest |values|, ties in feature order (the oracle of the local chart)."""
    return np.argsort(-np.abs(values), kind="stable")[:k]
