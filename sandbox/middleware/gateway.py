"""The vendor gateway: the one pure-ASGI layer every EnKash-shaped request passes through.

In order: read the body (413 past the limit) -> resolve the caller's token -> open the AES envelope ->
ask the fault engine -> run the route (or answer with the fault) -> seal the response -> journal it.
The control plane (/_sandbox) does not pass through here.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from enkash_sandbox import jsonio
from enkash_sandbox.api.responses import failure_body
from enkash_sandbox.errors import VendorError
from enkash_sandbox.middleware import faults as fault_mod
from enkash_sandbox.middleware.envelope import EnvelopeRejected, open_body, sealing_send
from enkash_sandbox.middleware.faults import Fault, FaultEngine
from enkash_sandbox.middleware.journal import Journal, RawBody, redact_header

VENDOR_PREFIXES = ("/api/", "/oauth/", "/sso/")
BULK_SUFFIX = "/bulk-create-allocate-points-json"


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


def replay_receive(body: bytes, receive):
    """Hand the (decrypted) body to the route, then pass on whatever the connection says next."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def bearer_token(headers: dict) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class GatewayMiddleware:
    def __init__(self, app, core):
        self.app = app
        self.core = core
        self.faults = FaultEngine(core)
        self.journal = Journal(core.settings.journal_size)
        core.faults = self.faults
        core.journal = self.journal

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(VENDOR_PREFIXES):
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "method": scope["method"],
                 "path": scope["path"], "query": scope.get("query_string", b"").decode("latin-1"),
                 "partnerId": headers.get("partnerid"), "encrypted": False, "fault": None,
                 "requestHeaders": {k: redact_header(k, v) for k, v in headers.items()
                                    if k in ("authorization", "partnerid", "content-type", "x-sandbox-fault")}}
        recorder = _Recorder(send)
        try:
            await self._handle(scope, receive, recorder, state, headers, entry)
        finally:
            entry["status"] = recorder.status
            entry["latencyMs"] = round((time.perf_counter() - started) * 1000, 2)
            # bodies are kept raw and decoded (and redacted) only when someone reads the journal
            entry["responseBody"] = RawBody(state.get("plain_response", recorder.body), recorder.content_type)
            self.journal.record(entry)

    async def _handle(self, scope, receive, send, state, headers, entry):
        settings = self.core.settings
        entry["requestBody"] = None
        limit = settings.max_bulk_body_bytes if scope["path"].endswith(BULK_SUFFIX) else settings.max_body_bytes
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            return await _send_json(send, 413, failure_body(settings, f"Request body is larger than {limit} bytes"))
        token = bearer_token(headers) if scope["path"].startswith("/api/") else None
        principal = self.core.auth.resolve(token) if token else None
        state["principal"] = principal
        if principal is not None:
            entry["partnerId"] = principal.partner_id
        elif scope["path"] == "/oauth/token":
            entry["partnerId"] = self.core.auth.partner_of_basic(headers.get("authorization"))
        try:
            plain, encrypted = open_body(principal, body)
        except EnvelopeRejected as exc:
            entry["requestBody"] = RawBody(body, headers.get("content-type", ""))
            return await _send_json(send, exc.status, failure_body(settings, exc.message))
        entry["encrypted"] = encrypted
        entry["requestBody"] = RawBody(plain, headers.get("content-type", ""))
        out = sealing_send(send, principal.client_secret, state) if encrypted else send
        try:
            parsed = jsonio.loads(plain) if plain.strip() else None
        except jsonio.JSONDecodeError:
            parsed = None
        try:
            fault = self.faults.decide(scope["method"], scope["path"], headers,
                                       principal.partner_id if principal else headers.get("partnerid"), parsed)
        except VendorError as exc:
            return await _send_json(out, exc.status, failure_body(settings, exc.message))
        if fault is not None:
            entry["fault"] = fault.describe()
            await fault_mod.delay(fault)
            if not fault.passes_through:
                return await self._answer(fault, out, send)
        await self.app(scope, replay_receive(plain, receive), out)

    async def _answer(self, fault: Fault, sealed_send, raw_send) -> None:
        settings = self.core.settings
        if fault.kind == "drop":
            # promise a body, send none, and let the server close the connection under the client
            await raw_send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await raw_send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if fault.kind == "malformed":
            body = b'{"response_code":0,"response_message":"Success","payload":{"enKashCardId":"EKC'
            await raw_send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
            await raw_send({"type": "http.response.body", "body": body})
            return
        if fault.kind == "timeout":
            await asyncio.sleep(settings.fault_timeout_seconds)
            return await _send_json(sealed_send, 504, failure_body(settings, fault.message or "Gateway Timeout"))
        if fault.kind in ("insufficient_balance", "business_failure"):
            message = fault.message or "Insufficient balance in card account"
            return await _send_json(sealed_send, 200, failure_body(settings, message))
        extra = {}
        if fault.kind == "rate_limit" or fault.status == 503:
            extra["retry-after"] = str(fault.retry_after or 1)
        status = fault.status or 500
        message = fault.message or f"Injected fault: {fault_mod.STATUS_TEXT.get(status, 'Error')}"
        await _send_json(sealed_send, status, failure_body(settings, message), extra)


class _Recorder:
    """Passes messages on and remembers the status and (outgoing) body for the journal."""

    def __init__(self, send):
        self.send = send
        self.status = 0
        self.content_type = ""
        self.chunks: list[bytes] = []

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def __call__(self, message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for k, v in message.get("headers", ()):
                if k.lower() == b"content-type":
                    self.content_type = v.decode("latin-1")
        elif message["type"] == "http.response.body" and len(self.chunks) < 64:
            self.chunks.append(message.get("body", b""))
        await self.send(message)


async def _send_json(send, status: int, body: dict, headers: dict | None = None) -> None:
    payload = jsonio.dumps(body)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
