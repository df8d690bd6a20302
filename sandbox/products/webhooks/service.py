"""Webhook registrations (EnKash's Webhook Data API and the control plane), the delivery log, redelivery and
firing an event on demand. Delivering itself is deliverer.py's; queueing is outbox.py's `emit`."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from enkash_sandbox import jsonio
from enkash_sandbox.errors import CompanyNotFound
from enkash_sandbox.money import from_minor
from enkash_sandbox.products import scope
from enkash_sandbox.products.webhooks import payloads
from enkash_sandbox.products.webhooks.outbox import CARD_TRANSACTION_EVENTS, DOCUMENTED_EVENTS, EVENTS, emit
from enkash_sandbox.products.webhooks.schemas import WebhookData
from enkash_sandbox.store.sql import Sql
from enkash_sandbox.store.tables import Card, CardAccount, Partner, WebhookDelivery, WebhookEvent, WebhookSubscription
from enkash_sandbox.timefmt import iso_utc
from sqlalchemy import Text, cast, func, update
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.store.engine import Database

STATUSES = ("PENDING", "DELIVERING", "DELIVERED", "FAILED", "CANCELLED")
# A redelivery is one more attempt, so it acts only on a delivery that is not already queued for one: done
# (DELIVERED, FAILED, CANCELLED) or waiting for a retry (PENDING after an attempt). It queues a fresh round
# (attempts = 0), so of several redeliveries racing, one changes the row and the rest find it queued: each
# accepted redelivery is exactly one attempt, on SQLite and PostgreSQL alike (no clock comparison involved).
_REDELIVER = Sql(
    "UPDATE webhook_delivery SET status = 'PENDING', attempts = 0, next_attempt_at = :now, claimed_until = NULL, "
    "claim_token = NULL WHERE id = :id AND (status IN ('DELIVERED', 'FAILED', 'CANCELLED') "
    "OR (status = 'PENDING' AND attempts > 0))"
)
_STATUS = Sql("SELECT status FROM webhook_delivery WHERE id = :id")


class WebhookControlError(Exception):
    """A control-plane request the sandbox refuses, with the HTTP status the control plane answers."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def vendor_view(sub: WebhookSubscription) -> dict[str, Any]:
    """EnKash's WebhookDataResponse (companyId, headers, webhookUrl, sslCertificate, events, enabled), plus the
    sandbox's own webhookId and signingSecret (the secret of the X-Enkash-Sandbox-Signature header)."""
    return {
        "companyId": sub.company_id,
        "headers": sub.headers or {},
        "webhookUrl": sub.url,
        "sslCertificate": sub.ssl_certificate,
        "events": sub.events or [],
        "enabled": sub.enabled,
        "webhookId": sub.id,
        "signingSecret": sub.secret,
    }


def subscription_view(sub: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "partnerId": sub.partner_id,
        "companyId": sub.company_id,
        "webhookUrl": sub.url,
        "events": sub.events or [],
        "headers": sub.headers or {},
        "sslCertificate": sub.ssl_certificate,
        "enabled": sub.enabled,
        "sign": sub.sign,
        "secret": sub.secret,
        "failing": sub.failing,
        "createdAt": iso_utc(sub.created_at),
        "modifiedAt": iso_utc(sub.modified_at),
    }


def delivery_view(d: WebhookDelivery, event: WebhookEvent, sub: WebhookSubscription, payload_text: str | None) -> dict[str, Any]:
    return {
        "id": d.id,
        "eventId": d.event_id,
        "eventType": event.event_type,
        "partnerId": d.partner_id,
        "subscriptionId": d.subscription_id,
        "webhookUrl": sub.url,
        "status": d.status,
        "attempts": d.attempts,
        "nextAttemptAt": iso_utc(d.next_attempt_at) if d.status == "PENDING" else None,
        "lastStatusCode": d.last_status_code,
        "lastError": d.last_error,
        "createdAt": iso_utc(d.created_at),
        "deliveredAt": iso_utc(d.delivered_at),
        "attemptLog": d.attempt_log or [],
        # the payload exactly as sent: amounts parsed as Decimal, so they render back to the same digits
        "payload": jsonio.loads_exact(payload_text) if payload_text else None,
    }


