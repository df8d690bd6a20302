"""Simulated card purchases: authorize (with or without capture), clear, reverse, refund, increment, and the
hold-expiry sweep on the sandbox clock.

Money moves only through the ledger, in the transaction that changes the authorization:
- an approved purchase with capture is one SALE (card -> merchant);
- a hold is an AUTH_HOLD (card -> hold); clearing is a SALE (hold -> merchant); a reversal, the remainder of a
  final clearing and an expired hold go back with AUTH_RELEASE / REVERSAL (hold -> card); a refund is a REFUND
  (merchant -> card). So authorized = held + cleared + released at every commit, and the hold is a ledger
  balance the audit checks like any card's.

Concurrency: every operation starts by locking the card row (SELECT ... FOR UPDATE on PostgreSQL; SQLite runs
one writer at a time), so velocity counts and sums read inside the transaction cannot be raced past by another
worker, and the balance debit is a guarded UPDATE besides: 100 concurrent authorizations on a card funded for
50 approve exactly 50, whichever store and however many workers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from enkash_sandbox import ids
from enkash_sandbox.errors import NotFound, VendorError
from enkash_sandbox.faults import magic
from enkash_sandbox.jsonio import decimal_text
from enkash_sandbox.ledger.movements import CARD, HOLD, Leg
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.products.spend.payload import CardTxnFacts, card_transaction_payload, facts_of
from enkash_sandbox.products.spend.records import Authorization, AuthorizationRecord
from enkash_sandbox.products.spend.schemas import AuthorizeSpec, Channel, DeclineReason
from enkash_sandbox.products.spend.velocity import Usage, add_usage, usage_of
from enkash_sandbox.products.webhooks import outbox
from enkash_sandbox.store.sql import Sql, Tx, as_json
from enkash_sandbox.store.tables import Card, CardAccount, CardAuthorization, CardHolder, Company
from enkash_sandbox.timefmt import iso_utc, java_medium, to_ist
from enkash_sandbox.vocabulary import CardStatus, Direction, TxnType
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.ledger.movements import Ledger, Movement
    from enkash_sandbox.store.engine import Database

# the card types that spend only after full KYC (a reloadable general-purpose prepaid card is a full-KYC PPI
# under RBI's rules; gift, meal, fuel and reward cards are small PPIs that need none)
KYC_REQUIRED_ACCOUNT_TYPES = frozenset({"RELOADABLE_GPR"})
KYC_DONE = frozenset({"VERIFIED", "OSV_VERIFIED"})

# the channel switch each channel needs (the card's usage controls, admin and holder level)
CHANNEL_SWITCH = {
    Channel.POS: "posAllowed",
    Channel.ECOM: "onlineAllowed",
    Channel.ATM: "atmAllowed",
    Channel.CONTACTLESS: "contactlessAllowed",
}
# the per-channel daily amount and count limits of the velocity rule
CHANNEL_LIMITS = {
    Channel.POS: ("posDailyLimit", "posDailyLimitCount"),
    Channel.ECOM: ("ecomDailyLimit", "ecomDailyLimitCount"),
    Channel.ATM: ("atmDailyLimit", "atmDailyLimitCount"),
    Channel.CONTACTLESS: ("contactLessDailyLimit", "contactLessDailyLimitCount"),
}

# magic values (docs/MAGIC_VALUES.md): a merchant named DECLINE_<REASON> is declined for that reason; an amount
# whose paise are .51 is declined for insufficient balance; merchant SBX-TIMEOUT never gets an answer
MAGIC_DECLINE_PREFIX = magic.DECLINE_MERCHANT_PREFIX
MAGIC_INSUFFICIENT_PAISE = magic.INSUFFICIENT_PAISE
MAGIC_TIMEOUT_MERCHANT = magic.TIMEOUT_MERCHANT

_LOCK_CARD = Sql("SELECT id FROM card WHERE id = :id FOR UPDATE")


_FACTS_SELECT = (
    "SELECT c.id, c.partner_id, c.account_id, c.user_id, a.company_id, a.account_type, c.status, c.replaced_by, "
    "c.expiry_month, c.expiry_year, c.card_activated, c.kyc_status, c.controls, c.balance_minor, c.masked_number, "
    "c.token, c.kit_type, h.first_name, h.middle_name, h.last_name, m.name "
    "FROM card c JOIN card_account a ON a.id = c.account_id JOIN card_holder h ON h.id = c.user_id "
    "JOIN company m ON m.id = a.company_id WHERE c.id = :id"
)
_CARD_FACTS = Sql(_FACTS_SELECT)
# PostgreSQL: the card's row lock serialises its authorizations (velocity sums and counts are read under it)
_CARD_FACTS_FOR_UPDATE = Sql(_FACTS_SELECT + " FOR UPDATE OF c")
# by ix_auth_card_state_expires: a card with a long history of holds is one index probe
_DUE_HOLD = Sql(
    "SELECT id FROM card_authorization WHERE card_id = :card_id AND state = 'HELD' AND hold_expires_at <= :now LIMIT 1"
)
_AUTH_COLUMNS = (
    "id, partner_id, company_id, account_id, card_id, user_id, decision, state, decline_reasons, capture, amount_minor, "
    "authorized_minor, held_minor, cleared_minor, released_minor, refunded_minor, currency, channel, international, "
    "merchant_name, mcc, merchant_country, network, retrieval_ref_no, trace_no, hold_expires_at, created_at, modified_at"
)
_INSERT_AUTHORIZATION = Sql(
    f"INSERT INTO card_authorization ({_AUTH_COLUMNS}) VALUES ("
    + ", ".join(f":{name.strip()}" for name in _AUTH_COLUMNS.split(","))
    + ")"
)


def _insert_params(tx: Tx, auth: AuthorizationRecord) -> dict[str, Any]:
    params = {name.strip(): getattr(auth, name.strip()) for name in _AUTH_COLUMNS.split(",")}
    params["decline_reasons"] = tx.json(auth.decline_reasons)
    for stamp in ("hold_expires_at", "created_at", "modified_at"):
        params[stamp] = tx.ts(params[stamp])
    return params


class _HoldsDue(Exception):
    """The card has holds whose time has passed: they are released before the next authorization."""


@dataclass(frozen=True)
class _CardFacts:
    """What an authorization reads about the card, its account, holder and company: one joined row."""

    id: str
    partner_id: str
    account_id: str
    user_id: str
    company_id: str
    account_type: str
    status: str
    replaced_by: str | None
    expiry_month: str
    expiry_year: str
    card_activated: bool
    kyc_status: str
    controls: dict[str, Any]
    balance_minor: int
    masked_number: str
    token: str
    kit_type: str
    holder_name: str | None
    company_name: str

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> _CardFacts:
        controls = as_json(row[12]) or {}
        name = " ".join(part for part in row[17:20] if part) or None
        return cls(
            id=row[0],
            partner_id=row[1],
            account_id=row[2],
            user_id=row[3],
            company_id=row[4],
            account_type=row[5],
            status=row[6],
            replaced_by=row[7],
            expiry_month=row[8],
            expiry_year=row[9],
            card_activated=bool(row[10]),
            kyc_status=row[11],
            controls=controls,
            balance_minor=int(row[13]),
            masked_number=row[14],
            token=row[15],
            kit_type=row[16],
            holder_name=name,
            company_name=row[20],
        )

    def txn_facts(self, auth: Authorization) -> CardTxnFacts:
        return CardTxnFacts.of(
            auth,
            masked_number=self.masked_number,
            token=self.token,
            holder_name=self.holder_name,
            company_id=self.company_id,
            company_name=self.company_name,
        )


class SpendError(VendorError):
    """An operation the authorization's state does not allow (409) or an amount it cannot take (422)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class MagicTimeout(Exception):
    """The magic merchant that simulates a network timeout: nothing was recorded."""


