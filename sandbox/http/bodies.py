"""Bounded bodies outside the vendor gateway (the control plane, the dashboard's forms, the docs).

The gateway bounds vendor bodies itself; everything else goes through here: a body larger than the limit is
answered 413, one that is not complete within the timeout 408, before any route reads it. Without this a
single POST to /_sandbox could make FastAPI buffer gigabytes, or hold a connection open by trickling.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from enkash_sandbox.http.gateway import VENDOR_PREFIXES, BodyTooLarge, read_body, replay_receive

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(VENDOR_PREFIXES) or scope["method"] in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        try:
            body = await asyncio.wait_for(read_body(receive, self.limit), self.timeout)
        except BodyTooLarge:
            return await _answer(
                send, 413, b'{"error":"payload_too_large","detail":"the body is larger than the sandbox accepts"}'
            )
        except TimeoutError:
            return await _answer(send, 408, b'{"error":"request_timeout","detail":"the body did not arrive in time"}')
        await self.app(scope, replay_receive(body, receive), send)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
