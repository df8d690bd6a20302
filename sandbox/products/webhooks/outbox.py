"""The outbox: an event and one delivery row per matching subscription, written in the caller's transaction.

Whatever produces an event (a purchase authorized, a card loaded, a card blocked) calls `emit` inside the
transaction that makes the change, so there is never an event without the change nor a change without its
deliveries; the unique (event, subscription) index means a delivery can never be queued twice. Delivering is
someone else's job (the deliverer claims due rows atomically, whichever worker process runs it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.tables import WebhookDelivery, WebhookEvent, WebhookSubscription
from sqlmodel import Session, col, select

# card events are the sandbox's own (EnKash documents none; docs/FIDELITY.md); PAYOUT_* and UTILITY_BILLPAY_*
# are EnKash's documented webhook-data events
CARD_EVENTS = (
    "CARD_TRANSACTION_AUTHORIZED",
    "CARD_TRANSACTION_DECLINED",
    "CARD_TRANSACTION_CLEARED",
    "CARD_TRANSACTION_REVERSED",
    "CARD_TRANSACTION_REFUNDED",
    "CARD_LOADED",
    "CARD_STATUS_CHANGED",
)
DOCUMENTED_EVENTS = (
    "PAYOUT_SUCCESS",
    "PAYOUT_PENDING",
    "PAYOUT_FAILED",
    "UTILITY_BILLPAY_SUCCESS",
    "UTILITY_BILLPAY_FAILED",
    "UTILITY_BILLPAY_PENDING",
)
EVENTS = DOCUMENTED_EVENTS + CARD_EVENTS


def emit(
    db: Database,
    s: Session,
    now: datetime,
    *,
    partner_id: str,
    event_type: str,
    payload: dict[str, Any],
    company_id: str | None = None,
) -> WebhookEvent:
    """Record an event and queue it for every enabled subscription of the partner that asked for it (and, if
    the subscription names a company, only for that company's events). Runs in the caller's transaction."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown webhook event {event_type}")
    event = WebhookEvent(
        id=db.new_id(s, "event"),
        partner_id=partner_id,
        company_id=company_id,
        event_type=event_type,
        payload={**payload, "eventType": event_type},
        created_at=now,
    )
    event.payload["eventId"] = event.id
    s.add(event)
    subscriptions = s.exec(
        select(WebhookSubscription).where(
            WebhookSubscription.partner_id == partner_id, col(WebhookSubscription.enabled).is_(True)
        )
    ).all()
    for sub in subscriptions:
        if event_type not in (sub.events or []):
            continue
        if sub.company_id and company_id and sub.company_id != company_id:
            continue
        s.add(
            WebhookDelivery(
                event_id=event.id,
                subscription_id=sub.id,
                partner_id=partner_id,
                status="PENDING",
                next_attempt_at=now,
                created_at=now,
            )
        )
    return event
