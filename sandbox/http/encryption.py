"""The AES envelope: opening a partner's {"request": "<base64>"} body and sealing the answer.

A partner in `required` mode that sends plain JSON is refused before anything changes; a partner in
`off` mode never has its body decrypted; the response to an encrypted request is encrypted the same way.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from enkash_sandbox import crypto, jsonio
from enkash_sandbox.http.explain import failed
from enkash_sandbox.products.auth.service import Principal

if TYPE_CHECKING:
    from starlette.types import Message, Send


class EnvelopeRejected(Exception):
    def __init__(self, message: str):
        self.status = 422
        self.message = message
        super().__init__(message)


UNREADABLE = (
    "Invalid encrypted request: the request does not decrypt to JSON with this partner's key "
    "(AES-128-ECB, PKCS#7, key = SHA-256(clientSecret)[:16])"
)
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")

MANDATORY = (
    "Invalid encrypted request: encryption is mandatory for this partner; send "
    '{"request": "<Base64 of AES-128-ECB(JSON) keyed by SHA-256(clientSecret)[:16]>"}'
)


def open_body(principal: Principal | None, body: bytes) -> tuple[bytes, bool]:
    """(plaintext body, whether it was encrypted). Raises EnvelopeRejected with EnKash's 422 reason."""
    if principal is None or not body.strip() or principal.encryption == "off":
        return body, False
    envelope = _as_envelope(body)
    if envelope is None:
        if principal.encryption == "required":
            raise EnvelopeRejected(MANDATORY)
        return body, False
    if not envelope or not _BASE64.match(envelope):
        raise EnvelopeRejected("Invalid encrypted request: request must be a non-empty Base64 string")
    # one answer for every way the ciphertext can fail past its Base64 form (length, padding, wrong key,
    # not JSON inside), so the reply tells a prober nothing about the plaintext (no padding oracle)
    try:
        plaintext = crypto.decrypt(envelope, principal.client_secret)
        jsonio.loads(plaintext)
    except (crypto.EnvelopeError, jsonio.JSONDecodeError):
        raise EnvelopeRejected(UNREADABLE) from None
    return plaintext, True


def _as_envelope(body: bytes) -> str | None:
    """The ciphertext if the body is {"request": <value>}; None for any other body."""
    try:
        data = jsonio.loads(body)
    except jsonio.JSONDecodeError:
        return None
    if isinstance(data, dict) and len(data) == 1 and "request" in data:
        value = data["request"]
        return value if isinstance(value, str) else ""
    return None


def sealing_send(send: Send, secret: str, state: dict[str, Any], *, plain_failures: bool = False) -> Send:
    """Wrap `send` so the response body goes out as {"request": "<base64 ciphertext>"}. With `plain_failures`
    (the profile's errorBodies=plain) a failed answer goes out as it is, readable without the key."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body":
            return await send(message)
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        assert start is not None  # the response start always comes before its body
        plain = b"".join(chunks)
        state["plain_response"] = plain
        if plain_failures and failed(start["status"], plain):
            await send(start)
            await send({"type": "http.response.body", "body": plain})
            return
        out = jsonio.dumps({"request": crypto.encrypt(plain, secret)}) if plain else b""
        headers = [(k, v) for k, v in start["headers"] if k not in (b"content-length", b"content-type")]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": out})

    return wrapped
