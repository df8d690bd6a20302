"""The AES envelope, in one place for every vendor route.

Incoming {"request": "<base64>"} bodies are decrypted with the calling partner's secret before any
route sees them; the response to such a request is encrypted the same way. A partner in `required`
mode that sends plain JSON is refused before anything changes.
"""

from __future__ import annotations

from sandbox import crypto, jsonio
from sandbox.api.responses import failure_body

VENDOR_PREFIX = "/api/"


class BodyTooLarge(Exception):
    pass


async def read_body(receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_receive(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def bearer_token(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


async def send_json(send, status: int, body: dict) -> None:
    payload = jsonio.dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


class EnvelopeMiddleware:
    def __init__(self, app, core):
        self.app = app
        self.core = core

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(VENDOR_PREFIX):
            return await self.app(scope, receive, send)
        settings = self.core.settings
        state = scope.setdefault("state", {})
        try:
            body = await read_body(receive, settings.max_body_bytes)
        except BodyTooLarge:
            return await send_json(send, 413, failure_body(
                settings, f"Request body is larger than {settings.max_body_bytes} bytes"))
        token = bearer_token(scope)
        principal = self.core.auth.resolve(token) if token else None
        state["principal"] = principal
        state["raw_body"] = body
        encrypted = False
        if principal is not None and body.strip() and principal.encryption != "off":
            envelope = _as_envelope(body)
            if envelope is not None:
                try:
                    plaintext = crypto.decrypt(envelope, principal.client_secret)
                    jsonio.loads(plaintext)
                except (crypto.EnvelopeError, jsonio.JSONDecodeError) as exc:
                    reason = str(exc) if isinstance(exc, crypto.EnvelopeError) else "decrypted payload is not JSON"
                    return await send_json(send, 422, failure_body(settings, f"Invalid encrypted request: {reason}"))
                body, encrypted = plaintext, True
            elif principal.encryption == "required":
                return await send_json(send, 422, failure_body(
                    settings,
                    'Invalid encrypted request: encryption is mandatory for this partner; send '
                    '{"request": "<Base64 of AES-128-ECB(JSON) keyed by SHA-256(clientSecret)[:16]>"}',
                ))
        state["encrypted"] = encrypted
        state["plain_body"] = body
        if not encrypted:
            return await self.app(scope, replay_receive(body), send)
        await self.app(scope, replay_receive(body), _encrypting_send(send, principal.client_secret, state))


def _as_envelope(body: bytes) -> str | None:
    """The ciphertext if the body is {"request": <string>}; None for any other body."""
    try:
        data = jsonio.loads(body)
    except jsonio.JSONDecodeError:
        return None
    if isinstance(data, dict) and len(data) == 1 and "request" in data:
        value = data["request"]
        return value if isinstance(value, str) else ""
    return None


def _encrypting_send(send, secret: str, state: dict):
    start: dict | None = None
    chunks: list[bytes] = []

    async def wrapped(message):
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body":
            return await send(message)
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        plain = b"".join(chunks)
        state["plain_response"] = plain
        out = jsonio.dumps({"request": crypto.encrypt(plain, secret)}) if plain else b""
        headers = [(k, v) for k, v in start["headers"] if k not in (b"content-length", b"content-type")]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": out})

    return wrapped
