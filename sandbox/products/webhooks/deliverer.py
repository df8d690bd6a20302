"""The deliverer: a background thread in every worker process that sends due outbox rows to their receivers.

Exactly once per (event, subscription), whichever process runs it:

- **Claim.** A due row is claimed by one guarded statement, `UPDATE … SET status = 'DELIVERING', claim_token = …
  WHERE id = :id AND (status = 'PENDING' AND next_attempt_at <= :now OR status = 'DELIVERING' AND
  claimed_until < :real)`. Of several processes reaching the same row, only the one whose UPDATE changed it
  sends it (on PostgreSQL the second waits for the first's row lock, re-reads the row and changes nothing; on
  SQLite writers take turns). The claim is a lease in *real* time: if the claimant dies, the row is claimed
  again once the lease runs out (at least once, then; only a killed process can cause a repeat).
- **Send** outside any transaction, on this thread pool's own HTTP client: nothing a request waits for is held
  while a receiver thinks, hangs or times out.
- **Record** the outcome guarded by the claim token, so a reset, a restore or an expired lease in between
  makes a late outcome change nothing.

Retries wait on the *sandbox* clock (`next_attempt_at`), so advancing it with `POST /_sandbox/clock` makes due
retries run at once; the clock is adopted from the store before every poll, whichever worker changed it.
Every store access goes through `Database.tx()`, under the same locks as requests (the right to write on
SQLite, the shared store lock on PostgreSQL), so a reset or restore never runs across a claim or a record.

The body sent is the stored event JSON text, byte for byte (read as text, never parsed into floats), with the
subscription's static headers (EnKash's documented mechanism) and, unless the subscription's `sign` flag is
off, the sandbox's own `X-Enkash-Sandbox-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from enkash_sandbox import __version__
from enkash_sandbox.clock import Clock, utcnow_real
from enkash_sandbox.config import Settings
from enkash_sandbox.faults.engine import FaultEngine
from enkash_sandbox.products.webhooks import outbox
from enkash_sandbox.store.control import ControlStore
from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.sql import Sql, Tx, as_json

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("enkash_sandbox.webhooks")

SIGNATURE_HEADER = "X-Enkash-Sandbox-Signature"
EVENT_ID_HEADER = "X-Enkash-Sandbox-Event-Id"
DELIVERY_ID_HEADER = "X-Enkash-Sandbox-Delivery-Id"
# what the deliverer sets itself; a subscription's static headers may not name these
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in ("Content-Type", "Content-Length", "Host", "User-Agent", SIGNATURE_HEADER, EVENT_ID_HEADER, DELIVERY_ID_HEADER)
)
# how much of a receiver's answer the attempt log keeps, and how many attempts per delivery it remembers
RESPONSE_EXCERPT_BYTES = 1024
LOG_ENTRIES = 50
# after a wake, how many more quick looks (and how far apart) before falling back to the poll interval
QUICK_LOOKS = 3
QUICK_LOOK_SECONDS = 0.005
# receivers answered at once per process (a hanging one holds one slot until its timeout)
SENDERS = 8

_DUE = Sql(
    "SELECT id FROM webhook_delivery WHERE (status = 'PENDING' AND next_attempt_at <= :now) "
    "OR (status = 'DELIVERING' AND claimed_until < :real) ORDER BY next_attempt_at, id LIMIT :limit"
)
_CLAIM = Sql(
    "UPDATE webhook_delivery SET status = 'DELIVERING', claimed_until = :lease, claim_token = :token, "
    "attempts = attempts + 1 WHERE id = :id AND ((status = 'PENDING' AND next_attempt_at <= :now) "
    "OR (status = 'DELIVERING' AND claimed_until < :real))"
)
_CLAIMED = Sql(
    "SELECT d.id, d.event_id, d.attempts, CAST(e.payload AS TEXT), s.id, s.url, s.headers, s.secret, s.sign, s.enabled, "
    "d.partner_id, e.event_type "
    "FROM webhook_delivery d JOIN webhook_event e ON e.id = d.event_id "
    "JOIN webhook_subscription s ON s.id = d.subscription_id WHERE d.id = :id AND d.claim_token = :token"
)
_HELD = Sql("SELECT attempt_log FROM webhook_delivery WHERE id = :id AND claim_token = :token")
_RECORD = Sql(
    "UPDATE webhook_delivery SET status = :status, next_attempt_at = :due, claimed_until = NULL, claim_token = NULL, "
    "last_status_code = :code, last_error = :error, attempt_log = :log, delivered_at = :delivered "
    "WHERE id = :id AND claim_token = :token"
)
_FAILING = Sql("UPDATE webhook_subscription SET failing = :failing WHERE id = :id AND failing <> :failing")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The sandbox's signature header value: t=<unix>,v1=<hex HMAC-SHA256 of b"<t>." + body>."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    token: str
    event_id: str
    attempt: int
    body: bytes
    subscription_id: str
    url: str
    headers: dict[str, str]
    secret: str
    sign: bool
    enabled: bool
    partner_id: str
    event_type: str


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: float
    excerpt: str | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Deliverer:
    def __init__(
        self, db: Database, clock: Clock, control: ControlStore, settings: Settings, faults: FaultEngine | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.control = control
        self.settings = settings
        # fault rules with target "webhook" act on attempts (drop, delay, time out, or stand in for an answer)
        self.faults = faults
        self.backoff = settings.webhook_backoff()
        # a claim outlives the longest send (connect, write and read each bounded by the timeout) with room to
        # spare, so a live claimant is never overtaken; only a dead one's rows are claimed again
        self.lease = timedelta(seconds=4 * settings.webhook_timeout_seconds + 10)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._senders: ThreadPoolExecutor | None = None
        # made on the first send (httpx and its dependencies cost a tenth of a second of start-up, and most
        # sandboxes never deliver a webhook)
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()
        self._inflight = 0
        self._inflight_lock = threading.Lock()
        self._last_error_logged = 0.0

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start this process's delivery thread (once; the app's start-up calls it in every worker process)."""
        if self._thread is not None or not self.settings.webhook_deliverer:
            return
        self._stop.clear()
        with self._http_lock:
            self._http = None  # the last stop closed it
        self._senders = ThreadPoolExecutor(SENDERS, thread_name_prefix="enkash-webhook-send")
        self._thread = threading.Thread(target=self._run, name="enkash-webhooks", daemon=True)
        self._thread.start()
        outbox.on_emit(self.wake)

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        outbox.off_emit(self.wake)
        self._stop.set()
        self._wake.set()
        thread.join(timeout=5)
        if self._senders is not None:
            # a send in flight keeps its claim until the lease runs out; another process (or the next start)
            # picks the row up then
            self._senders.shutdown(wait=False, cancel_futures=True)
        with self._http_lock:
            # closed but kept: a send still in flight fails on it rather than opening a client nobody closes
            if self._http is not None:
                self._http.close()
        self._thread = None

    def _client(self) -> httpx.Client:
        """This process's HTTP client for deliveries, made on the first send."""
        with self._http_lock:
            if self._http is None:
                import httpx

                # trust_env=False: a proxy configured for the outside world must not intercept deliveries to
                # localhost
                self._http = httpx.Client(
                    timeout=self.settings.webhook_timeout_seconds,
                    follow_redirects=False,
                    trust_env=False,
                    headers={"Accept": "*/*"},
                )
            return self._http

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll (a fire or redeliver in this process)."""
        self._wake.set()

    def _run(self) -> None:
        quick = 0
        while not self._stop.is_set():
            claimed = 0
            try:
                claimed = self.poll()
            except Exception:  # a store being replaced or closed, a lost connection: the next poll tries again
                now = time.monotonic()
                if now - self._last_error_logged > 60:
                    self._last_error_logged = now
                    log.exception("webhook deliverer: poll failed (retrying)")
            if quick and not claimed:
                # woken by an emit in this process whose transaction may not have committed yet: look again
                # shortly rather than a whole poll interval later
                quick -= 1
                self._stop.wait(QUICK_LOOK_SECONDS)
                continue
            woken = self._wake.wait(self.settings.webhook_poll_seconds)
            self._wake.clear()
            quick = QUICK_LOOKS if woken else 0

    # -- one poll -----------------------------------------------------------------------------------------------
    def poll(self) -> int:
        """Claim what is due (as many rows as there are free senders) and hand each to a sender; how many."""
        with self._inflight_lock:
            free = SENDERS - self._inflight
        if free <= 0:
            return 0
        claims = self.claim(free)
        for claim in claims:
            with self._inflight_lock:
                self._inflight += 1
            assert self._senders is not None
            try:
                self._senders.submit(self._send_and_record, claim)
            except RuntimeError:  # shutting down: the lease will run out and another process sends it
                with self._inflight_lock:
                    self._inflight -= 1
        return len(claims)

    def claim(self, limit: int) -> list[Claim]:
        """Claim up to `limit` due deliveries for this process, with what sending them needs."""
        if self.db.is_sqlite:
            self.control.refresh()  # a stat(); the row is re-read only when another process changed it
        with self.db.tx(write=False) as tx:  # most polls find nothing: a read, no right to write taken
            due = [row[0] for row in tx.all(_DUE, self._due_params(tx, limit))]
        if not due:
            return []
        claims: list[Claim] = []
        with self.db.tx(write=True) as tx:
            params = self._due_params(tx, limit)
            lease = tx.ts(utcnow_real() + self.lease)
            for delivery_id in due:
                token = secrets.token_hex(8)
                if tx.run(_CLAIM, {**params, "id": delivery_id, "lease": lease, "token": token}) != 1:
                    continue  # another process claimed it first, or it is no longer due
                row = tx.one(_CLAIMED, {"id": delivery_id, "token": token})
                if row is not None:
                    claims.append(_claim_of(row, token))
        return claims

    def _due_params(self, tx: Tx, limit: int) -> dict[str, Any]:
        # read inside the transaction: on PostgreSQL its first statement adopted the control row (the clock)
        return {"now": tx.ts(self.clock.now()), "real": tx.ts(utcnow_real()), "limit": limit}

    def _send_and_record(self, claim: Claim) -> None:
        try:
            if not claim.enabled:
                outcome = Outcome(None, 0.0, None, "subscription disabled")
            else:
                outcome = self.attempt(claim)
            self.record(claim, outcome)
        except Exception:
            log.exception("webhook deliverer: delivery %s failed unexpectedly (its lease will run out)", claim.delivery_id)
        finally:
            with self._inflight_lock:
                self._inflight -= 1

    def attempt(self, claim: Claim) -> Outcome:
        """One attempt, after any fault rule aimed at webhook deliveries had its say."""
        fault = self.faults.delivery_fault(claim.partner_id, claim.event_type) if self.faults is not None else None
        if fault is None:
            return self.send(claim)
        why = f"fault {fault.source}"
        if fault.kind == "drop":
            return Outcome(None, 0.0, None, f"dropped by {why}: nothing was sent")
        if fault.kind == "timeout":
            # as if the receiver never answered: the attempt takes the whole timeout, then fails
            self._stop.wait(self.settings.webhook_timeout_seconds)
            return Outcome(None, self.settings.webhook_timeout_seconds * 1000, None, f"timeout ({why}): nothing was sent")
        if fault.kind == "status":
            return Outcome(fault.status, 0.0, None, f"receiver answer HTTP {fault.status} simulated by {why}")
        self._stop.wait(fault.delay_ms / 1000)  # latency: sent late
        return self.send(claim)

    def send(self, claim: Claim) -> Outcome:
        headers = dict(claim.headers)
        headers.update(
            {
                "Content-Type": "application/json",
                "User-Agent": f"EnKash-Sandbox-Webhooks/{__version__}",
                EVENT_ID_HEADER: claim.event_id,
                DELIVERY_ID_HEADER: str(claim.delivery_id),
            }
        )
        if claim.sign:
            # real time, not the sandbox clock: the receiver checks it against its own clock
            headers[SIGNATURE_HEADER] = signature(claim.secret, claim.body, int(time.time()))
        import httpx

        http = self._client()
        started = time.perf_counter()
        try:
            with http.stream("POST", claim.url, content=claim.body, headers=headers) as response:
                excerpt = bytearray()
                for chunk in response.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                        break
                latency = (time.perf_counter() - started) * 1000
                text = bytes(excerpt[:RESPONSE_EXCERPT_BYTES]).decode("utf-8", errors="replace")
                return Outcome(response.status_code, round(latency, 2), text, None)
        except httpx.TimeoutException as exc:
            error = f"timeout after {self.settings.webhook_timeout_seconds:g} s ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        return Outcome(None, round((time.perf_counter() - started) * 1000, 2), None, error)

    def record(self, claim: Claim, outcome: Outcome) -> bool:
        """Write the attempt's outcome if this process still holds the claim; whether it did."""
        with self.db.tx(write=True) as tx:
            # the claim token makes this process the row's only writer until it records (a redeliver or
            # another claimant cannot touch a DELIVERING row whose lease is live), so read-then-write is safe
            held = tx.one(_HELD, {"id": claim.delivery_id, "token": claim.token})
            if held is None:
                return False
            now = self.clock.now()
            entry = {
                "attempt": claim.attempt,
                "at": now.isoformat(timespec="milliseconds") + "Z",
                "statusCode": outcome.status_code,
                "latencyMs": outcome.latency_ms,
                "responseBody": outcome.excerpt,
                "error": outcome.error,
            }
            log_entries = ((as_json(held[0]) or []) + [entry])[-LOG_ENTRIES:]
            if outcome.delivered:
                status, due, delivered_at = "DELIVERED", now, now
            elif not claim.enabled:
                status, due, delivered_at = "CANCELLED", now, None
            elif claim.attempt >= self.settings.webhook_max_attempts:
                status, due, delivered_at = "FAILED", now, None
            else:
                wait = self.backoff[min(claim.attempt - 1, len(self.backoff) - 1)]
                status, due, delivered_at = "PENDING", now + timedelta(seconds=wait), None
            error = outcome.error or (None if outcome.delivered else f"receiver answered HTTP {outcome.status_code}")
            changed = tx.run(
                _RECORD,
                {
                    "id": claim.delivery_id,
                    "token": claim.token,
                    "status": status,
                    "due": tx.ts(due),
                    "code": outcome.status_code,
                    "error": error,
                    "log": tx.json(log_entries),
                    "delivered": tx.ts(delivered_at),
                },
            )
            if changed and status in ("DELIVERED", "FAILED"):
                tx.run(_FAILING, {"id": claim.subscription_id, "failing": status == "FAILED"})
            return changed == 1


def _claim_of(row: tuple[Any, ...], token: str) -> Claim:
    delivery_id, event_id, attempts, body, sub_id, url, headers, secret, sign, enabled, partner_id, event_type = row
    return Claim(
        delivery_id=int(delivery_id),
        token=token,
        event_id=event_id,
        attempt=int(attempts),
        body=body.encode() if isinstance(body, str) else bytes(body),
        subscription_id=sub_id,
        url=url,
        headers={str(k): str(v) for k, v in (as_json(headers) or {}).items()},
        secret=secret,
        sign=bool(sign),
        enabled=bool(enabled),
        partner_id=partner_id,
        event_type=event_type,
    )
