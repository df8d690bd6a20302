"""The vendor gateway: the one pure-ASGI layer every EnKash-shaped request passes through.

In order: resolve the caller's token and adopt the store's control state (Work.lookup: inline on SQLite, a
read-pool hop on PostgreSQL) ->
read the body (the bulk route's large limit only for an authenticated partner; 413 past the limit, 408 if
the client stops sending) -> open the AES envelope -> ask the fault engine -> run the route (or answer with
the fault) -> seal the response -> journal it. The control plane (/_sandbox) does not pass through here.

Nothing here waits for the store on the event loop: the token and the control state are a few indexed rows
(read on the loop from SQLite's WAL snapshot, which never waits; in a worker thread from PostgreSQL), and a
fault rule is claimed in a worker thread.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from enkash_sandbox import jsonio
from enkash_sandbox import profile as profiles
from enkash_sandbox.envelopes import Styled, failure_body
from enkash_sandbox.errors import VendorError
from enkash_sandbox.faults import engine as fault_mod
from enkash_sandbox.faults.engine import Fault
from enkash_sandbox.http.encryption import EnvelopeRejected, open_body, sealing_send
from enkash_sandbox.http.explain import explaining_send, explanation
from enkash_sandbox.http.journal import PATH_SECRET_KEYS, RawBody, redact_header, redact_path, redact_query
from enkash_sandbox.products.deps import needs_of
from enkash_sandbox.vocabulary import PrincipalKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from enkash_sandbox.container import Container
    from enkash_sandbox.products.auth.service import Principal

VENDOR_PREFIXES = ("/api/", "/oauth/", "/sso/")
# names the magic value that answered a request (sent back), and opts a request in under magicValues=header
MAGIC_HEADER = "x-sandbox-magic"
# at most this many large bodies are read at once, so concurrent uploads cannot exhaust memory
LARGE_BODY_SLOTS = 4


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, limit: int) -> bytes:
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


def replay_receive(body: bytes, receive: Receive) -> Receive:
    """Hand the (decrypted) body to the route, then pass on whatever the connection says next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def bearer_token(headers: dict) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def prepare(container: Container, token: str | None) -> Principal | None:
    """The store half of the gateway (run through Work.lookup): adopt the control state other workers may have changed (clock,
    fault rules, epoch), then resolve the bearer token."""
    container.control.refresh()
    container.faults.rules()
    return container.auth.resolve(token) if token else None


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.faults = container.faults
        self.journal = container.journal
        self._large_bodies: asyncio.Semaphore | None = None
        # the profile of a request no token has named yet (the settings' defaults)
        self.default_profile = profiles.resolve(container.settings, None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(VENDOR_PREFIXES):
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        path = redact_path(scope["path"])
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": scope["method"],
            "path": path,
            "query": redact_query(scope.get("query_string", b"").decode("latin-1")),
            "partnerId": None,
            "encrypted": False,
            "fault": None,
            "requestHeaders": {
                k: redact_header(k, v)
                for k, v in headers.items()
                if k in ("authorization", "partnerid", "content-type", "x-sandbox-fault")
            },
        }
        # reserved now so that X-Sandbox-Explain can name the entry before the answer goes out
        entry["id"] = self.journal.reserve()
        recorder = _Recorder(send)
        try:
            await self._handle(scope, receive, recorder, state, headers, entry)
        finally:
            # attributed to a partner only once something authenticated it: the gateway's token, or a route
            # that checked Basic credentials or an SSO token (never the unauthenticated partnerId header)
            principal = state.get("principal")
            entry["partnerId"] = principal.partner_id if principal is not None else state.get("journal_partner_id")
            entry["status"] = recorder.status
            entry["latencyMs"] = round((time.perf_counter() - started) * 1000, 2)
            if "explained" in state:
                entry["explain"] = state["explained"]
            # bodies are kept raw (up to a limit) and decoded and redacted only when someone reads the journal
            entry["responseBody"] = RawBody(
                state.get("plain_response", recorder.body),
                recorder.content_type,
                self.container.settings.journal_body_bytes,
                PATH_SECRET_KEYS.get(scope["path"], frozenset()),
            )
            self.journal.record(entry)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any], headers: dict[str, str], entry: dict[str, Any]
    ) -> None:
        settings = self.container.settings
        raw_send = send
        entry["requestBody"] = None
        token = bearer_token(headers) if scope["path"].startswith("/api/") else None

        def describe(status: int, body: bytes) -> str | None:
            return explanation(
                status,
                body,
                method=scope["method"],
                path=scope["path"],
                principal=state.get("principal"),
                hint=state.get("explain"),
                fault=entry.get("fault"),
                journal_id=entry.get("id"),
            )

        # the explanation is added to the plaintext answer, inside the envelope's sealing (the body it reads)
        send = explaining_send(send, state, describe)
        # on SQLite this is a stat() and dictionary look-ups (a PK read on a cache miss); see Work.lookup
        principal = await self.container.work.lookup(prepare, self.container, token)
        state["principal"] = principal
        # failures answered here use the tenant's envelope style, as the routes' do
        styled: Styled = principal.profile if principal is not None else settings
        # a route may declare a larger body limit (the bulk allocation); it applies to an authenticated partner
        declared = needs_of(scope["method"], scope["path"]).body_limit
        large = declared is not None and principal is not None and principal.kind == PrincipalKind.PARTNER
        limit = declared if large and declared is not None else settings.max_body_bytes
        try:
            # the usual body arrives in one message: read it directly; only a body still streaming gets the
            # timeout (asyncio.wait_for costs a task per call)
            first = await receive()
            body = first.get("body", b"") if first["type"] == "http.request" else b""
            if len(body) > limit:
                raise BodyTooLarge
            if first.get("more_body", False):
                if large:
                    if self._large_bodies is None:
                        self._large_bodies = asyncio.Semaphore(LARGE_BODY_SLOTS)
                    async with self._large_bodies:
                        rest = await asyncio.wait_for(read_body(receive, limit - len(body)), settings.body_timeout_seconds)
                else:
                    rest = await asyncio.wait_for(read_body(receive, limit - len(body)), settings.body_timeout_seconds)
                body += rest
        except BodyTooLarge:
            return await _send_json(send, 413, failure_body(styled, f"Request body is larger than {limit} bytes"))
        except TimeoutError:
            return await _send_json(
                send, 408, failure_body(styled, f"Request body not received within {settings.body_timeout_seconds:g} s")
            )
        keep = settings.journal_body_bytes
        try:
            plain, encrypted = open_body(principal, body)
        except EnvelopeRejected as exc:
            entry["requestBody"] = RawBody(body, headers.get("content-type", ""), keep)
            return await _send_json(send, exc.status, failure_body(styled, exc.message))
        entry["encrypted"] = encrypted
        entry["requestBody"] = RawBody(plain, headers.get("content-type", ""), keep)
        # an encrypted body was opened with the principal's secret, so there is a principal whenever `encrypted`;
        # a GET has no body to mirror, and a `required` partner's GET answers are sealed too (profile getEncryption)
        sealed = encrypted or (
            principal is not None
            and scope["method"] == "GET"
            and principal.encryption == "required"
            and principal.profile.get_encryption == "sealed"
        )
        out = (
            explaining_send(
                sealing_send(raw_send, principal.client_secret, state, plain_failures=principal.profile.error_bodies == "plain"),
                state,
                describe,
            )
            if sealed and principal is not None
            else send
        )
        # parsed once: the fault rules match on it and the route's body dependency reads it (products/deps.py)
        state["plain_body"] = plain
        try:
            parsed = jsonio.loads(plain) if plain.strip() else None
        except jsonio.JSONDecodeError:
            parsed = None
        else:
            state["parsed_body"] = parsed
        try:
            fault = await self._decide(scope, headers, principal, parsed)
        except VendorError as exc:
            return await _send_json(out, exc.status, failure_body(styled, exc.message))
        if fault is not None:
            entry["fault"] = fault.describe()
            if fault.source.startswith("magic:"):
                # a magic value fired on an ordinary request: say so, or a partner debugs a failure UAT never gives
                out, raw_send = _announce(out, fault.source), _announce(raw_send, fault.source)
            await fault_mod.delay(fault)
            if not fault.passes_through:
                return await self._answer(fault, out, raw_send, styled)
        await self.app(scope, replay_receive(plain, receive), out)

    async def _decide(self, scope: Scope, headers: dict[str, str], principal: Principal | None, parsed: Any) -> Fault | None:
        # the tenant's profile (magicValues): on, only when the request asks (X-Sandbox-Magic: on), or off
        mode = principal.profile.magic_values if principal is not None else self.default_profile.magic_values
        magic_values = mode == "on" or (mode == "header" and headers.get(MAGIC_HEADER, "").strip().lower() == "on")
        decision = self.faults.evaluate(
            scope["method"],
            scope["path"],
            headers,
            principal.partner_id if principal else None,
            parsed,
            magic_values=magic_values,
        )
        if decision.header is not None:
            return decision.header
        for rule in decision.candidates:
            if await self.container.work.write(self.faults.claim, rule):
                return self.faults.rule_fault(rule)
        return decision.magic

    async def _answer(self, fault: Fault, sealed_send: Send, raw_send: Send, styled: Styled) -> None:
        settings = self.container.settings
        if fault.kind == "drop":
            # promise a body, send none, and let the server close the connection under the client
            await raw_send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
                }
            )
            await raw_send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if fault.kind == "malformed":
            body = b'{"response_code":0,"response_message":"Success","payload":{"enKashCardId":"EKC'
            await raw_send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await raw_send({"type": "http.response.body", "body": body})
            return
        if fault.kind == "timeout":
            await asyncio.sleep(settings.fault_timeout_seconds)
            return await _send_json(sealed_send, 504, failure_body(styled, fault.message or "Gateway Timeout"))
        if fault.kind in ("insufficient_balance", "business_failure"):
            message = fault.message or "Insufficient balance in card account"
            return await _send_json(sealed_send, 200, failure_body(styled, message))
        extra = {}
        if fault.kind == "rate_limit" or fault.status == 503:
            extra["retry-after"] = str(fault.retry_after or 1)
        status = fault.status or 500
        message = fault.message or f"Injected fault: {fault_mod.STATUS_TEXT.get(status, 'Error')}"
        await _send_json(sealed_send, status, failure_body(styled, message), extra)


class _Recorder:
    """Passes messages on and remembers the status and (outgoing) body for the journal."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.content_type = ""
        self.chunks: list[bytes] = []
        self.kept = 0

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for k, v in message.get("headers", ()):
                if k.lower() == b"content-type":
                    self.content_type = v.decode("latin-1")
        elif message["type"] == "http.response.body" and self.kept < 256 * 1024:
            chunk = message.get("body", b"")
            self.chunks.append(chunk)
            self.kept += len(chunk)
        await self.send(message)


def _announce(send: Send, source: str) -> Send:
    """Add `X-Sandbox-Magic: <trigger>` to the response that `send` starts."""
    value = source.removeprefix("magic:").encode("latin-1", "replace")

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (MAGIC_HEADER.encode(), value)]}
        await send(message)

    return wrapped


async def _send_json(send: Send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    payload = jsonio.dumps(body)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
