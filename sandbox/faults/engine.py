"""Fault injection: one engine, three triggers — the X-Sandbox-Fault header, admin rules, magic values.

The engine decides before the request reaches a route and answers in its place, so a fault that
answers with an error never moved money. Connection-level faults (a dropped connection, a malformed
body) are written to the raw ASGI `send`, past the encryption layer.

Rules live in the store and are shared by every worker: each worker keeps a copy that it reloads when the
store's fault version changes (read at the start of every request), and a rule limited to N requests is
claimed with a guarded UPDATE, so `times: 1` fires once in total whichever worker answers. Deciding is pure
(no store access, so it runs on the event loop); claiming is a store write and runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from enkash_sandbox.errors import BadRequest
from enkash_sandbox.faults import magic
from enkash_sandbox.store.tables import FaultRule
from sqlalchemy import update
from sqlmodel import col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.store.control import ControlStore
    from enkash_sandbox.store.engine import Database


HEADER = "x-sandbox-fault"
STATUS_TEXT = {
    400: "Bad Request",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
HEADER_KINDS = {"insufficient_balance", "timeout", "reset", "drop", "malformed", "latency", "429"}
ACTIONS = ("status", "business_failure", "insufficient_balance", "latency", "drop", "malformed", "rate_limit", "timeout")
# what a rule targeting webhook deliveries may do to an attempt (the receiver's own answers need no fault)
WEBHOOK_FAULTS = ("drop", "latency", "timeout", "status")
# the longest delay any fault may add (header, rule or range), so no rule can hold a request for ever
MAX_DELAY_MS = 120_000


@dataclass
class Fault:
    kind: str  # status | business_failure | insufficient_balance | latency | drop | malformed | rate_limit | timeout
    status: int = 200
    message: str | None = None
    delay_ms: float = 0
    retry_after: int | None = None
    source: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def passes_through(self) -> bool:
        """Only added latency lets the request go on to the real route."""
        return self.kind == "latency"

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "status": self.status,
            "source": self.source,
            **({"delayMs": self.delay_ms} if self.delay_ms else {}),
        }


def parse_header(value: str) -> Fault:
    """`X-Sandbox-Fault: 422` / `500;delay=200` / `timeout` / `reset` / `malformed` / `latency;delay=300`."""
    name, *params = [part.strip() for part in value.split(";")]
    options = {}
    for param in params:
        key, _, raw = param.partition("=")
        options[key.strip().lower()] = raw.strip()
    try:
        delay = float(options.get("delay", "0") or 0)
    except ValueError:
        raise BadRequest(f"X-Sandbox-Fault: delay must be milliseconds, got {options.get('delay')!r}") from None
    if not 0 <= delay <= MAX_DELAY_MS:  # also refuses NaN
        raise BadRequest(f"X-Sandbox-Fault: delay must be between 0 and {MAX_DELAY_MS} ms")
    name = name.lower()
    if name.isascii() and name.isdigit() and int(name) in STATUS_TEXT and name != "429":
        return Fault("status", int(name), delay_ms=delay, source="header")
    if name == "429":
        retry = options.get("retry-after", "1") or "1"
        if not (retry.isascii() and retry.isdigit() and int(retry) <= 3600):
            raise BadRequest("X-Sandbox-Fault: retry-after must be whole seconds between 0 and 3600")
        return Fault("rate_limit", 429, delay_ms=delay, retry_after=int(retry), source="header")
    if name in ("reset", "drop"):
        return Fault("drop", 0, delay_ms=delay, source="header")
    if name in HEADER_KINDS:
        return Fault(name, 504 if name == "timeout" else 200, delay_ms=delay, source="header")
    raise BadRequest(
        f"Unknown X-Sandbox-Fault value {name[:40]!r}; use insufficient_balance, 404, 422, 500, 503, 429, "
        "timeout, reset, malformed or latency (optionally ;delay=ms)"
    )


@dataclass
class Decision:
    """What the rules and triggers say about one request, before any rule is claimed."""

    header: Fault | None = None
    candidates: list[FaultRule] = field(default_factory=list)
    magic: Fault | None = None


class FaultEngine:
    def __init__(self, db: Database, clock: Clock, control: ControlStore, settings: Settings) -> None:
        self.db = db
        self.clock = clock
        self.control = control
        self.settings = settings
        self._rules: list[FaultRule] = []
        self._version: int | None = None
        self._rngs: dict[str, random.Random] = {}
        self._lock = threading.Lock()

    # -- rules -----------------------------------------------------------------------------
    def invalidate(self) -> None:
        """Resettable: forget the rules and the probability sequences read from the store."""
        with self._lock:
            self._version = None
            self._rngs.clear()

    def rules(self) -> list[FaultRule]:
        """The rules in force (reloaded when the store's fault version moved). Store access: call through Work.lookup/read."""
        version = self.control.faults_version
        if self._version != version:
            rules = self.stored_rules()
            with self._lock:
                self._rules, self._version = rules, self.control.faults_version
        return self._rules

    def stored_rules(self) -> list[FaultRule]:
        with self.db.read() as s:
            return list(s.exec(select(FaultRule).order_by(col(FaultRule.created_at), col(FaultRule.id))))

    @property
    def cached_rules(self) -> list[FaultRule]:
        return self._rules

    def add_rule(self, spec: dict, partner_id: str | None, times: int | None) -> FaultRule:
        with self.db.write() as s:
            rule = FaultRule(
                id=self.db.new_id(s, "fault"), partner_id=partner_id, spec=spec, remaining=times, created_at=self.clock.now()
            )
            s.add(rule)
            self.control.stamp(s, faults=True)
        self.control.published()
        return rule

    def delete_rule(self, rule_id: str | None = None) -> int:
        with self.db.write() as s:
            rows = s.exec(select(FaultRule).where(FaultRule.id == rule_id) if rule_id else select(FaultRule)).all()
            for row in rows:
                s.delete(row)
            if rows:
                self.control.stamp(s, faults=True)
        if rows:
            self.control.published()
        return len(rows)

    def claim(self, rule: FaultRule) -> bool:
        """Count a hit; a rule limited to N requests is claimed atomically, so N is exact across workers."""
        with self.db.write() as s:
            stmt = update(FaultRule).where(col(FaultRule.id) == rule.id)
            if rule.remaining is not None:
                remaining = col(FaultRule.remaining)
                stmt = stmt.where(remaining > 0).values(remaining=remaining - 1, hits=col(FaultRule.hits) + 1)
            else:
                stmt = stmt.values(hits=col(FaultRule.hits) + 1)
            claimed = s.exec(stmt, execution_options={"synchronize_session": False}).rowcount == 1
        return claimed

    def _rng(self, rule: FaultRule) -> random.Random:
        with self._lock:
            rng = self._rngs.get(rule.id)
            if rng is None:
                rng = self._rngs[rule.id] = random.Random(rule.spec.get("seed", 0))
            return rng

    # -- deciding (pure: runs on the event loop) -------------------------------------------
    def evaluate(
        self, method: str, path: str, headers: dict, partner_id: str | None, body: object, *, magic_values: bool = True
    ) -> Decision:
        header = headers.get(HEADER)
        if header:
            return Decision(header=parse_header(header))
        candidates = []
        for rule in self.cached_rules:
            if rule.spec.get("target") == "webhook":
                continue  # a rule for the sandbox's own webhook deliveries, not for partners' calls
            if self._matches(rule, method, path, partner_id, body):
                probability = rule.spec.get("probability")
                if probability is not None and self._rng(rule).random() >= probability:
                    continue
                candidates.append(rule)
        found = magic.match(body) if magic_values else None
        decision = Decision(candidates=candidates)
        if found:
            kind, status, trigger = found
            settings = self.settings
            if kind == "slow":
                decision.magic = Fault("latency", 200, delay_ms=settings.magic_slow_seconds * 1000, source=f"magic:{trigger}")
            elif kind == "rate_limit":
                decision.magic = Fault("rate_limit", 429, retry_after=1, source=f"magic:{trigger}")
            else:
                decision.magic = Fault(kind, status, source=f"magic:{trigger}")
        return decision

    def delivery_fault(self, partner_id: str, event_type: str) -> Fault | None:
        """The fault a webhook-target rule puts on one delivery attempt (path = a glob over the event type), with
        the rule's hit claimed like a request's (a rule limited to N attempts hits N in all, across workers).
        Runs on the deliverer's thread, so it may read the store."""
        for rule in self.rules():
            spec = rule.spec
            if spec.get("target") != "webhook" or (rule.partner_id and rule.partner_id != partner_id):
                continue
            if not fnmatch.fnmatchcase(event_type, spec.get("path") or "*"):
                continue
            probability = spec.get("probability")
            if probability is not None and self._rng(rule).random() >= probability:
                continue
            if self.claim(rule):
                return self.rule_fault(rule)
        return None

    @staticmethod
    def _matches(rule: FaultRule, method: str, path: str, partner_id: str | None, body: object) -> bool:
        spec = rule.spec
        if rule.partner_id and rule.partner_id != partner_id:
            return False
        if spec.get("method") and spec["method"].upper() != method:
            return False
        if not fnmatch.fnmatchcase(path, spec.get("path") or "*"):
            return False
        body_field = spec.get("bodyField")
        if body_field:
            value = body
            for part in body_field["name"].split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if value is None or str(value) != str(body_field.get("equals")):
                return False
        return True

    @staticmethod
    def rule_fault(rule: FaultRule) -> Fault:
        action = rule.spec["action"]
        kind = action["type"]
        latency = action.get("latencyMs", 0) or 0
        if isinstance(latency, list):
            low, high = latency
            latency = random.Random(f"{rule.id}:{rule.hits}").uniform(low, high)
        latency = min(max(float(latency), 0.0), MAX_DELAY_MS)
        status = {"status": action.get("status", 500), "rate_limit": 429, "timeout": 504, "drop": 0}.get(kind, 200)
        return Fault(
            kind,
            status,
            message=action.get("message"),
            delay_ms=latency,
            retry_after=action.get("retryAfter", 1 if kind == "rate_limit" else None),
            source=f"rule:{rule.id}",
        )


async def delay(fault: Fault) -> None:
    if fault.delay_ms:
        await asyncio.sleep(min(fault.delay_ms, MAX_DELAY_MS) / 1000)
