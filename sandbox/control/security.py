"""Who may change the sandbox's state.

- With ENKASH_SANDBOX_ADMIN_TOKEN set, every /_sandbox call needs it (Bearer header, or the dashboard's
  cookie set by its login form). Open without it: GET /health (for orchestrators), and what card holders and
  partner apps load from links in vendor responses — static files, catalog images, VKYC pages (guarded by
  their own tokens).
- Whatever the token: a state-changing call (any method but GET/HEAD/OPTIONS) whose Origin — or, without
  one, Referer — is not the sandbox's own origin is refused with 403. A web page the developer happens to
  open cannot reset the store or install a fault rule with a no-cors fetch or an auto-submitting form, and
  another port on localhost cannot either (SameSite cookies ignore ports; origins do not). Command-line
  clients send neither header and are not affected. The dashboard's forms also carry a CSRF token (ui.py).
- Tokens are compared in constant time.
The Host header is checked for the whole app in app.py (DNS rebinding).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from enkash_sandbox import jsonio
from enkash_sandbox.crypto import same_secret

OPEN_PREFIXES = ("/static/", "/docs-assets/", "/catalog/images/", "/vkyc/", "/ui/login")
COOKIE = "enkash_sandbox_admin"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def own_origin(scope, headers: dict) -> str:
    scheme = scope.get("scheme", "http")
    return f"{scheme}://{headers.get('host', '')}".lower()


def foreign_origin(scope, headers: dict) -> str | None:
    """The origin a state-changing request came from, if it is not the sandbox's own (None when it is, or
    when the client sent no Origin/Referer at all, as command-line clients do)."""
    origin = headers.get("origin")
    if origin is None and headers.get("referer"):
        parts = urlsplit(headers["referer"])
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"
    if origin is None:
        return None
    return None if origin.lower() == own_origin(scope, headers) else origin


async def _refuse(send, status: int, error: str, detail: str, extra: list | None = None) -> None:
    body = jsonio.dumps({"error": error, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AdminTokenMiddleware:
    def __init__(self, app, token: str | None):
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        if scope["method"] not in SAFE_METHODS:
            origin = foreign_origin(scope, headers)
            if origin is not None:
                return await _refuse(
                    send,
                    403,
                    "forbidden",
                    f"a request from {origin[:100]} may not change this "
                    "sandbox's state; call it from the dashboard, a script or the CLI",
                )
        if not self.token or self._open(scope) or self._presented(headers):
            return await self.app(scope, receive, send)
        if self._relative(scope).startswith("/ui"):
            root = scope.get("root_path", "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [(b"location", f"{root}/ui/login".encode()), (b"content-length", b"0")],
                }
            )
            return await send({"type": "http.response.body", "body": b""})
        await _refuse(
            send,
            401,
            "unauthorized",
            "this control plane needs Authorization: Bearer <ENKASH_SANDBOX_ADMIN_TOKEN>",
            [(b"www-authenticate", b'Bearer realm="enkash-sandbox-control"')],
        )

    @staticmethod
    def _relative(scope) -> str:
        path, root = scope["path"], scope.get("root_path", "")
        return path[len(root) :] if root and path.startswith(root) else path

    def _open(self, scope) -> bool:
        path = self._relative(scope)
        return (path == "/health" and scope["method"] in ("GET", "HEAD")) or path.startswith(OPEN_PREFIXES)

    def _presented(self, headers: dict) -> bool:
        assert self.token is not None
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and same_secret(value.strip(), self.token):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and same_secret(value, self.token):
                return True
        return False