@dataclass
class _Context:
    card: Card
    account: CardAccount
    holder: CardHolder
    company: Company


class SpendService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, ledger: Ledger) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.ledger = ledger

    # -- authorize -------------------------------------------------------------------------------------------
    def authorize(self, card_id: str, spec: AuthorizeSpec) -> dict[str, Any]:
        """One purchase, in one prebuilt-SQL transaction (this is the hot path of a spending test: a handful of
        statements, no ORM). Holds of the card that expired are released first, in their own transaction."""
        if self.settings.magic_values and spec.merchantName == MAGIC_TIMEOUT_MERCHANT:
            raise MagicTimeout()
        try:
            return self._authorize(card_id, spec)
        except _HoldsDue:
            self.expire_due(card_id)
            return self._authorize(card_id, spec)

    def _authorize(self, card_id: str, spec: AuthorizeSpec) -> dict[str, Any]:
        amount = to_minor(spec.amount)
        with self.db.tx(write=True) as tx:
            row = tx.one(_CARD_FACTS_FOR_UPDATE if tx.postgres else _CARD_FACTS, {"id": card_id})
            if row is None:
                raise NotFound(f"Unknown card {card_id}")
            card = _CardFacts.of(row)
            now = self.clock.now()
            if tx.one(_DUE_HOLD, {"card_id": card_id, "now": tx.ts(now)}) is not None:
                raise _HoldsDue()
            usage = usage_of(tx, card_id, now, spec.channel)
            reasons = self._decide(card, spec, amount, usage, now)
            seq = self.db.mint(tx, "txn")
            auth_id = ids.format_id(self.db.seed, "txn", seq)
            approved = not reasons
            auth = AuthorizationRecord(
                id=auth_id,
                partner_id=card.partner_id,
                company_id=card.company_id,
                account_id=card.account_id,
                card_id=card_id,
                user_id=card.user_id,
                decision="APPROVED" if approved else "DECLINED",
                state=("CLEARED" if spec.capture else "HELD") if approved else "DECLINED",
                decline_reasons=[str(r) for r in reasons],
                capture=spec.capture,
                amount_minor=amount,
                authorized_minor=amount if approved else 0,
                held_minor=0,  # a hold is credited by its ledger leg below
                cleared_minor=amount if approved and spec.capture else 0,
                released_minor=0,
                refunded_minor=0,
                currency=spec.currency,
                channel=str(spec.channel),
                international=spec.international,
                merchant_name=spec.merchantName,
                mcc=spec.mcc,
                merchant_country=spec.merchantCountry,
                network=card.kit_type or "RUPAY",
                retrieval_ref_no=_digits(self.db.seed, auth_id, "rrn", 12),
                trace_no=_digits(self.db.seed, auth_id, "stan", 6),
                hold_expires_at=now + timedelta(seconds=self.settings.hold_expiry_seconds)
                if approved and not spec.capture
                else None,
                created_at=now,
                modified_at=now,
            )
            tx.run(_INSERT_AUTHORIZATION, _insert_params(tx, auth))
            if approved:
                add_usage(
                    tx,
                    partner_id=card.partner_id,
                    card_id=card_id,
                    made_at=now,
                    channel=auth.channel,
                    amount_minor=amount,
                    count=1,
                )
            if not approved:
                legs: list[Leg] = []
                kind, event, status = TxnType.SALE, "CARD_TRANSACTION_DECLINED", "FAILED"
            elif spec.capture:
                legs = [Leg(CARD, card_id, -amount)]
                kind, event, status = TxnType.SALE, "CARD_TRANSACTION_AUTHORIZED", "SUCCESS"
            else:
                legs = [Leg(CARD, card_id, -amount), Leg(HOLD, auth_id, amount)]
                kind, event, status = TxnType.AUTH_HOLD, "CARD_TRANSACTION_AUTHORIZED", "SUCCESS"
                auth.held_minor = amount
            movement = self.ledger.record(
                tx,
                partner_id=card.partner_id,
                account_id=card.account_id,
                card_id=card_id,
                user_id=card.user_id,
                legs=legs,
                direction=Direction.DR,
                type=kind,
                amount_minor=amount,
                transaction_code=f"CARD_{auth.channel}",
                description=f"{auth.merchant_name} ({auth.channel}, MCC {auth.mcc})",
                remarks=f"Declined: {', '.join(auth.decline_reasons)}" if reasons else f"authorization {auth_id}",
                status=status,
                at=now,
                seq=seq,
            )
            balance = movement.card_balance if movement.card_balance is not None else card.balance_minor
            payload = card_transaction_payload(
                card.txn_facts(auth),
                txn_id=movement.id,
                status=movement.status,
                card_transaction_type=movement.direction,
                type=movement.type,
                amount_minor=amount,
                balance_minor=balance,
                reference=None,
                description=f"{auth.merchant_name} ({auth.channel})",
                created_at=now,
                modified_at=now,
            )
            outbox.emit(
                self.db, tx, now, partner_id=card.partner_id, event_type=event, payload=payload, company_id=card.company_id
            )
            return authorization_view(auth, balance)

    def _decide(self, card: _CardFacts, spec: AuthorizeSpec, amount: int, usage: Usage, now: datetime) -> list[DeclineReason]:
        """Every reason that applies, in the documented order (card, KYC, channel, limits, balance)."""
        reasons: list[DeclineReason] = []
        if self.settings.magic_values and spec.merchantName.startswith(MAGIC_DECLINE_PREFIX):
            forced = spec.merchantName[len(MAGIC_DECLINE_PREFIX) :]
            if forced not in DeclineReason.__members__:
                raise SpendError(
                    422, f"merchantName {spec.merchantName}: {forced} is not a decline reason ({', '.join(DeclineReason)})"
                )
            return [DeclineReason(forced)]
        if card.status == CardStatus.BLOCKED:
            reasons.append(DeclineReason.CARD_BLOCKED)
        elif card.status == CardStatus.LOCKED:
            reasons.append(DeclineReason.CARD_LOCKED)
        if card.replaced_by:
            reasons.append(DeclineReason.CARD_REPLACED)
        local = to_ist(now)
        if (int(card.expiry_year), int(card.expiry_month)) < (local.year, local.month):
            reasons.append(DeclineReason.CARD_EXPIRED)
        if card.status == CardStatus.ACTIVATING or not card.card_activated:
            reasons.append(DeclineReason.CARD_INACTIVE)
        if card.account_type in KYC_REQUIRED_ACCOUNT_TYPES and card.kyc_status not in KYC_DONE:
            reasons.append(DeclineReason.KYC_PENDING)
        controls = card.controls or {}
        if not _allowed(controls, CHANNEL_SWITCH[spec.channel]):
            reasons.append(DeclineReason.CHANNEL_NOT_ALLOWED)
        if spec.international and not _allowed(controls, "internationalAllowed"):
            reasons.append(DeclineReason.INTERNATIONAL_NOT_ALLOWED)
        rules = controls.get("velocity") or {}
        per_txn = _limit(rules, "perTxnLimit")
        if per_txn is not None and amount > per_txn:
            reasons.append(DeclineReason.PER_TXN_LIMIT_EXCEEDED)
        for window, used, count, limit_field, count_field in (
            ("DAILY", usage.day_minor, usage.day_count, "dtd", "dtdCount"),
            ("MONTHLY", usage.month_minor, usage.month_count, "mtd", "mtdCount"),
            ("YEARLY", usage.year_minor, usage.year_count, "ytd", "ytdCount"),
        ):
            limit = _limit(rules, limit_field)
            if limit is not None and used + amount > limit:
                reasons.append(DeclineReason(f"{window}_LIMIT_EXCEEDED"))
            most = _count(rules, count_field)
            if most is not None and count + 1 > most:
                reasons.append(DeclineReason(f"{window}_COUNT_EXCEEDED"))
        limit_field, count_field = CHANNEL_LIMITS[spec.channel]
        channel_limit, channel_most = _limit(rules, limit_field), _count(rules, count_field)
        if channel_limit is not None and usage.channel_day_minor + amount > channel_limit:
            reasons.append(DeclineReason.CHANNEL_DAILY_LIMIT_EXCEEDED)
        if channel_most is not None and usage.channel_day_count + 1 > channel_most:
            reasons.append(DeclineReason.CHANNEL_DAILY_COUNT_EXCEEDED)
        magic_short = self.settings.magic_values and amount % 100 == MAGIC_INSUFFICIENT_PAISE
        if card.balance_minor < amount or magic_short:
            reasons.append(DeclineReason.INSUFFICIENT_BALANCE)
        return reasons

    # -- after the authorization -----------------------------------------------------------------------------
    def clear(self, auth_id: str, amount: Decimal | None, final: bool = True) -> dict[str, Any]:
        """Capture (part of) a hold: the cleared amount leaves for the merchant; a final clearing gives back
        what is still held."""
        self.expire_due()
        with self.db.write() as s:
            ctx, auth = self._lock_auth(s, auth_id)
            minor = self._from_hold(auth, amount, "clear")
            now = self.clock.now()
            movement = self._record(s, ctx, auth, [Leg(HOLD, auth.id, -minor)], TxnType.SALE, Direction.DR, minor, now)
            auth.cleared_minor += minor
            auth.held_minor -= minor
            if final and auth.held_minor:
                self._release(s, ctx, auth, auth.held_minor, TxnType.AUTH_RELEASE, now, "remainder of a final clearing")
            self._settle_state(auth, expired=False)
            s.add(auth)
            self._emit(s, ctx, auth, movement, "CARD_TRANSACTION_CLEARED", now)
            return self._answer(auth, ctx.card.id, None, s)

    def reverse(self, auth_id: str, amount: Decimal | None) -> dict[str, Any]:
        """Release (part of) a hold back to the card, unused."""
        self.expire_due()
        with self.db.write() as s:
            ctx, auth = self._lock_auth(s, auth_id)
            minor = self._from_hold(auth, amount, "reverse")
            now = self.clock.now()
            movement = self._release(s, ctx, auth, minor, TxnType.REVERSAL, now, "authorization reversed")
            self._settle_state(auth, expired=False)
            s.add(auth)
            self._emit(s, ctx, auth, movement, "CARD_TRANSACTION_REVERSED", now)
            return self._answer(auth, ctx.card.id, None, s)

    def refund(self, auth_id: str, amount: Decimal | None) -> dict[str, Any]:
        """Money back from the merchant, after clearing: at most what was cleared, in one or more refunds."""
        self.expire_due()
        with self.db.write() as s:
            ctx, auth = self._lock_auth(s, auth_id)
            if auth.decision != "APPROVED":
                raise SpendError(409, f"authorization {auth.id} was declined; there is nothing to refund")
            refundable = auth.cleared_minor - auth.refunded_minor
            if refundable <= 0:
                raise SpendError(
                    409,
                    f"authorization {auth.id} has nothing cleared left to refund "
                    f"(cleared {_rupees(auth.cleared_minor)}, refunded {_rupees(auth.refunded_minor)})",
                )
            minor = refundable if amount is None else to_minor(amount)
            if minor > refundable:
                raise SpendError(
                    422,
                    f"cannot refund {_rupees(minor)}: only {_rupees(refundable)} of what was cleared is not yet refunded",
                )
            now = self.clock.now()
            movement = self._credit_card(s, ctx, auth, minor, [], TxnType.REFUND, now, "refund from the merchant")
            auth.refunded_minor += minor
            s.add(auth)
            self._emit(s, ctx, auth, movement, "CARD_TRANSACTION_REFUNDED", now)
            return self._answer(auth, ctx.card.id, None, s)

    def increment(self, auth_id: str, amount: Decimal) -> dict[str, Any]:
        """Raise an open hold (a hotel stay grows): needs the card usable and the balance; limits were
        checked when the authorization was made."""
        self.expire_due()
        with self.db.write() as s:
            ctx, auth = self._lock_auth(s, auth_id)
            self._need_state(auth, "HELD", "incremented")
            if ctx.card.replaced_by or ctx.card.status in (CardStatus.LOCKED, CardStatus.BLOCKED, CardStatus.ACTIVATING):
                raise SpendError(
                    409, f"card {ctx.card.id} cannot spend now (status {ctx.card.status}); the increment is declined"
                )
            minor = to_minor(amount)
            if ctx.card.balance_minor < minor:
                raise SpendError(
                    422, f"increment declined: INSUFFICIENT_BALANCE (card {ctx.card.id} has {_rupees(ctx.card.balance_minor)})"
                )
            now = self.clock.now()
            movement = self._record(
                s,
                ctx,
                auth,
                [Leg(CARD, ctx.card.id, -minor), Leg(HOLD, auth.id, minor)],
                TxnType.AUTH_HOLD,
                Direction.DR,
                minor,
                now,
                description=f"Increment of {auth.id} at {auth.merchant_name}",
            )
            auth.authorized_minor += minor
            auth.held_minor += minor
            self._usage(s, auth, minor)
            s.add(auth)
            self._emit(s, ctx, auth, movement, "CARD_TRANSACTION_AUTHORIZED", now)
            return self._answer(auth, ctx.card.id, movement.card_balance)

    def expire_due(self, card_id: str | None = None) -> int:
        """Release every hold whose time passed on the sandbox clock (each in its own short transaction, claimed
        under the card lock so two workers never release one hold twice)."""
        now = self.clock.now()
        with self.db.read() as s:
            query = select(CardAuthorization.id).where(
                CardAuthorization.state == "HELD", col(CardAuthorization.hold_expires_at) <= now
            )
            if card_id:
                query = query.where(CardAuthorization.card_id == card_id)
            due = list(s.exec(query))
        released = 0
        for auth_id in due:
            with self.db.write() as s:
                ctx, auth = self._lock_auth(s, auth_id)
                if auth.state != "HELD" or auth.hold_expires_at is None or auth.hold_expires_at > now:
                    continue  # released, cleared or expired by someone else meanwhile
                movement = self._release(s, ctx, auth, auth.held_minor, TxnType.AUTH_RELEASE, now, "hold expired")
                self._settle_state(auth, expired=True)
                s.add(auth)
                self._emit(s, ctx, auth, movement, "CARD_TRANSACTION_REVERSED", now)
                released += 1
        return released

    # -- reading ---------------------------------------------------------------------------------------------
    def get(self, auth_id: str) -> dict[str, Any]:
        self.expire_due()
        with self.db.read() as s:
            auth = s.get(CardAuthorization, auth_id)
            if auth is None:
                raise NotFound(f"Unknown transaction {auth_id}")
            card = s.get(Card, auth.card_id)
            return self._answer(auth, auth.card_id, card.balance_minor if card else None, s)

    def of_card(self, card_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """A card's authorizations, newest first."""
        self.expire_due(card_id)
        with self.db.read() as s:
            card = s.get(Card, card_id)
            if card is None:
                raise NotFound(f"Unknown card {card_id}")
            rows = s.exec(
                select(CardAuthorization)
                .where(CardAuthorization.card_id == card_id)
                .order_by(col(CardAuthorization.created_at).desc(), col(CardAuthorization.id).desc())
                .limit(limit)
            ).all()
            # otbBalance: the card's balance now (on every row, so a list shows it without another call)
            return [authorization_view(a, card.balance_minor) for a in rows]

    def usage(self, card_id: str) -> dict[str, Any]:
        """Spent and counted in the current IST day, month and year (what velocity limits compare with)."""
        with self.db.tx(write=False) as tx:
            used = usage_of(tx, card_id, self.clock.now(), None)
        return used.view()

    # -- internals -------------------------------------------------------------------------------------------
    def _lock_card(self, s: Session, card_id: str) -> Card:
        """The card, read after taking its row lock (PostgreSQL; SQLite has one writer at a time)."""
        tx = self.db.tx_of(s)
        if tx.postgres:
            tx.one(_LOCK_CARD, {"id": card_id})
        card = s.exec(select(Card).where(Card.id == card_id).execution_options(populate_existing=True)).first()
        if card is None:
            raise NotFound(f"Unknown card {card_id}")
        return card

    def _lock(self, s: Session, card_id: str) -> _Context:
        card = self._lock_card(s, card_id)
        account = s.get(CardAccount, card.account_id)
        holder = s.get(CardHolder, card.user_id)
        assert account is not None and holder is not None  # foreign keys
        company = s.get(Company, account.company_id)
        assert company is not None  # company_id is a foreign key
        return _Context(card, account, holder, company)

    def _lock_auth(self, s: Session, auth_id: str) -> tuple[_Context, CardAuthorization]:
        found = s.get(CardAuthorization, auth_id)
        if found is None:
            raise NotFound(f"Unknown transaction {auth_id}")
        ctx = self._lock(s, found.card_id)
        # read again under the card's lock: another worker may have changed it meanwhile
        auth = s.exec(
            select(CardAuthorization).where(CardAuthorization.id == auth_id).execution_options(populate_existing=True)
        ).one()
        return ctx, auth

    @staticmethod
    def _need_state(auth: CardAuthorization, state: str, verb: str) -> None:
        if auth.state != state:
            raise SpendError(409, f"authorization {auth.id} is {auth.state}; only a HELD authorization can be {verb}")

    def _from_hold(self, auth: CardAuthorization, amount: Decimal | None, verb: str) -> int:
        """What a clearing or reversal takes from an open hold: all of it when no amount is given, never more."""
        self._need_state(auth, "HELD", {"clear": "cleared", "reverse": "reversed"}[verb])
        minor = auth.held_minor if amount is None else to_minor(amount)
        if minor > auth.held_minor:
            raise SpendError(422, f"cannot {verb} {_rupees(minor)}: only {_rupees(auth.held_minor)} is held")
        return minor

    @staticmethod
    def _settle_state(auth: CardAuthorization, *, expired: bool) -> None:
        if auth.held_minor:
            auth.state = "HELD"
        elif auth.cleared_minor:
            auth.state = "CLEARED"
        else:
            auth.state = "EXPIRED" if expired else "REVERSED"

    def _record(
        self,
        s: Session,
        ctx: _Context,
        auth: CardAuthorization,
        legs: list[Leg],
        type: str,
        direction: str,
        amount: int,
        now: datetime,
        *,
        seq: int | None = None,
        status: str = "SUCCESS",
        description: str | None = None,
        card_id: str | None = None,
    ) -> Movement:
        reasons = ", ".join(auth.decline_reasons or [])
        return self.ledger.record(
            self.db.tx_of(s),
            partner_id=ctx.card.partner_id,
            account_id=ctx.account.id,
            card_id=card_id or ctx.card.id,
            user_id=ctx.card.user_id,
            legs=legs,
            direction=direction,
            type=type,
            amount_minor=amount,
            transaction_code=f"CARD_{auth.channel}",
            description=description or f"{auth.merchant_name} ({auth.channel}, MCC {auth.mcc})",
            remarks=f"Declined: {reasons}" if status == "FAILED" else f"authorization {auth.id}",
            status=status,
            at=now,
            seq=seq,
        )

    def _release(
        self, s: Session, ctx: _Context, auth: CardAuthorization, minor: int, type: str, now: datetime, why: str
    ) -> Movement:
        movement = self._credit_card(s, ctx, auth, minor, [Leg(HOLD, auth.id, -minor)], type, now, why)
        auth.held_minor -= minor
        auth.released_minor += minor
        self._usage(s, auth, -minor)  # money released unused gives the velocity limit back
        return movement

    def _usage(self, s: Session, auth: CardAuthorization, minor: int) -> None:
        """An authorization's amount changed: so do the sums of the periods it was made in."""
        add_usage(
            self.db.tx_of(s),
            partner_id=auth.partner_id,
            card_id=auth.card_id,
            made_at=auth.created_at,
            channel=auth.channel,
            amount_minor=minor,
            count=0,
        )

    def _credit_card(
        self, s: Session, ctx: _Context, auth: CardAuthorization, minor: int, extra: list[Leg], type: str, now: datetime, why: str
    ) -> Movement:
        """Money back to the holder: to the card, or — if it was replaced since — along the replacement chain to
        the live card (never onto a replaced one, even one replaced a moment ago by another worker)."""
        card_id = ctx.card.id
        for _ in range(64):
            card = self._lock_card(s, card_id)
            if card.replaced_by:
                card_id = card.replaced_by
                continue
            # locked: a replacement of this card (another worker) waits for our commit, so the credit lands
            replaced = f" (authorized on {ctx.card.id}, since replaced)" if card.id != ctx.card.id else ""
            return self._record(
                s,
                ctx,
                auth,
                [*extra, Leg(CARD, card.id, minor)],
                type,
                Direction.CR,
                minor,
                now,
                description=f"{why}: {auth.merchant_name}{replaced}",
                card_id=card.id,
            )
        raise SpendError(409, f"card {ctx.card.id} has too many replacements to give money back to")

    def _emit(self, s: Session, ctx: _Context, auth: CardAuthorization, movement: Movement, event: str, now: datetime) -> None:
        payload = card_transaction_payload(
            facts_of(ctx.card, ctx.holder, ctx.company, auth),
            txn_id=movement.id,
            status=movement.status,
            card_transaction_type=movement.direction,
            type=movement.type,
            amount_minor=movement.amount_minor,
            balance_minor=_card_balance(s, movement, ctx.card),
            reference=movement.pg_reference_number,
            description=f"{auth.merchant_name} ({auth.channel})",
            created_at=auth.created_at,
            modified_at=now,
        )
        outbox.emit(
            self.db,
            self.db.tx_of(s),
            now,
            partner_id=ctx.card.partner_id,
            event_type=event,
            payload=payload,
            company_id=ctx.account.company_id,
        )

    def _answer(
        self, auth: CardAuthorization, card_id: str, balance_minor: int | None, s: Session | None = None
    ) -> dict[str, Any]:
        if balance_minor is None and s is not None:
            card = s.exec(select(Card).where(Card.id == card_id).execution_options(populate_existing=True)).first()
            balance_minor = card.balance_minor if card else None
        return authorization_view(auth, balance_minor)


def authorization_view(auth: Authorization, otb_minor: int | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "transactionId": auth.id,
        "enKashCardId": auth.card_id,
        "cardAccountId": auth.account_id,
        "status": auth.decision,
        "state": auth.state,
        "declineReasons": list(auth.decline_reasons or []),
        "amount": from_minor(auth.amount_minor),
        "authorizedAmount": from_minor(auth.authorized_minor),
        "heldAmount": from_minor(auth.held_minor),
        "clearedAmount": from_minor(auth.cleared_minor),
        "releasedAmount": from_minor(auth.released_minor),
        "refundedAmount": from_minor(auth.refunded_minor),
        "currency": auth.currency,
        "channel": auth.channel,
        "international": auth.international,
        "merchantName": auth.merchant_name,
        "mcc": auth.mcc,
        "merchantCountry": auth.merchant_country,
        "network": auth.network,
        "retrievalRefNo": auth.retrieval_ref_no,
        "traceNo": auth.trace_no,
        "holdExpiresAt": iso_utc(auth.hold_expires_at),
        "createdOn": java_medium(auth.created_at),
        "modifiedOn": java_medium(auth.modified_at),
    }
    if otb_minor is not None:
        view["otbBalance"] = from_minor(otb_minor)
    return view


def _card_balance(s: Session, movement: Movement, card: Card) -> int:
    if movement.card_balance is not None:
        return movement.card_balance
    row = s.exec(select(Card.balance_minor).where(Card.id == (movement.card_id or card.id))).first()
    return int(row) if row is not None else card.balance_minor


def _rupees(minor: int) -> str:
    """An amount in a message as the docs print amounts (100, 10.5)."""
    return decimal_text(from_minor(minor))


def _allowed(controls: dict[str, Any], switch: str) -> bool:
    """A channel is open when both the holder's switch and the admin's are on (set them with velocity/rule;
    adminUser: true sets the admin level too)."""
    return bool(controls.get(switch)) and bool(controls.get(switch + "Admin"))


def _limit(rules: dict[str, Any], field: str) -> int | None:
    value = rules.get(field)
    return None if value is None else to_minor(Decimal(str(value)))


def _count(rules: dict[str, Any], field: str) -> int | None:
    value = rules.get(field)
    return None if value is None else int(value)


def _digits(seed: int, txn_id: str, what: str, width: int) -> str:
    """A deterministic network reference (RRN, STAN) for an authorization: the same seed, the same numbers."""
    digest = hashlib.blake2b(f"{seed}:{what}:{txn_id}".encode(), digest_size=8).digest()
    return str(int.from_bytes(digest, "big") % 10**width).zfill(width)
