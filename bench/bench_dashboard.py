"""Size and time-to-interactive of the saved dashboard page, at several row counts, in headless Chromium.

For each row count the page of a random 50-feature regression explanation (the browser tests' ``large_explanation``)
is saved; its size is split into plotly.js, payload and the rest. The page is then opened ``--repeats`` times in
headless Chromium (Debian's chromium + chromedriver, as the browser tests) and the time from navigation to the
dashboard's ready mark (``window.pellucidReadyMs``: every chart drawn) is reported (median and max).

Usage::

    python bench/bench_dashboard.py                      # 5,000 and 20,000 rows
    python bench/bench_dashboard.py --rows 100 5000 20000 --repeats 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pellucid.dashboard import ExplanationDashboard
from pellucid.dashboard.page import payload_json, plotly_js
from pellucid.explanation import Explanation

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def explanation(n_rows: int, n_features: int = 50, seed: int = 3) -> Explanation:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    local = (X - X.mean(axis=0)) * rng.normal(size=n_features)
    return Explanation(
        method="random_large", task="regression", features=[f"feature_{j}" for j in range(n_features)],
        local_values=local[:, :, None], expected_values=np.array([0.5]), eval_data=X,
        model_output=0.5 + local.sum(axis=1, keepdims=True),
    )


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pellucid-bench-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1400,2000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options), profile


def ready_ms(driver, url: str, timeout: float = 120.0) -> float:
    driver.get("about:blank")
    driver.get(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, error, ms = driver.execute_script(
            "return [window.pellucidReady === true, window.pellucidError || null, window.pellucidReadyMs || null]")
        if error:
            raise RuntimeError(f"the dashboard failed to draw: {error}")
        if ready:
            return float(ms)
        time.sleep(0.02)
    raise RuntimeError(f"not ready after {timeout} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--features", type=int, default=50)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="pellucid-bench-dashboard-"))
    driver, profile = browser()
    try:
        plotly_bytes = len(plotly_js().encode())
        print(f"{'rows':>7} {'page MB':>8} {'plotly MB':>9} {'payload MB':>10} {'ready s (median)':>17} {'max':>6}")
        for n_rows in args.rows:
            dashboard = ExplanationDashboard(explanation(n_rows, args.features))
            page = dashboard.save_html(folder / f"page_{n_rows}.html")
            size = page.stat().st_size
            payload_bytes = len(payload_json(dashboard.payload).encode())
            times = [ready_ms(driver, page.as_uri()) / 1000 for _ in range(args.repeats)]
            print(f"{n_rows:>7} {size / 1e6:>8.2f} {plotly_bytes / 1e6:>9.2f} {payload_bytes / 1e6:>10.2f} "
                  f"{statistics.median(times):>17.2f} {max(times):>6.2f}")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
