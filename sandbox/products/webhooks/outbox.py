"""The outbox: an event and one delivery row per matching subscription, written in the caller's transaction.

Whatever produces an event (a purchase authorized, a card loaded, a card blocked) calls `emit` inside the
transaction that makes the change, so there is never an event without the change nor a change without its
deliveries; the unique (event, subscription) index means a delivery can never be queued twice. Delivering is
someone else's job (deliverer.py claims due rows atomically, whichever worker process runs it).

`emit` runs prebuilt SQL on a `Tx` (`Database.tx()`, or `Database.tx_of(session)` inside an ORM session): the
payload is rendered by the sandbox's own JSON encoder, so Decimal money is stored exactly as it will be sent
(never through a float), and a partner with no subscription for the event costs one indexed read and no write
at all — loads and purchases run thousands of times a second and most tenants never subscribe.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from enkash_sandbox import ids
from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.sql import Sql, Tx, as_json

# card events are the sandbox's own (EnKash documents none; docs/FIDELITY.md); PAYOUT_* and UTILITY_BILLPAY_*
# are EnKash's documented webhook-data events
CARD_TRANSACTION_EVENTS = (
    "CARD_TRANSACTION_AUTHORIZED",
    "CARD_TRANSACTION_DECLINED",
    "CARD_TRANSACTION_CLEARED",
    "CARD_TRANSACTION_REVERSED",
    "CARD_TRANSACTION_REFUNDED",
)
CARD_EVENTS = (*CARD_TRANSACTION_EVENTS, "CARD_LOADED", "CARD_STATUS_CHANGED")
DOCUMENTED_EVENTS = (
    "PAYOUT_SUCCESS",
    "PAYOUT_PENDING",
    "PAYOUT_FAILED",
    "UTILITY_BILLPAY_SUCCESS",
    "UTILITY_BILLPAY_FAILED",
    "UTILITY_BILLPAY_PENDING",
)
EVENTS = DOCUMENTED_EVENTS + CARD_EVENTS

# called after an event is queued (this process's deliverer, so it looks now rather than at its next poll)
_listeners: list[Callable[[], None]] = []


def on_emit(listener: Callable[[], None]) -> None:
    _listeners.append(listener)


def off_emit(listener: Callable[[], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


# one indexed read (partner_id): the partner's enabled subscriptions; none -> nothing is written
_SUBSCRIBERS = Sql("SELECT id, events, company_id FROM webhook_subscription WHERE partner_id = :partner AND enabled = :on")
_INSERT_EVENT = Sql(
    "INSERT INTO webhook_event (id, partner_id, company_id, event_type, payload, created_at) "
    "VALUES (:id, :partner, :company, :event_type, :payload, :created_at)"
)
_INSERT_DELIVERY = Sql(
    "INSERT INTO webhook_delivery (event_id, subscription_id, partner_id, status, attempts, next_attempt_at, "
    "attempt_log, created_at) VALUES (:event_id, :subscription_id, :partner, 'PENDING', 0, :due, :log, :created_at)"
)


def subscribers(tx: Tx, partner_id: str, event_type: str, company_id: str | None) -> list[str]:
    """The ids of the partner's enabled subscriptions that asked for this event (and, if a subscription names a
    company, only for that company's events)."""
    chosen = []
    for sub_id, events, sub_company in tx.all(_SUBSCRIBERS, {"partner": partner_id, "on": True}):
        if event_type not in (as_json(events) or []):
            continue
        if sub_company and company_id and sub_company != company_id:
            continue
        chosen.append(sub_id)
    return chosen


def emit(
    db: Database,
    tx: Tx,
    now: datetime,
    *,
    partner_id: str,
    event_type: str,
    payload: dict[str, Any] | Callable[[], dict[str, Any]],
    company_id: str | None = None,
    only: str | None = None,
    subscribed: list[str] | None = None,
) -> str | None:
    """Record an event and queue it for every matching subscription, in the caller's transaction; the event's
    id, or None when no subscription wants it (then nothing is written). `payload` may hold Decimal amounts:
    they are stored, and sent, exactly; given as a function, it is built only when a subscription wants the
    event (the hot writes: most partners subscribe to nothing, and the payload's dates and amounts were built
    for every load with the store's write lock held). `only` limits the deliveries to one subscription (fire).
    `subscribed` is what `subscribers` answered, for a caller that asked before taking its locks."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown webhook event {event_type}")
    targets = subscribed if subscribed is not None else subscribers(tx, partner_id, event_type, company_id)
    if only is not None:
        targets = [t for t in targets if t == only]
    if not targets:
        return None
    event_id = ids.format_id(db.seed, "event", db.mint(tx, "event"))
    body = {**(payload() if callable(payload) else payload), "eventType": event_type, "eventId": event_id}
    tx.run(
        _INSERT_EVENT,
        {
            "id": event_id,
            "partner": partner_id,
            "company": company_id,
            "event_type": event_type,
            "payload": tx.json(body),
            "created_at": tx.ts(now),
        },
    )
    stamp = tx.ts(now)
    tx.many(
        _INSERT_DELIVERY,
        (
            {
                "event_id": event_id,
                "subscription_id": sub,
                "partner": partner_id,
                "due": stamp,
                "log": tx.json([]),
                "created_at": stamp,
            }
            for sub in targets
        ),
    )
    for listener in list(_listeners):
        listener()
    return event_id
