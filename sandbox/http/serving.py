"""How the sandbox is served: uvicorn with a header timeout (a slow client cannot hold a connection open) and
TCP_NODELAY on every connection (see connection_made).

uvicorn re-arms nothing while a request's headers trickle in: its keep-alive timer is cancelled by every byte
received, and nothing is armed when a connection opens. A client sending one header byte a second would
keep its connection (and a slot of the concurrency limit) for ever. The protocol below arms a timer when a
connection opens and when a request begins, and closes the connection if the headers are not complete by
then. Bodies are bounded separately (the gateway and the control plane's body guard: 408 / 413).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from enkash_sandbox.http.journal import redact_path, redact_query
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# worker processes build their protocol from the environment (`serve` exports every setting there)
HEADER_TIMEOUT_SECONDS = float(os.environ.get("ENKASH_SANDBOX_HEADER_TIMEOUT_SECONDS") or 10.0)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout = HEADER_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        # asyncio sets TCP_NODELAY only on sockets whose `proto` is IPPROTO_TCP; a listening socket handed to
        # worker processes (serve --workers N) reports proto 0, so its connections kept Nagle's algorithm and
        # every response waited ~40 ms for the client's delayed ACK. Set it here, whatever the socket says.
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if getattr(self, "_header_timer", None) is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_with_timeout(seconds: float) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with a given header timeout (a class, because uvicorn instantiates it)."""
    if seconds == HEADER_TIMEOUT_SECONDS:
        return GuardedHttpToolsProtocol
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"header_timeout": seconds})


class RedactedAccessLog(logging.Filter):
    """uvicorn's access log prints each request's path as it came; an SSO or VKYC token in the path (also the
    holder's access token) would land in every log a partner's CI keeps. Masked here as in the journal."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, mark, query = args[2].partition("?")
            shown = redact_path(path) + (mark + redact_query(query) if mark else "")
            record.args = (*args[:2], shown, *args[3:])
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once per process; logging config keeps logger filters)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactedAccessLog) for f in logger.filters):
        logger.addFilter(RedactedAccessLog())
