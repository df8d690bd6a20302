"""X-Sandbox-Explain: a plain-text sentence on every failed vendor answer, readable with curl or Postman.

The body of a failure stays what EnKash would send (encrypted for an encrypted request, as UAT does), so a
developer looking at `{"request": "oq+8…"}` cannot tell what went wrong. The gateway adds this header to
every non-2xx answer and every business failure (HTTP 200 with response_code 1): what was wrong, what to do
about it, and where the journal entry is. A raise site that knows better names the fix itself (the `hint` of
VendorError and AuthError, passed on through the request's state); otherwise the hint is derived here from the
status and the caller.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from enkash_sandbox import jsonio
from starlette.types import Message, Send

if TYPE_CHECKING:
    from enkash_sandbox.products.auth.service import Principal

HEADER = b"x-sandbox-explain"
# a header is one line of latin-1; browsers and proxies cope with a few hundred bytes, not with kilobytes
MAX_CHARS = 900
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")
# cheap byte checks first: most answers are successes and must not be parsed twice
_FAILURE_MARKS = (b'"response_code":1', b'"code":1', b'"response_code": 1', b'"code": 1')
_HEAD_BYTES = 32

TOKEN_HELP = (
    "get a token with POST /oauth/token (Basic clientId:clientSecret, grant_type=password, username, password) "
    "and send it as 'Authorization: Bearer <access_token>'"
)


def _message(body: bytes) -> str | None:
    try:
        data = jsonio.loads(body)
    except (jsonio.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    for key in ("response_message", "message", "error_description"):
        value = data.get(key)
        if isinstance(value, str) and value:
            error = data.get("error")
            return f"{error}: {value}" if key == "error_description" and isinstance(error, str) else value
    if data.get("status") == 404 and "path" in data:
        return f"no EnKash operation at {data['path']}"
    if data.get("status") == 405 and "path" in data:
        return f"method not allowed on {data['path']}"
    return None


def _is_business_failure(body: bytes) -> bool:
    # a failure envelope (envelopes.failure_body) starts with its code, so only the head is searched: scanning
    # a whole card answer (2.6 KB) for every mark was 7 us of every successful request
    head = body[:_HEAD_BYTES]
    if not any(mark in head for mark in _FAILURE_MARKS):
        return False
    try:
        data = jsonio.loads(body)
    except (jsonio.JSONDecodeError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and (data.get("response_code") == 1 or data.get("code") == 1)


def failed(status: int, body: bytes) -> bool:
    """Whether an answer is a failure: a non-2xx status, or a business failure (HTTP 200, response_code 1)."""
    return not 200 <= status < 300 or _is_business_failure(body)


def derived_hint(status: int, message: str, method: str, path: str, principal: Principal | None, fault: dict | None) -> str:
    """What to do, when the raise site did not say."""
    if fault is not None:
        source = str(fault.get("source") or "")
        if source == "header":
            return "this failure was injected by the X-Sandbox-Fault header you sent; drop the header to get the real answer"
        if source.startswith("rule:"):
            return (
                f"this failure was injected by fault rule {source[5:]}; list the rules with GET /_sandbox/faults "
                f"and remove it with DELETE /_sandbox/faults/{source[5:]}"
            )
        if source.startswith("magic:"):
            return (
                f"this failure was injected by the magic value {source[6:]} in your request (docs/MAGIC_VALUES.md); "
                "use another value, or start the sandbox with ENKASH_SANDBOX_MAGIC_VALUES=false"
            )
    lowered = message.lower()
    if status == 401 and path.startswith("/api/") and principal is None:
        return TOKEN_HELP
    if status == 401 and path.startswith("/oauth/"):
        return "send 'Authorization: Basic base64(clientId:clientSecret)' with the credentials POST /_sandbox/partners returned"
    if status == 403:
        return "this operation needs another kind of token (a partner's, or a card holder's from the password grant)"
    if status == 404 and lowered.startswith("no enkash operation"):
        return f"check the method and path against /docs (the OpenAPI contract); {method} {path} is not an EnKash operation"
    if status == 404:
        return "the id is unknown to this tenant (another tenant's ids answer the same); list yours on the dashboard /_sandbox/ui"
    if status == 415:
        return "send 'Content-Type: application/json'"
    if status == 413:
        return "send a smaller body (ENKASH_SANDBOX_MAX_BODY_BYTES; the bulk route takes 16 MiB from an authenticated partner)"
    if status == 408:
        return "send the whole body promptly (ENKASH_SANDBOX_BODY_TIMEOUT_SECONDS)"
    if status in (400, 422) and "encrypt" in lowered:
        return (
            'send {"request": "<Base64 of AES-128-ECB(JSON)>"} keyed by the first 16 bytes of SHA-256(clientSecret) '
            "(enkash-sandbox encrypt --secret S JSON), or provision a tenant with encryption optional or off"
        )
    if status in (400, 422):
        return "fix the field named above; the accepted fields and formats are in /docs"
    if status == 200 and "insufficient balance" in lowered:
        return "fund the card account: enkash-sandbox fund ACCOUNT AMOUNT, or POST /_sandbox/card-accounts/{id}/fund"
    if status == 200:
        return "EnKash understood the request but did not carry it out (response_code 1); nothing changed"
    if status >= 500:
        return "an unexpected sandbox error; the server log has the traceback"
    return "see the journal entry for the request and answer as the sandbox saw them"


def explanation(
    status: int,
    body: bytes,
    *,
    method: str,
    path: str,
    principal: Principal | None,
    hint: str | None,
    fault: dict | None,
    journal_id: int | None,
) -> str | None:
    """The header's text, or None for an answer that did not fail."""
    if not failed(status, body):
        return None
    message = (_message(body) or f"HTTP {status}").rstrip(". ")
    what = f"{status} {message}" if status != 200 else f"business failure (response_code 1): {message}"
    todo = (hint or derived_hint(status, message, method, path, principal, fault)).rstrip(". ")
    pointer = f" Journal: /_sandbox/requests/{journal_id}" if journal_id is not None else ""
    text = _UNSAFE.sub(" ", f"{what}. What to do: {todo}.")
    # a header is ASCII for every client (HTTP allows Latin-1 bytes, but clients decode them differently or
    # refuse them): what a caller sent in another script is shown escaped, \u00e9-style
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    if len(text) + len(pointer) > MAX_CHARS:
        # a long message (a bulk body's errors) is cut; the pointer to the whole story is kept
        text = text[: MAX_CHARS - len(pointer) - 3] + "..."
    return text + pointer


def explaining_send(send: Send, state: dict[str, Any], describe: Any) -> Send:
    """Wrap the plaintext `send` (inside the envelope's sealing): hold the response start until the body is
    complete, then add the header if the answer failed. `describe(status, body)` returns the text or None."""
    start: Message | None = None

    async def wrapped(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if message["type"] != "http.response.body" or start is None:
            return await send(message)
        if message.get("more_body", False):
            # a streamed answer (no vendor operation streams a failure): passed on unexplained
            await send(start)
            start = None
            return await send(message)
        text = describe(start["status"], message.get("body", b""))
        if text is not None:
            state["explained"] = text
            start = {**start, "headers": [*start.get("headers", ()), (HEADER, text.encode("ascii", "replace"))]}
        await send(start)
        start = None
        await send(message)

    return wrapped
