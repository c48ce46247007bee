"""The :class:`ExplanationDashboard`: an interactive page of an explanation, inline in Jupyter or as one file."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pellucid.dashboard.page import render_page
from pellucid.dashboard.payload import DEFAULT_MAX_POINTS, build_payload
from pellucid.errors import ArgumentError
from pellucid.explanation import Explanation

if TYPE_CHECKING:
    from pellucid.dashboard.server import DashboardServer

__all__ = ["ExplanationDashboard"]

logger = logging.getLogger(__name__)


class ExplanationDashboard:
    """Interactive views of an explanation: data, global and local importance, dependence and summary.

    The page is self-contained (plotly.js and the data are inlined) and works offline. Clicking a point in the
    data, dependence or summary view shows that row's local importance. Above ``max_points`` explained rows the
    point views draw a seeded uniform sample and say so on screen; global importance always uses every row.

    Parameters
    ----------
    explanation : Explanation
        A local or global-only explanation.
    model : object, optional
        The explained model; when given, predictions come from calling it on the rows.
    dataset : array-like of shape (n_rows, n_features), optional
        The explained rows (array, DataFrame ...); default ``explanation.eval_data``.
    true_y : array-like of shape (n_rows,), optional
        True targets, offered in the data view and shown in the local view.
    max_points : int, default 5000
        Most rows drawn in the point views.
    keep_rows : sequence of int, optional
        Rows always drawn even when sampling (default: row 0).
    seed : int, default 0
        Seed of the sample.
    title : str, optional
        Page title.
    datasetX, trueY : optional
        The old ``interpret_community.widget`` names of ``dataset`` and ``true_y``, accepted as they were.

    Examples
    --------
    >>> ExplanationDashboard(explanation).save_html("explanation.html")  # doctest: +SKIP
    """

    def __init__(
        self,
        explanation: Explanation,
        model: Any = None,
        dataset: Any = None,
        true_y: Any = None,
        *,
        max_points: int = DEFAULT_MAX_POINTS,
        keep_rows: Sequence[int] | None = None,
        seed: int = 0,
        title: str | None = None,
        datasetX: Any = None,  # noqa: N803 - the SDK's keyword
        trueY: Any = None,  # noqa: N803 - the SDK's keyword
    ) -> None:
        dataset = _legacy_keyword("dataset", dataset, "datasetX", datasetX)
        true_y = _legacy_keyword("true_y", true_y, "trueY", trueY)
        self.explanation = explanation
        self.model = model
        self.dataset = dataset
        self.true_y = true_y
        # Built now so bad input fails here, not later in a notebook cell's display.
        self.payload = build_payload(
            explanation, model=model, dataset=dataset, true_y=true_y, max_points=max_points,
            keep_rows=keep_rows, seed=seed, title=title,
        )
        self._html: str | None = None

    def to_html(self) -> str:
        """The dashboard as one self-contained HTML document."""
        if self._html is None:
            self._html = render_page(self.payload)
        return self._html

    def save_html(self, path: str | Path) -> Path:
        """Write the dashboard to one HTML file that works offline.

        Parameters
        ----------
        path : str or Path
            Target file, conventionally ending in ``.html``.

        Returns
        -------
        Path
            The file written.
        """
        path = Path(path)
        path.write_text(self.to_html(), encoding="utf-8")
        logger.info("dashboard written to %s", path)
        return path

    def _repr_html_(self) -> str:
        # An iframe keeps the page's scripts and styles apart from the notebook's and lets them run.
        return (
            '<iframe style="width:100%;height:1500px;border:1px solid #d9e2ec" '
            'sandbox="allow-scripts allow-downloads" '
            f'srcdoc="{html.escape(self.to_html(), quote=True)}"></iframe>'
        )

    def export_static(self, folder: str | Path, fmt: str = "png", *, row: int = 0, top_k: int = 10) -> list[Path]:
        """Write static images of the charts (matplotlib) for reports; see :func:`export_static`."""
        from pellucid.dashboard.static import export_static

        return export_static(self.explanation, folder, fmt=fmt, dataset=self.dataset, row=row, top_k=top_k)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> DashboardServer:
        """Serve the page over HTTP in a background thread; returns the running server (``.url``, ``.stop()``)."""
        from pellucid.dashboard.server import DashboardServer

        return DashboardServer(self.to_html(), host=host, port=port).start()

    def __repr__(self) -> str:
        return f"ExplanationDashboard({self.explanation!r}, rows shown={len(self.payload['rows'])})"


def _legacy_keyword(name: str, value: Any, legacy: str, legacy_value: Any) -> Any:
    """``value``, or the SDK widget's older keyword for it; both given is an error."""
    if legacy_value is None:
        return value
    if value is not None:
        raise ArgumentError(f"give {name}= or its old name {legacy}=, not both; found both")
    return legacy_value
