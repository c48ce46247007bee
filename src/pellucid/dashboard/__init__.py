"""The explanation dashboard: interactive views of an explanation as one self-contained HTML page.

``ExplanationDashboard(explanation).save_html("explanation.html")`` writes a page that works offline;
in Jupyter the dashboard renders inline; :func:`serve` serves it on 127.0.0.1 (``pellucid dashboard``);
:func:`export_static` writes the charts as PNG/SVG with matplotlib.
"""

from __future__ import annotations

from pellucid.dashboard.dashboard import ExplanationDashboard
from pellucid.dashboard.server import DashboardServer, make_server, serve
from pellucid.dashboard.static import export_static

__all__ = ["ExplanationDashboard", "DashboardServer", "make_server", "serve", "export_static"]
