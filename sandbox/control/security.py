"""Control-plane access: with ENKASH_SANDBOX_ADMIN_TOKEN set, every /_sandbox call needs it.

Open without it: GET /health (for orchestrators), and what card holders and partner apps load from
links in vendor responses — static files, catalog images, VKYC pages (guarded by their own tokens).
The dashboard takes the token once through a login form and keeps it in a cookie.
"""

from __future__ import annotations

import hmac

from enkash_sandbox import jsonio

OPEN_PREFIXES = ("/static/", "/docs-assets/", "/catalog/images/", "/vkyc/", "/ui/login")
COOKIE = "enkash_sandbox_admin"


class AdminTokenMiddleware:
    def __init__(self, app, token: str | None):
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.token or self._open(scope):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        if self._presented(headers):
            return await self.app(scope, receive, send)
        if self._relative(scope).startswith("/ui"):
            root = scope.get("root_path", "")
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", f"{root}/ui/login".encode()), (b"content-length", b"0")]})
            return await send({"type": "http.response.body", "body": b""})
        body = jsonio.dumps({"error": "unauthorized",
                             "detail": "this control plane needs Authorization: Bearer <ENKASH_SANDBOX_ADMIN_TOKEN>"})
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b'Bearer realm="enkash-sandbox-control"')]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _relative(scope) -> str:
        path, root = scope["path"], scope.get("root_path", "")
        return path[len(root):] if root and path.startswith(root) else path

    def _open(self, scope) -> bool:
        path = self._relative(scope)
        return (path == "/health" and scope["method"] in ("GET", "HEAD")) or path.startswith(OPEN_PREFIXES)

    def _presented(self, headers: dict) -> bool:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), self.token):
            return True
        for part in headers.get("cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and hmac.compare_digest(value, self.token):
                return True
        return False
