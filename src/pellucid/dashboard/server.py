"""Serve a dashboard page over HTTP (stdlib ``http.server`` in a background thread).

There is no module-level app: :func:`make_server` and :func:`serve` build a fresh server each call.
Routes: ``GET /`` (the page, gzip when the browser accepts it), ``GET /healthz`` (``ok``).
"""

from __future__ import annotations

import gzip
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pellucid.dashboard.dashboard import ExplanationDashboard
from pellucid.dashboard.datafile import read_rows
from pellucid.errors import ArgumentError, ServiceError
from pellucid.explanation import Explanation

__all__ = ["DashboardServer", "make_server", "serve"]

logger = logging.getLogger(__name__)


def _handler_for(page: bytes, page_gzip: bytes) -> type[BaseHTTPRequestHandler]:
    class DashboardHandler(BaseHTTPRequestHandler):
        server_version = "pellucid-dashboard"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/index.html"):
                compressed = "gzip" in self.headers.get("Accept-Encoding", "")
                body = page_gzip if compressed else page
                self._send(HTTPStatus.OK, body, "text/html; charset=utf-8", gzip_encoded=compressed)
            elif path == "/healthz":
                self._send(HTTPStatus.OK, b"ok", "text/plain; charset=utf-8")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found: the dashboard is at /", "text/plain; charset=utf-8")

        def do_HEAD(self) -> None:
            self.do_GET()

        def _send(self, status: HTTPStatus, body: bytes, content_type: str, *, gzip_encoded: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if gzip_encoded:
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s - %s", self.address_string(), format % args)

    return DashboardHandler


class DashboardServer:
    """A dashboard page served over HTTP from a background thread.

    Parameters
    ----------
    page : str
        The HTML document to serve.
    host : str
        Address to bind; default the loopback address only.
    port : int
        Port to bind; 0 picks a free one.

    Attributes
    ----------
    url : str
        Where the page is served (valid after :meth:`start`).
    """

    def __init__(self, page: str, host: str = "127.0.0.1", port: int = 0) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ArgumentError(f"port must be an integer in [0, 65535]; found {port!r}")
        self.page = page
        self.host = host
        self.port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address."""
        if self._httpd is None:
            raise ServiceError("the dashboard server is not started; call start() first")
        host, port = self._httpd.server_address[:2]
        shown = f"[{host}]" if ":" in str(host) else host
        return f"http://{shown}:{port}/"

    def start(self) -> DashboardServer:
        """Bind the port and serve in a daemon thread; returns ``self``."""
        if self._httpd is not None:
            return self
        body = self.page.encode("utf-8")
        try:
            httpd = ThreadingHTTPServer((self.host, self.port), _handler_for(body, gzip.compress(body, 6)))
        except OSError as exc:
            raise ServiceError(f"cannot serve the dashboard on {self.host}:{self.port}: {exc}") from exc
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="pellucid-dashboard", daemon=True)
        self._thread.start()
        logger.info("dashboard served at %s", self.url)
        return self

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (or ``timeout`` seconds pass)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        """Stop serving and close the port."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def make_server(
    explanation: Explanation | str | Path,
    data: Any = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    target: str | None = None,
    **dashboard_options: Any,
) -> DashboardServer:
    """Build (not start) a server for an explanation.

    Parameters
    ----------
    explanation : Explanation, or str or Path of a saved explanation (JSON)
    data : array-like, DataFrame, or str or Path of a .csv/.parquet/.npy file, optional
        The explained rows.
    host, port
        Where to serve; port 0 picks a free port.
    target : str, optional
        Column of the data file holding the true targets (removed from the features).
    **dashboard_options
        Passed to :class:`ExplanationDashboard` (``max_points``, ``seed``, ``title``...).
    """
    if not isinstance(explanation, Explanation):
        explanation = Explanation.load(explanation)
    true_y = dashboard_options.pop("true_y", None)
    if isinstance(data, (str, Path)):
        data, file_target = read_rows(data, explanation.features, target=target)
        true_y = file_target if file_target is not None else true_y
    elif target is not None:
        raise ArgumentError("target names a column of a data file; pass data as a .csv/.parquet path to use it")
    dashboard = ExplanationDashboard(explanation, dataset=data, true_y=true_y, **dashboard_options)
    return DashboardServer(dashboard.to_html(), host=host, port=port)


def serve(
    explanation_path: Explanation | str | Path,
    data: Any = None,
    host: str = "127.0.0.1",
    port: int = 0,
    **options: Any,
) -> DashboardServer:
    """Serve the dashboard of a saved explanation in a background thread and return the running server.

    Examples
    --------
    >>> server = serve("explanation.json")  # doctest: +SKIP
    >>> print(server.url)  # doctest: +SKIP
    >>> server.stop()  # doctest: +SKIP
    """
    return make_server(explanation_path, data, host, port, **options).start()
