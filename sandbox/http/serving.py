"""How the sandbox is served: uvicorn with a header timeout (a slow client cannot hold a connection open) and
TCP_NODELAY on every connection (see connection_made).

uvicorn re-arms nothing while a request's headers trickle in: its keep-alive timer is cancelled by every byte
received, and nothing is armed when a connection opens. A client sending one header byte a second would
keep its connection (and a slot of the concurrency limit) for ever. The protocol below notes when a
connection opens and when a request begins, and a sweep closes the connections whose headers are not
complete within the timeout. Bodies are bounded separately (the gateway and the control plane's body guard: 408 / 413).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import weakref

from enkash_sandbox.http.journal import redact_path, redact_query
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# worker processes build their protocol from the environment (`serve` exports every setting there)
HEADER_TIMEOUT_SECONDS = float(os.environ.get("ENKASH_SANDBOX_HEADER_TIMEOUT_SECONDS") or 10.0)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout = HEADER_TIMEOUT_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # when the current request's headers began arriving (None once they are complete)
        self._headers_since: float | None = None
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
        self._headers_since = time.monotonic()
        _watch_of(self.loop).add(self)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._headers_since is None:
            self._headers_since = time.monotonic()

    def on_headers_complete(self) -> None:
        self._headers_since = None
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_since = None
        _watch_of(self.loop).connections.discard(self)
        super().connection_lost(exc)

    def headers_overdue(self, now: float) -> bool:
        since = self._headers_since
        return since is not None and now - since >= self.header_timeout

    def _headers_too_slow(self) -> None:
        self._headers_since = None
        if not self.transport.is_closing():
            self.transport.close()


class _HeaderWatch:
    """One loop's open connections, swept for overdue headers every SWEEP_SECONDS while any are open. A timer
    per request (armed when it began, cancelled when its headers were complete) cost a timer-heap push and a
    cancellation on every request; this costs one clock read. A slow client is closed between its timeout
    and its timeout plus one sweep."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.connections: set[GuardedHttpToolsProtocol] = set()
        self._sweep: asyncio.TimerHandle | None = None

    def add(self, connection: GuardedHttpToolsProtocol) -> None:
        self.connections.add(connection)
        if self._sweep is None:
            self._sweep = self.loop.call_later(SWEEP_SECONDS, self.sweep)

    def sweep(self) -> None:
        self._sweep = None
        now = time.monotonic()
        for connection in [c for c in self.connections if c.headers_overdue(now)]:
            self.connections.discard(connection)
            connection._headers_too_slow()
        if self.connections:
            self._sweep = self.loop.call_later(SWEEP_SECONDS, self.sweep)


SWEEP_SECONDS = 0.5
# per event loop (a process serves on one; tests may run several servers, each on its own loop in a thread)
_WATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _HeaderWatch] = weakref.WeakKeyDictionary()


def _watch_of(loop: asyncio.AbstractEventLoop) -> _HeaderWatch:
    watch = _WATCHES.get(loop)
    if watch is None:
        watch = _WATCHES[loop] = _HeaderWatch(loop)
    return watch


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
