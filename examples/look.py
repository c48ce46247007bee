"""Look at an explanation: the interactive dashboard as one offline HTML page, and static PNG charts.

Run: ``python examples/look.py [OUTPUT_FOLDER]`` (default: a new temporary folder); open dashboard.html in a browser.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestRegressor

from pellucid import TreeExplainer
from pellucid.dashboard import ExplanationDashboard


def main(out: Path) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = RandomForestRegressor(n_estimators=50, random_state=0).fit(X, y)
    explanation = TreeExplainer(model).explain_global(X)

    dashboard = ExplanationDashboard(explanation, model=model, dataset=X, true_y=y, title="Diabetes progression")
    page = dashboard.save_html(out / "dashboard.html")
    assert "pellucid-data" in page.read_text(encoding="utf-8")
    print(f"dashboard: {page} ({page.stat().st_size / 1024:.0f} KiB, works offline)")

    images = dashboard.export_static(out / "figures", fmt="png", row=0, top_k=8)
    for image in images:
        assert image.stat().st_size > 0
        print(f"chart: {image}")


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="pellucid-example-"))
    folder.mkdir(parents=True, exist_ok=True)
    main(folder)
