"""Card lifecycle: PIN, block/unlock, replacement, usage controls, VKYC."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from enkash_sandbox.errors import BusinessFailure, NotFound
from enkash_sandbox.ledger.movements import CARD, REPLACEMENT
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.products import scope
from enkash_sandbox.products.cards.views import CONTROL_FLAGS, card_view
from enkash_sandbox.products.lifecycle.schemas import (
    COUNT_FIELDS,
    FLAG_FIELDS,
    LIMIT_FIELDS,
    BlockCard,
    ReplaceCard,
    SetPin,
    VelocityGet,
    VelocityRule,
    WalletDetails,
)
from enkash_sandbox.products.spend.velocity import usage_of
from enkash_sandbox.products.webhooks import outbox, payloads
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company, VkycSession, table_of
from enkash_sandbox.timefmt import iso_utc, java_medium, parse_iso, to_ist
from sqlalchemy import insert, update
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.ledger.movements import Ledger
    from enkash_sandbox.products.cards.service import CardService
    from enkash_sandbox.products.lifecycle.otp import OtpService
    from enkash_sandbox.store.engine import Database


def hash_pin(card_id: str, pin: str) -> str:
    return hashlib.sha256(f"{card_id}:{pin}".encode()).hexdigest()


class LifecycleService:
    def __init__(
        self, db: Database, clock: Clock, settings: Settings, ledger: Ledger, cards: CardService, otp: OtpService
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.ledger = ledger
        self.cards = cards
        self.otp = otp

    # -- PIN -------------------------------------------------------------------------------
    def set_pin(self, partner_id: str, req: SetPin) -> str:
        def run() -> str:
            with self.db.write() as s:
                account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
                card = scope.get_card(s, account, req.enKashCardId)
                scope.ensure_alive(card)
                if req.otpRequired:
                    self.otp.verify(s, partner_id, card.id, req, medium=req.otpMedium)
                card.pin_hash = hash_pin(card.id, req.pinBlock)
                card.modified_at = self.clock.now()
                s.add(card)
                return "Success"

        return self.otp.guarded(run)

    # -- block / unlock --------------------------------------------------------------------
    def block(self, partner_id: str, req: BlockCard) -> dict:
        def run() -> dict:
            with self.db.write() as s:
                account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
                card = scope.get_card(s, account, req.enKashCardId)
                if card.replaced_by:
                    raise BusinessFailure(f"Card {card.id} was replaced by {card.replaced_by}")
                if card.status == "BL":
                    raise BusinessFailure("Card is blocked permanently; a blocked card cannot change status")
                if req.otpRequired or req.otpMedium == "MFA":
                    self.otp.verify(s, partner_id, card.id, req, medium=req.otpMedium)
                previous = card.status
                card.status = req.blockCode
                card.modified_at = self.clock.now()
                controls = dict(card.controls or {})
                controls["lastBlock"] = {
                    "blockCode": req.blockCode,
                    "reason": req.reason,
                    "createdBy": req.createdBy,
                    "at": iso_utc(card.modified_at),
                }
                card.controls = controls
                s.add(card)
                self._status_changed(s, card, account, previous, req.reason)
                return self.cards.view(s, card, account)

        return self.otp.guarded(run)

    def admin_set_status(self, card_id: str, block_code: str) -> None:
        """The dashboard's lock/unlock/block: an operator action, so no OTP; a blocked card stays blocked."""
        with self.db.write() as s:
            card = s.get(Card, card_id)
            if card is None:
                raise NotFound(f"EnKash card not found: {card_id}")
            if card.replaced_by or card.status == "BL":
                raise BusinessFailure("Card is blocked permanently; a blocked card cannot change status")
            previous = card.status
            card.status = block_code
            card.modified_at = self.clock.now()
            s.add(card)
            account = s.get(CardAccount, card.account_id)
            assert account is not None  # a card's account always exists (foreign key)
            self._status_changed(s, card, account, previous, "changed by the sandbox operator")

    def _status_changed(self, s: Session, card: Card, account: CardAccount, previous: str, reason: str | None) -> None:
        """CARD_STATUS_CHANGED in the change's own transaction (nothing when the status did not change)."""
        if previous == card.status:
            return
        outbox.emit(
            self.db,
            self.db.tx_of(s),
            card.modified_at,
            partner_id=card.partner_id,
            event_type="CARD_STATUS_CHANGED",
            company_id=account.company_id,
            payload=payloads.card_status_changed(
                card_id=card.id,
                account_id=account.id,
                company_id=account.company_id,
                user_id=card.user_id,
                previous_status=previous,
                status=card.status,
                reason=reason,
                modified_on=card.modified_at,
            ),
        )

    # -- replacement -----------------------------------------------------------------------
    def replace(self, partner_id: str, req: ReplaceCard) -> dict:
        def run() -> dict:
            with self.db.write() as s:
                old = scope.get_card_of_partner(s, partner_id, req.enKashCardId)
                account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId or old.account_id)
                old = scope.get_card(s, account, req.enKashCardId)
                if old.replaced_by:
                    raise BusinessFailure(f"Card {old.id} was already replaced by {old.replaced_by}")
                self.otp.verify(s, partner_id, old.id, req, medium=req.otpMedium)
                now = self.clock.now()
                cards = self.cards
                new_row = cards.card_row(
                    s,
                    account,
                    old.user_id,
                    physical=old.physical_card,
                    remarks=req.reason or "Replacement card",
                    kyc_status=old.kyc_status,
                )
                # Claim the old card first, with a guarded UPDATE: on PostgreSQL it takes the row lock (waiting for
                # any credit in flight and then seeing it), and of several racing replaces exactly one changes the
                # row; the others see `replaced_by` set and refuse. The balance it returns is final: every later
                # credit to the old card is refused by the ledger's guard and follows the holder instead.
                claimed = s.execute(
                    update(Card)
                    .where(col(Card.id) == old.id, col(Card.replaced_by).is_(None))
                    .values(replaced_by=new_row["id"], status="BL", modified_at=now)
                    .returning(col(Card.balance_minor)),
                    execution_options={"synchronize_session": False},
                ).first()
                if claimed is None:
                    raise BusinessFailure(f"Card {old.id} was already replaced")
                balance = claimed[0]
                new_row.update(
                    primary_card=old.primary_card,
                    pin_hash=None,
                    controls={k: v for k, v in (old.controls or {}).items() if k != "lastBlock"},
                )
                # the live-card unique index sees the old card as replaced now, so the new one may exist
                s.execute(insert(table_of(Card)), [new_row])
                previous = old.status
                old = s.exec(select(Card).where(Card.id == old.id).execution_options(populate_existing=True)).one()
                self._status_changed(s, old, account, previous, f"replaced by {new_row['id']}")
                new = s.exec(select(Card).where(Card.id == new_row["id"])).one()
                if balance:
                    self._move_between_cards(s, account, old, new, balance)
                if account.primary_card_id == old.id:
                    account.primary_card_id = new.id
                    s.add(account)
                view = self.cards.view(s, new, account)
                view["oldEnKashCardId"] = old.id
                return view

        return self.otp.guarded(run)

    def _move_between_cards(self, s: Session, account: CardAccount, old: Card, new: Card, minor: int) -> None:
        """The balance follows the holder: a DR on the old card and a CR on the new one, both in the ledger."""
        ledger = self.ledger
        ledger.move(
            s,
            legs=[(CARD, old, -minor)],
            account=account,
            card=old,
            direction="DR",
            type=REPLACEMENT,
            transaction_code="REPLACEMENT",
            amount_minor=minor,
            remarks=f"Balance moved to {new.id}",
        )
        ledger.move(
            s,
            legs=[(CARD, new, minor)],
            account=account,
            card=new,
            direction="CR",
            type=REPLACEMENT,
            transaction_code="REPLACEMENT",
            amount_minor=minor,
            remarks=f"Balance moved from {old.id}",
        )

    # -- usage controls --------------------------------------------------------------------
    def set_velocity(self, partner_id: str, req: VelocityRule) -> dict:
        sent = req.model_fields_set
        with self.db.write() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            cards = [scope.get_card(s, account, card_id) for card_id in dict.fromkeys(req.enKashCardIds)]
            now = self.clock.now()
            for card in cards:
                scope.ensure_alive(card)
                controls = dict(card.controls or {})
                rules = dict(controls.get("velocity") or {})
                for flag in FLAG_FIELDS:
                    if flag in sent and getattr(req, flag) is not None:
                        target = controls if flag in CONTROL_FLAGS else rules
                        target[flag] = getattr(req, flag)
                        if req.adminUser and flag in CONTROL_FLAGS:
                            controls[flag + "Admin"] = getattr(req, flag)
                for field in LIMIT_FIELDS:
                    if field in sent:
                        value = getattr(req, field)
                        rules[field] = None if value is None else str(value)
                for field in COUNT_FIELDS:
                    if field in sent:
                        rules[field] = getattr(req, field)
                rules["createdBy"] = rules.get("createdBy") or req.createdBy or "partner-api"
                rules["createdOn"] = rules.get("createdOn") or iso_utc(now)
                rules["modifiedOn"] = iso_utc(now)
                rules["modifiedBy"] = req.createdBy or "partner-api"
                controls["velocity"] = rules
                card.controls = controls
                card.modified_at = now
                s.add(card)
            return {"updatedCards": len(cards), "enKashCardIds": [c.id for c in cards]}

    def get_velocity(self, partner_id: str, req: VelocityGet) -> dict:
        with self.db.read() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            card = scope.get_card(s, account, req.enKashCardId)
            view = velocity_view(card)
            # what the card spent in the current IST day/month/year (simulated purchases, /_sandbox/cards/{id}/authorize)
            view.update(usage_of(self.db.tx_of(s), card.id, self.clock.now(), None).view())
            return view

    def wallet_details(self, partner_id: str, req: WalletDetails) -> dict:
        """The card as /search shows it, its KYC and activation in plain fields, and its rules and usage."""
        with self.db.read() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            card = scope.get_card(s, account, req.enKashCardId)
            holder = s.get(CardHolder, card.user_id)
            company = s.get(Company, account.company_id)
            assert holder is not None and company is not None  # foreign keys
            limits = velocity_view(card)
            limits.update(usage_of(self.db.tx_of(s), card.id, self.clock.now(), None).view())
            # kycStatus, cardStatus and cardActivated are in the card view; the partner's reference is echoed
            return {**card_view(card, holder, account, company), "clientReferenceId": req.clientReferenceId, "limits": limits}

    # -- VKYC ------------------------------------------------------------------------------
    def vkyc_link(self, partner_id: str, company_id: str | None, account_id: str | None, card_id: str, base_url: str) -> dict:
        settings = self.settings
        now = self.clock.now()
        if settings.vkyc_working_hours:
            local = to_ist(now)
            if local.weekday() >= 5 or not 10 <= local.hour < 18:
                raise BusinessFailure("VKYC is available only between 10:00 and 18:00 IST on working days")
        with self.db.write() as s:
            card = scope.get_card_of_partner(s, partner_id, card_id)
            account = scope.get_account(s, partner_id, company_id, account_id or card.account_id)
            card = scope.get_card(s, account, card_id)
            scope.ensure_alive(card)
            if card.kyc_status == "VERIFIED":
                raise BusinessFailure("Full KYC is already verified for this card")
            session = VkycSession(
                token=secrets.token_urlsafe(18),
                partner_id=partner_id,
                card_id=card.id,
                expires_at=now + timedelta(seconds=settings.vkyc_link_ttl_seconds),
                created_at=now,
            )
            s.add(session)
            return {
                "enKashCardId": card.id,
                "vkycLink": f"{base_url}/_sandbox/vkyc/{session.token}",
                "expiresAt": iso_utc(session.expires_at),
                "kycStatus": card.kyc_status,
            }

    def vkyc_session(self, token: str) -> tuple[VkycSession, Card, CardHolder] | None:
        with self.db.read() as s:
            session = s.get(VkycSession, token)
            if session is None:
                return None
            card = s.get(Card, session.card_id)
            assert card is not None  # a VKYC session is made for an existing card
            holder = s.get(CardHolder, card.user_id)
            assert holder is not None  # user_id is a foreign key
            return session, card, holder

    def complete_vkyc(self, token: str) -> str:
        """Finish the video KYC of a link: the card moves to Full KYC (VERIFIED)."""
        with self.db.write() as s:
            session = s.get(VkycSession, token)
            if session is None:
                raise NotFound("Unknown VKYC link")
            if session.completed:
                raise BusinessFailure("This VKYC link was already used")
            if session.expires_at <= self.clock.now():
                raise BusinessFailure("This VKYC link has expired; generate a new one")
            card = s.get(Card, session.card_id)
            assert card is not None  # a VKYC session is made for an existing card
            session.completed = True
            card.kyc_status = "VERIFIED"
            card.modified_at = self.clock.now()
            s.add(session)
            s.add(card)
            return card.id

    def set_kyc(self, card_id: str, status: str) -> bool:
        with self.db.write() as s:
            card = s.get(Card, card_id)
            if card is None:
                return False
            card.kyc_status = status
            card.modified_at = self.clock.now()
            s.add(card)
            return True


def velocity_view(card: Card) -> dict:
    controls = card.controls or {}
    rules = controls.get("velocity") or {}
    view = {
        "enKashCardId": card.id,
        "cardAccountId": card.account_id,
        "createdBy": rules.get("createdBy"),
        "createdOn": _medium(rules.get("createdOn")) or java_medium(card.created_at),
        "modifiedOn": _medium(rules.get("modifiedOn")) or java_medium(card.modified_at),
    }
    for flag in CONTROL_FLAGS:
        view[flag] = bool(controls.get(flag, False))
        view[flag + "Admin"] = bool(controls.get(flag + "Admin", False))
    for flag in FLAG_FIELDS:
        if flag not in CONTROL_FLAGS:
            view[flag] = bool(rules.get(flag, False))
    for field in LIMIT_FIELDS:
        value = rules.get(field)
        view[field] = from_minor(to_minor(Decimal(value))) if value is not None else None
    for field in COUNT_FIELDS:
        view[field] = rules.get(field)
    return view


def _medium(iso: str | None) -> str | None:
    return java_medium(parse_iso(iso)) if iso else None
