"""Take the dashboard screenshots of the docs (docs/img/dashboard-*.png) in headless Chromium.

The same approach as the dashboard's browser tests (tests/dashboard/conftest.py): Debian's chromium and
chromedriver driven by selenium, the page saved with ``ExplanationDashboard.save_html`` and opened from a file,
then each panel captured on its own and reduced to a 128-colour PNG to keep the repository small.

Run from the repository root (needs ``scripts/install_chromium.sh`` once)::

    PYTHONPATH=src python docs/screenshots.py
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier

from pellucid import TreeExplainer
from pellucid.dashboard import ExplanationDashboard

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
IMAGES = Path(__file__).resolve().parent / "img"
PANELS = {
    "header": "header",
    "global": "panel-global",
    "local": "panel-local",
    "data": "panel-data",
    "dependence": "panel-dependence",
    "summary": "panel-summary",
}


def make_dashboard() -> ExplanationDashboard:
    """The breast-cancer gradient-boosting classifier explained by TreeSHAP on 200 rows."""
    data = load_breast_cancer()
    model = GradientBoostingClassifier(n_estimators=50, random_state=0).fit(data.data, data.target)
    explainer = TreeExplainer(model, features=list(data.feature_names), classes=list(data.target_names))
    explanation = explainer.explain_global(data.data[:200])
    labels = data.target_names[data.target[:200]]
    return ExplanationDashboard(explanation, model=model, dataset=data.data[:200], true_y=labels,
                                title="Breast cancer: gradient boosting explained by TreeSHAP")


def open_browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="pellucid-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     f"--user-data-dir={profile}", "--window-size=1280,2400", "--hide-scrollbars"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options), profile


def wait_until_ready(driver, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, error = driver.execute_script("return [window.pellucidReady === true, window.pellucidError || null]")
        if error:
            raise RuntimeError(f"the dashboard failed to draw: {error}")
        if ready:
            return
        time.sleep(0.05)
    raise RuntimeError("the dashboard was not ready in time")


def shrink(path: Path) -> None:
    """Re-encode a screenshot as a 128-colour palette PNG (a fraction of the size, no visible loss)."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> list[Path]:
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        raise SystemExit("needs /usr/bin/chromium and /usr/bin/chromedriver: run scripts/install_chromium.sh")
    from selenium.webdriver.common.by import By

    IMAGES.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pellucid-screenshots-"))
    page = make_dashboard().save_html(work / "dashboard.html")
    driver, profile = open_browser()
    written = []
    try:
        driver.get(page.as_uri())
        wait_until_ready(driver)
        for name, element_id in PANELS.items():
            target = IMAGES / f"dashboard-{name}.png"
            driver.find_element(By.ID, element_id).screenshot(str(target))
            shrink(target)
            written.append(target)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    for path in written:
        print(f"{path.relative_to(IMAGES.parent.parent)}: {path.stat().st_size / 1024:.0f} KiB")
    return written


if __name__ == "__main__":
    main()
