"""uvicorn's h11 HTTP protocol with a header timeout, for ``pellucid serve``.

uvicorn bounds the idle time between requests (keep-alive) but not the time a client takes to send a request's
headers: a client that sends half a request line and stalls holds the connection forever. This protocol closes
a connection whose next request's headers are not complete within ``header_timeout`` seconds of connecting (or
of the previous response). The body's own deadline is the app's (see :mod:`pellucid.serve.app`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["HeaderTimeoutProtocol"]

logger = logging.getLogger(__name__)


class HeaderTimeoutProtocol(H11Protocol):
    """H11Protocol that closes a connection stalled in the middle of (or before) a request's headers.

    Parameters
    ----------
    *args, **kwargs
        uvicorn's protocol arguments.
    header_timeout : float, default 30
        Seconds allowed for a request's headers.
    """

    def __init__(self, *args: Any, header_timeout: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = float(header_timeout)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the headers are in: the body has the app's deadline
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            logger.info("closed a connection whose request headers did not arrive within %g s", self.header_timeout)
            self.transport.close()
