"""`serve --workers N` on Linux: each worker process listens on a socket of its own (SO_REUSEPORT), and the
kernel spreads new connections over them.

uvicorn's supervisor hands every worker the one listening socket it bound. Whichever worker is in `accept()`
when a burst of connections arrives takes the whole burst (asyncio accepts up to the backlog per wake-up), and
keep-alive connections stay where they landed: measured with wrk -c32 on 2 workers, one run in three put all
32 connections on one process (2,012 searches/s against 3,697-3,834 when they split 16/16). With a socket per
worker the kernel assigns each connection by its address hash: an even split, whatever the timing.

The supervisor itself is uvicorn's (worker health checks, restarts, signals); only the worker's server differs.
Elsewhere (macOS, the BSDs) SO_REUSEPORT does not balance connections, so the shared socket stays.
"""

from __future__ import annotations

import socket
import sys
from unittest import mock

from uvicorn import Config, Server
from uvicorn.supervisors import Multiprocess, multiprocess


def balanced() -> bool:
    """Whether the kernel spreads connections over the sockets sharing a port (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def port_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) that other sockets of this user may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class BalancedServer(Server):
    """A worker's server on its own socket for the configured host and port (the one it was handed is the
    supervisor's placeholder, bound but never listening)."""

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        return super().run(sockets=[port_socket(self.config.host, self.config.port)])


class BalancedWorker(multiprocess.Process):
    """uvicorn's worker process, serving with BalancedServer (a module-level class: the spawned process
    unpickles it)."""

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = BalancedServer(config=self.config)
        return self._server


def run_balanced(config: Config) -> None:
    """Supervise `config.workers` worker processes, each on its own socket. The supervisor keeps a socket bound
    to the port (never listening, so the kernel gives it no connection) so that nothing else takes the port
    while workers start and restart."""
    placeholder = port_socket(config.host, config.port)
    try:
        # uvicorn's supervisor makes each worker (first start and every restart) with the module's `Process`
        with mock.patch.object(multiprocess, "Process", BalancedWorker):
            Multiprocess(config, sockets=[placeholder]).run()
    finally:
        placeholder.close()
