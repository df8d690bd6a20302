"""The Host header check (DNS rebinding): a sandbox bound to loopback answers only requests addressed to a
loopback name, so a web page whose domain was re-pointed at 127.0.0.1 cannot talk to it.

Starlette's TrustedHostMiddleware would do, but it splits `[::1]:8080` at the first colon and so can never
accept an IPv6 loopback address; this one parses the header properly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enkash_sandbox.config import Settings
    from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The host names accepted, or None for any (bound beyond loopback: reachable by service or LAN names,
    and then the admin token guards the control plane)."""
    extra = {h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip()}
    if "*" in extra or settings.host not in LOOPBACK:
        return None
    return frozenset({*LOOPBACK, settings.host.lower(), *extra})


def host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostCheckMiddleware:
    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed
        # Host header values already found allowed, as sent (bounded: the header is the caller's)
        self._passed: set[bytes] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        raw = b""
        for key, value in scope.get("headers", ()):
            if key == b"host":
                raw = value
                break
        if raw in self._passed:
            return await self.app(scope, receive, send)
        if host_name(raw.decode("latin-1")) in self.allowed:
            if len(self._passed) < 64:
                self._passed.add(raw)
            return await self.app(scope, receive, send)
        body = (
            b'{"error":"invalid_host","detail":"this sandbox answers only requests addressed to a loopback '
            b'host; set ENKASH_SANDBOX_ALLOWED_HOSTS to add a name"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