class WebhookService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- registrations ------------------------------------------------------------------------------------------
    def register(self, partner_id: str, req: WebhookData) -> dict[str, Any]:
        """POST /api/v0/webhook-data: every call adds a registration (the docs say nothing of replacing one)."""
        sub = self._create(
            partner_id,
            url=req.webhookUrl,
            events=req.events,
            headers=req.headers or {},
            enabled=req.enabled,
            ssl_certificate=req.sslCertificate,
            company_id=req.companyId,
            sign=True,
        )
        return vendor_view(sub)

    def registrations(self, partner_id: str) -> list[dict[str, Any]]:
        return [vendor_view(sub) for sub in self._subscriptions(partner_id)]

    def create(
        self,
        partner_id: str,
        *,
        url: str,
        events: list[str],
        headers: dict[str, str],
        enabled: bool,
        ssl_certificate: str | None,
        company_id: str | None,
        sign: bool,
        secret: str | None = None,
    ) -> dict[str, Any]:
        """The control plane's registration (partner chosen by id; `sign` and `secret` may be set)."""
        with self.db.read() as s:
            if s.get(Partner, partner_id) is None:
                raise WebhookControlError(404, f"unknown partner {partner_id}")
        try:
            sub = self._create(
                partner_id,
                url=url,
                events=events,
                headers=headers,
                enabled=enabled,
                ssl_certificate=ssl_certificate,
                company_id=company_id,
                sign=sign,
                secret=secret,
            )
        except CompanyNotFound:
            raise WebhookControlError(404, f"company {company_id} is not one of partner {partner_id}'s") from None
        return subscription_view(sub)

    def _create(
        self,
        partner_id: str,
        *,
        url: str,
        events: list[str],
        headers: dict[str, str],
        enabled: bool,
        ssl_certificate: str | None,
        company_id: str | None,
        sign: bool,
        secret: str | None = None,
    ) -> WebhookSubscription:
        with self.db.write() as s:
            if company_id is not None:
                scope.get_company(s, partner_id, company_id)  # another tenant's company answers like an unknown one
            now = self.clock.now()
            sub = WebhookSubscription(
                id=self.db.new_id(s, "webhook"),
                partner_id=partner_id,
                company_id=company_id,
                url=url,
                events=list(events),
                headers=dict(headers),
                ssl_certificate=ssl_certificate,
                enabled=enabled,
                secret=secret or "whsec_" + secrets.token_hex(24),
                sign=sign,
                created_at=now,
                modified_at=now,
            )
            s.add(sub)
            return sub

    def _subscriptions(self, partner_id: str | None) -> list[WebhookSubscription]:
        with self.db.read() as s:
            query = select(WebhookSubscription).where(col(WebhookSubscription.deleted_at).is_(None))
            if partner_id is not None:
                query = query.where(WebhookSubscription.partner_id == partner_id)
            return list(s.exec(query.order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))))

    def subscriptions(self, partner_id: str | None) -> list[dict[str, Any]]:
        return [subscription_view(sub) for sub in self._subscriptions(partner_id)]

    def subscription(self, subscription_id: str) -> dict[str, Any]:
        with self.db.read() as s:
            sub = s.get(WebhookSubscription, subscription_id)
            if sub is None or sub.deleted_at is not None:
                raise WebhookControlError(404, f"no webhook subscription {subscription_id}")
            return subscription_view(sub)

    @staticmethod
    def _locked(s: Session, subscription_id: str, *, share: bool = False) -> WebhookSubscription | None:
        """The subscription, read under its row lock on PostgreSQL (SQLite: the write lock is held already), so
        what the caller checks (not deleted) stays true until it commits. Updates and deletes lock it
        exclusively; a redelivery shares it, so redeliveries run side by side but never across a delete."""
        query = select(WebhookSubscription).where(WebhookSubscription.id == subscription_id)
        return s.exec(query.with_for_update(read=share)).first()

    def update(self, subscription_id: str, *, enabled: bool | None, sign: bool | None) -> dict[str, Any]:
        with self.db.write() as s:
            # locked: read without it, an update racing a delete on PostgreSQL wrote enabled = true over the
            # delete's false, and the deleted subscription was sent events again
            sub = self._locked(s, subscription_id)
            if sub is None or sub.deleted_at is not None:
                raise WebhookControlError(404, f"no webhook subscription {subscription_id}")
            if enabled is not None:
                sub.enabled = enabled
            if sign is not None:
                sub.sign = sign
            sub.modified_at = self.clock.now()
            s.add(sub)
            return subscription_view(sub)

    def delete(self, subscription_id: str) -> dict[str, Any]:
        """Disable the registration for good and cancel what it still had queued; its deliveries keep their
        history (the delivery log and the audit still see them)."""
        with self.db.write() as s:
            # locked: of racing deletes exactly one finds it live (the rest answer 404), and a redelivery waits
            # for the cancellation below rather than queueing a delivery of a deleted subscription after it
            sub = self._locked(s, subscription_id)
            if sub is None or sub.deleted_at is not None:
                raise WebhookControlError(404, f"no webhook subscription {subscription_id}")
            now = self.clock.now()
            sub.enabled = False
            sub.deleted_at = now
            sub.modified_at = now
            s.add(sub)
            cancelled = s.execute(
                update(WebhookDelivery)
                .where(col(WebhookDelivery.subscription_id) == subscription_id, col(WebhookDelivery.status) == "PENDING")
                .values(status="CANCELLED", last_error="subscription deleted"),
                execution_options={"synchronize_session": False},
            )
            return {"deleted": subscription_id, "cancelledDeliveries": getattr(cancelled, "rowcount", 0)}

    def set_signing(self, partner_id: str, sign: bool) -> dict[str, Any]:
        """The per-tenant switch of the sandbox's signature header: every registration of the partner."""
        with self.db.write() as s:
            if s.get(Partner, partner_id) is None:
                raise WebhookControlError(404, f"unknown partner {partner_id}")
            changed = s.execute(
                update(WebhookSubscription)
                .where(col(WebhookSubscription.partner_id) == partner_id, col(WebhookSubscription.deleted_at).is_(None))
                .values(sign=sign, modified_at=self.clock.now()),
                execution_options={"synchronize_session": False},
            )
            return {"partnerId": partner_id, "sign": sign, "subscriptions": getattr(changed, "rowcount", 0)}

    # -- deliveries ---------------------------------------------------------------------------------------------
    def deliveries(
        self,
        *,
        partner_id: str | None = None,
        event: str | None = None,
        status: str | None = None,
        subscription_id: str | None = None,
        event_id: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Newest first, each with its attempts and the payload as sent."""
        with self.db.read() as s:
            query = (
                select(WebhookDelivery, WebhookEvent, WebhookSubscription)
                .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
                .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
            )
            if partner_id is not None:
                query = query.where(WebhookDelivery.partner_id == partner_id)
            if event is not None:
                query = query.where(WebhookEvent.event_type == event)
            if status is not None:
                query = query.where(WebhookDelivery.status == status)
            if subscription_id is not None:
                query = query.where(WebhookDelivery.subscription_id == subscription_id)
            if event_id is not None:
                query = query.where(WebhookDelivery.event_id == event_id)
            rows = list(s.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(limit)))
            texts = self._payload_texts(s, [event.id for _, event, _ in rows])
            return [delivery_view(d, e, sub, texts.get(e.id)) for d, e, sub in rows]

    @staticmethod
    def _payload_texts(s: Session, event_ids: list[str]) -> dict[str, str]:
        """The events' stored JSON text (read as text: the ORM would parse amounts into floats)."""
        if not event_ids:
            return {}
        text_of = cast(col(WebhookEvent.payload), Text)
        rows = s.execute(select(col(WebhookEvent.id), text_of).where(col(WebhookEvent.id).in_(set(event_ids)))).all()
        return {row[0]: row[1] for row in rows}

    def delivery(self, delivery_id: int) -> dict[str, Any]:
        with self.db.read() as s:
            row = s.exec(
                select(WebhookDelivery, WebhookEvent, WebhookSubscription)
                .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
                .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
                .where(WebhookDelivery.id == delivery_id)
            ).first()
            if row is None:
                raise WebhookControlError(404, f"no webhook delivery {delivery_id}")
            d, e, sub = row
            return delivery_view(d, e, sub, self._payload_texts(s, [e.id]).get(e.id))

    def redeliver(self, delivery_id: int) -> dict[str, Any]:
        """Queue a delivery again now, with a fresh set of attempts: one more attempt per accepted call. Refused
        while a process is sending it or it is already queued and not yet attempted."""
        with self.db.write() as s:
            d = s.get(WebhookDelivery, delivery_id)
            if d is None:
                raise WebhookControlError(404, f"no webhook delivery {delivery_id}")
            sub = self._locked(s, d.subscription_id, share=True)
            if sub is None or sub.deleted_at is not None:
                raise WebhookControlError(409, f"the subscription of delivery {delivery_id} was deleted")
            tx = self.db.tx_of(s)
            if tx.run(_REDELIVER, {"id": delivery_id, "now": tx.ts(self.clock.now())}) != 1:
                status = tx.one(_STATUS, {"id": delivery_id})
                if status is not None and status[0] == "PENDING":
                    raise WebhookControlError(
                        409, f"delivery {delivery_id} is already queued and not yet attempted; it is sent as soon as it is due"
                    )
                raise WebhookControlError(409, f"delivery {delivery_id} is being sent right now; try again when it is done")
        return {"redelivered": delivery_id, "status": "PENDING"}

    # -- fire ---------------------------------------------------------------------------------------------------
    def fire(self, partner_id: str, event_type: str, card_id: str | None, subscription_id: str | None) -> dict[str, Any]:
        """Emit an event now, as if it happened: a card event from the card's current state, a documented event
        as a sample (EnKash's payloads for those were not retrieved). Queued for the partner's matching
        subscriptions (or just `subscription_id`)."""
        if event_type not in EVENTS:
            raise WebhookControlError(422, f"event must be one of {', '.join(EVENTS)}")
        with self.db.write() as s:
            if s.get(Partner, partner_id) is None:
                raise WebhookControlError(404, f"unknown partner {partner_id}")
            now = self.clock.now()
            tx = self.db.tx_of(s)
            company_id: str | None = None
            if event_type in DOCUMENTED_EVENTS:
                payload = payloads.documented_sample(event_type, partner_id, None, now, self.db.next_ids(s, "event")[0])
            else:
                if not card_id:
                    raise WebhookControlError(422, f"{event_type} needs enKashCardId (a card of partner {partner_id})")
                card = s.get(Card, card_id)
                if card is None or card.partner_id != partner_id:
                    raise WebhookControlError(404, f"no card {card_id} of partner {partner_id}")
                account = s.get(CardAccount, card.account_id)
                assert account is not None  # a card's account always exists (foreign key)
                company_id = account.company_id
                payload = self._card_sample(tx, card, account, event_type, now)
            event_id = emit(
                self.db,
                tx,
                now,
                partner_id=partner_id,
                event_type=event_type,
                payload=payload,
                company_id=company_id,
                only=subscription_id,
            )
            if event_id is None:
                target = (
                    f"subscription {subscription_id}" if subscription_id else f"no enabled subscription of partner {partner_id}"
                )
                raise WebhookControlError(
                    422,
                    f"{target} listens to {event_type}"
                    + (" (or it is disabled)" if subscription_id else "")
                    + ": nothing to deliver",
                )
            queued = s.exec(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).one()
            return {"eventId": event_id, "eventType": event_type, "deliveries": int(queued)}

    @staticmethod
    def _card_sample(tx: Any, card: Card, account: CardAccount, event_type: str, now: datetime) -> dict[str, Any]:
        if event_type == "CARD_LOADED":
            return payloads.card_loaded(
                card_id=card.id,
                account_id=account.id,
                company_id=account.company_id,
                user_id=card.user_id,
                amount=Decimal("0.00"),
                balance=from_minor(card.balance_minor),
                transaction_id=None,
                reference=None,
                created_on=now,
            )
        if event_type == "CARD_STATUS_CHANGED":
            return payloads.card_status_changed(
                card_id=card.id,
                account_id=account.id,
                company_id=account.company_id,
                user_id=card.user_id,
                previous_status=card.status,
                status=card.status,
                reason="fired from the sandbox control plane",
                modified_on=now,
            )
        assert event_type in CARD_TRANSACTION_EVENTS
        # the card transaction payload is the spend slice's (the same builder its own events use)
        from enkash_sandbox.products.spend.payload import fire_payload

        built = fire_payload(tx, card.id, event_type, now)
        if built is None:
            raise WebhookControlError(404, f"no card {card.id}")
        return built
