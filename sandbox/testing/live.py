"""Running the sandbox inside a test process: a real socket, a thread, a throw-away store."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import httpx
import uvicorn
from enkash_sandbox.config import Settings
from enkash_sandbox.http.serving import protocol_with_timeout

if TYPE_CHECKING:
    from enkash_sandbox.container import Container


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveSandbox:
    """A sandbox served by uvicorn in a daemon thread, as a partner's test suite runs it."""

    def __init__(self, settings: Settings):
        from enkash_sandbox.app import create_app

        self.app = create_app(settings)
        self.container: Container = self.app.state.container
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # the admin token a control client of this sandbox sends (the pytest plugin's sandbox needs none)
        self.admin_token: str | None = None
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            http=protocol_with_timeout(settings.header_timeout_seconds),
            loop=settings.loop,
            limit_concurrency=2000,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="enkash-sandbox")

    def __enter__(self) -> LiveSandbox:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.container.close()

    def provision(self, **body) -> dict:
        return provision(self.url, **body)


def provision(url: str, admin_token: str | None = None, **body) -> dict:
    """POST /_sandbox/partners: a fresh isolated tenant and its credentials."""
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    response = httpx.post(f"{url.rstrip('/')}/_sandbox/partners", json=body or None, headers=headers, timeout=30)
    response.raise_for_status()
    return response.json()
