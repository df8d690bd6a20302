"""A local webhook receiver: what a partner's backend is to the sandbox, in a thread of the test process.

    def test_load_notifies(enkash_client, enkash_webhooks):
        enkash_webhooks.subscribe(enkash_client, ["CARD_LOADED"])
        enkash_client.load(...)
        event = enkash_webhooks.wait_for("CARD_LOADED")
        assert event["amount"] == Decimal("250")

Every delivery is kept with its raw body and headers; with a secret set (`subscribe` sets it), each one's
X-Enkash-Sandbox-Signature is verified and `wait_for` only returns verified payloads. The answers it gives can
be scripted (`answer_with`) to test retries, and it can be made to hang (`hang_for`) to test timeouts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from enkash_sandbox import jsonio
from enkash_sandbox.client import EnKashClient, verify_signature

SIGNATURE_HEADER = "X-Enkash-Sandbox-Signature"


@dataclass
class Delivery:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    verified: bool | None
    received_at: float = field(default_factory=time.time)

    @property
    def payload(self) -> Any:
        """The body as JSON, amounts as Decimal (exact, as sent)."""
        try:
            return jsonio.loads_exact(self.body)
        except ValueError:
            return None

    @property
    def event_type(self) -> str | None:
        payload = self.payload
        return payload.get("eventType") if isinstance(payload, dict) else None

    @property
    def event_id(self) -> str | None:
        return self.headers.get("x-enkash-sandbox-event-id")

    @property
    def delivery_id(self) -> str | None:
        return self.headers.get("x-enkash-sandbox-delivery-id")


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1", path: str = "/webhooks", on_delivery: Callable[[Delivery], None] | None = None):
        self.secret: str | None = None
        self.tolerance = 300
        self.received: list[Delivery] = []
        self.on_delivery = on_delivery
        self._answers: list[int] = []
        self._hang = 0.0
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._handle(self, body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not traffic
                return

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}{path}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="enkash-webhook-receiver", daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def close(self) -> None:
        self._hang = 0.0
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- scripting its answers ----------------------------------------------------------------------------------
    def answer_with(self, *statuses: int) -> None:
        """The next deliveries get these statuses, in order; after them, 200 again."""
        with self._lock:
            self._answers.extend(statuses)

    def hang_for(self, seconds: float) -> None:
        """Each delivery waits this long before it is answered (0: answer at once)."""
        self._hang = seconds

    def subscribe(self, client: EnKashClient, events: list[str], **options: Any) -> dict:
        """Register this receiver for the client's partner (control plane) and verify with its secret."""
        sub = client.subscribe_webhook(self.url, events, **options)
        self.secret = sub["secret"]
        return sub

    # -- what arrived -------------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            status = self._answers.pop(0) if self._answers else 200
        deadline = time.monotonic() + self._hang
        while self._hang and time.monotonic() < deadline:
            time.sleep(0.05)
        verified = None
        if self.secret is not None:
            header = headers.get(SIGNATURE_HEADER.lower())
            verified = header is not None and verify_signature(body, header, self.secret, self.tolerance)
        delivery = Delivery(handler.path, headers, body, status, verified)
        answer = json.dumps({"received": status < 300}).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(answer)))
            handler.end_headers()
            handler.wfile.write(answer)
        except OSError:  # the sandbox gave up waiting (its timeout): the delivery still counts as received
            pass
        with self._lock:
            self.received.append(delivery)
            self._lock.notify_all()
        if self.on_delivery is not None:
            self.on_delivery(delivery)

    def events(self, event_type: str | None = None) -> list[Delivery]:
        """Deliveries answered 2xx (what the sandbox counts as delivered), optionally of one event type."""
        with self._lock:
            return [d for d in self.received if d.status < 300 and (event_type is None or d.event_type == event_type)]

    def wait_for(self, event_type: str, timeout: float = 5.0, *, count: int = 1) -> dict:
        """The payload of the `count`-th delivered `event_type` event (verified when a secret is set), waiting
        up to `timeout` seconds; fails listing what did arrive."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                matching = [d for d in self.received if d.status < 300 and d.event_type == event_type]
                if len(matching) >= count:
                    delivery = matching[count - 1]
                    if delivery.verified is False:
                        raise AssertionError(
                            f"{event_type} arrived but its {SIGNATURE_HEADER} did not verify with the receiver's secret "
                            f"(header: {delivery.headers.get(SIGNATURE_HEADER.lower())!r})"
                        )
                    payload: dict = delivery.payload
                    return payload
                left = deadline - time.monotonic()
                if left <= 0:
                    arrived = [f"{d.event_type} (HTTP {d.status}, verified={d.verified})" for d in self.received]
                    raise AssertionError(
                        f"no {event_type} webhook within {timeout:g} s (wanted {count}, got {len(matching)}); "
                        f"arrived at {self.url}: {arrived or 'nothing'}"
                    )
                self._lock.wait(left)
