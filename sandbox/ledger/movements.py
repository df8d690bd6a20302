"""The ledger: the only code that changes a balance.

Every movement is one Transaction (what the partner sees) plus one LedgerEntry per balance it
touches, written in the caller's transaction together with the balance change. Debits are
conditional UPDATEs (`... WHERE balance >= amount`), so two racing debits can never overdraw,
whatever the database's isolation level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from enkash_sandbox import ids, jsonio
from enkash_sandbox.errors import BusinessFailure, InsufficientBalance
from enkash_sandbox.money import MAX_BALANCE_MINOR
from enkash_sandbox.store.tables import Card, CardAccount, LedgerEntry, Transaction
from sqlalchemy import bindparam, case, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.store.engine import Database


ACCOUNT = "ACCOUNT"
CARD = "CARD"

# types that move money from the account to a card and count as allocation
REPLACEMENT = "CARD_REPLACEMENT"
REDEMPTION = "REDEMPTION"
FUNDING = "ACCOUNT_FUNDING"


class BalanceLimit(BusinessFailure):
    default_message = "The balance would exceed the sandbox's limit of 10^15 (a thousand lakh crore)"


class DuplicateReference(BusinessFailure):
    def __init__(self, reference: str, account_id: str, first_response: dict | None = None):
        # copied now: the first transaction's row is gone from the session once this rolls back
        self.first_response = first_response
        super().__init__(f"Duplicate uniqueReferenceNumber: {reference} was already used on card account {account_id}")


class CardReplaced(BusinessFailure):
    """A credit for a card that was replaced (possibly a moment ago, by another worker): the money must
    follow the holder to the live card, never land on the old one."""

    def __init__(self, card_id: str):
        self.card_id = card_id
        super().__init__(f"Card {card_id} was replaced; use the replacement card")


T = TypeVar("T")


def jsonable(obj: Any) -> Any:
    """A response as JSON would carry it (what a replayed duplicate answers with)."""
    return jsonio.loads(jsonio.dumps(obj))


def replay_duplicates(settings: Settings, fn: Callable[[], T]) -> T:
    """Run a money movement; on a duplicate reference either fail (default) or, with
    duplicate_reference=replay, answer with what the first request was answered.

    A movement that lost a race to a unique index (two first allocations to one new holder, say, on
    PostgreSQL where writers run concurrently) is run once more: it then finds what the winner made."""
    try:
        try:
            return fn()
        except IntegrityError:
            return fn()
    except DuplicateReference as dup:
        if settings.duplicate_reference == "replay" and dup.first_response is not None:
            return dup.first_response  # type: ignore[no-any-return]
        raise


@dataclass
class Leg:
    kind: str  # ACCOUNT | CARD
    holder: CardAccount | Card
    delta: int  # signed paise


class Ledger:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- references ------------------------------------------------------------------------
    def find_reference(self, s: Session, account_id: str, reference: str | None) -> Transaction | None:
        if not reference:
            return None
        return s.exec(
            select(Transaction).where(Transaction.account_id == account_id, Transaction.pg_reference_number == reference)
        ).first()

    def guard_reference(self, s: Session, account_id: str, reference: str | None) -> None:
        first = self.find_reference(s, account_id, reference)
        if first is not None:
            raise DuplicateReference(reference, account_id, dict(first.response) if first.response else None)

    # -- balance primitives ----------------------------------------------------------------
    def _apply(self, s: Session, leg: Leg, *, insufficient: BusinessFailure) -> int:
        model = CardAccount if leg.kind == ACCOUNT else Card
        stmt = update(model).where(model.id == leg.holder.id)
        if leg.delta < 0:
            stmt = stmt.where(model.balance_minor >= -leg.delta)
        else:
            # no balance may grow past what every engine stores exactly (SQLite would silently go to float)
            stmt = stmt.where(model.balance_minor <= MAX_BALANCE_MINOR - leg.delta)
            if leg.kind == CARD:
                # money never lands on a replaced card: the guard is in the statement, so a replace that
                # committed a moment ago in another worker (row-locked on PostgreSQL) is seen here
                stmt = stmt.where(Card.replaced_by.is_(None))  # type: ignore[union-attr]
        stmt = stmt.values(balance_minor=model.balance_minor + leg.delta).returning(model.balance_minor)
        row = s.execute(stmt, execution_options={"synchronize_session": False}).first()
        if row is None:
            if leg.delta > 0:
                if leg.kind == CARD and s.execute(select(Card.replaced_by).where(Card.id == leg.holder.id)).scalar():
                    raise CardReplaced(leg.holder.id)
                raise BalanceLimit()
            raise insufficient
        set_committed_value(leg.holder, "balance_minor", row[0])
        return row[0]

    def move(
        self,
        s: Session,
        *,
        legs: list[Leg],
        account: CardAccount,
        card: Card | None,
        direction: str,
        type: str,
        amount_minor: int,
        transaction_code: str | None = None,
        reference: str | None = None,
        description: str | None = None,
        remarks: str | None = None,
        created_by: str | None = None,
        status: str = "SUCCESS",
        insufficient: BusinessFailure | None = None,
        at: datetime | None = None,
        order_id: str | None = None,
    ) -> Transaction:
        """Apply every leg and record the transaction with one ledger row per leg. A debit that cannot
        be met raises; nothing is visible until the caller's transaction commits."""
        now = at or self.clock.now()
        account_id = account.id  # read now: a failed flush below expires the ORM objects
        self.guard_reference(s, account_id, reference)
        balances: dict[tuple[str, str], int] = {}
        # one lock order for every movement (accounts before cards, then by id), so two movements touching
        # the same rows in opposite directions queue instead of deadlocking on PostgreSQL; a shortfall raises,
        # and the caller's rollback undoes any leg already applied
        for leg in sorted(legs, key=lambda leg: (leg.kind != ACCOUNT, leg.holder.id)):
            balances[(leg.kind, leg.holder.id)] = self._apply(s, leg, insufficient=insufficient or InsufficientBalance())
        seq = self.db.next_ids(s, "txn")[0]
        txn = Transaction(
            id=ids.format_id(self.db.seed, "txn", seq),
            seq=seq,
            partner_id=account.partner_id,
            account_id=account.id,
            card_id=card.id if card else None,
            user_id=card.user_id if card else None,
            direction=direction,
            type=type,
            transaction_code=transaction_code,
            amount_minor=amount_minor,
            card_balance_after_minor=balances.get((CARD, card.id)) if card else None,
            account_balance_after_minor=balances.get((ACCOUNT, account.id)),
            pg_reference_number=reference,
            status=status,
            description=description,
            remarks=remarks,
            created_by=created_by,
            order_id=order_id,
            created_at=now,
        )
        s.add(txn)
        try:
            s.flush()
        except IntegrityError as exc:
            # a concurrent twin recorded the same reference first (PostgreSQL: no BEGIN IMMEDIATE there)
            if "uq_txn_account_reference" in str(exc.orig) or "pg_reference" in str(exc.orig):
                raise DuplicateReference(reference, account_id) from None
            raise
        # ledger rows are written with a Core insert: no ORM object is needed for them afterwards
        s.connection().execute(
            insert(LedgerEntry.__table__),
            [
                {
                    "txn_id": txn.id,
                    "partner_id": account.partner_id,
                    "holder_kind": leg.kind,
                    "holder_id": leg.holder.id,
                    "amount_minor": leg.delta,
                    "balance_after_minor": balances[(leg.kind, leg.holder.id)],
                    "created_at": now,
                }
                for leg in legs
            ],
        )
        if card is not None:
            card.modified_at = now
            s.add(card)
        return txn

    # -- the movements the product has -----------------------------------------------------
    def fund_account(
        self,
        s: Session,
        account: CardAccount,
        amount_minor: int,
        *,
        remarks: str | None = None,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> Transaction:
        """Money arriving from outside (the partner prefunding its account)."""
        return self.move(
            s,
            legs=[Leg(ACCOUNT, account, amount_minor)],
            account=account,
            card=None,
            direction="CR",
            type=FUNDING,
            transaction_code="PREFUND",
            amount_minor=amount_minor,
            reference=reference,
            remarks=remarks,
            at=at,
        )

    def account_to_card(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw) -> Transaction:
        kw.setdefault("insufficient", InsufficientBalance())
        return self.move(
            s,
            legs=[Leg(ACCOUNT, account, -amount_minor), Leg(CARD, card, amount_minor)],
            account=account,
            card=card,
            direction="CR",
            amount_minor=amount_minor,
            **kw,
        )

    def card_to_account(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw) -> Transaction:
        kw.setdefault("insufficient", InsufficientBalance())
        return self.move(
            s,
            legs=[Leg(CARD, card, -amount_minor), Leg(ACCOUNT, account, amount_minor)],
            account=account,
            card=card,
            direction="DR",
            amount_minor=amount_minor,
            **kw,
        )

    def card_spend(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw) -> Transaction:
        """Money leaving the system from a card (a redemption, a purchase)."""
        kw.setdefault("insufficient", InsufficientBalance())
        return self.move(
            s, legs=[Leg(CARD, card, -amount_minor)], account=account, card=card, direction="DR", amount_minor=amount_minor, **kw
        )

    def card_refund(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw) -> Transaction:
        return self.move(
            s, legs=[Leg(CARD, card, amount_minor)], account=account, card=card, direction="CR", amount_minor=amount_minor, **kw
        )

    def bulk_account_to_cards(
        self, s: Session, account: CardAccount, items: list[BulkItem], *, type: str, transaction_code: str
    ) -> list[dict]:
        """Many account->card moves in one go (bulk allocation), written with Core inserts: one
        conditional debit of the account for the total, one credit per card, and the same Transaction and
        LedgerEntry rows `move` writes, with running balances. The caller has already decided which
        rows fit the balance and holds the write lock, so every card's starting balance is current."""
        if not items:
            return []
        total = sum(item.amount_minor for item in items)
        row = s.execute(
            update(CardAccount)
            .where(CardAccount.id == account.id, CardAccount.balance_minor >= total)
            .values(balance_minor=CardAccount.balance_minor - total)
            .returning(CardAccount.balance_minor),
            execution_options={"synchronize_session": False},
        ).first()
        if row is None:
            raise InsufficientBalance()
        account_balance = row[0] + total
        set_committed_value(account, "balance_minor", row[0])
        now = self.clock.now()
        seed = self.db.seed
        balances: dict[str, int] = {}
        card_updates: dict[str, dict] = {}
        txns, entries = [], []
        for item, seq in zip(items, self.db.next_ids(s, "txn", len(items)), strict=True):
            minor = item.amount_minor
            account_balance -= minor
            balances[item.card_id] = balances.get(item.card_id, item.start_balance_minor) + minor
            txn_id = ids.format_id(seed, "txn", seq)
            txns.append(
                {
                    "id": txn_id,
                    "seq": seq,
                    "partner_id": account.partner_id,
                    "account_id": account.id,
                    "card_id": item.card_id,
                    "user_id": item.user_id,
                    "direction": "CR",
                    "type": type,
                    "transaction_code": transaction_code,
                    "amount_minor": minor,
                    "card_balance_after_minor": balances[item.card_id],
                    "account_balance_after_minor": account_balance,
                    "pg_reference_number": item.reference,
                    "status": "SUCCESS",
                    "description": None,
                    "remarks": item.remarks,
                    "created_by": None,
                    "created_at": now,
                }
            )
            entries.append(
                {
                    "txn_id": txn_id,
                    "partner_id": account.partner_id,
                    "holder_kind": ACCOUNT,
                    "holder_id": account.id,
                    "amount_minor": -minor,
                    "balance_after_minor": account_balance,
                    "created_at": now,
                }
            )
            entries.append(
                {
                    "txn_id": txn_id,
                    "partner_id": account.partner_id,
                    "holder_kind": CARD,
                    "holder_id": item.card_id,
                    "amount_minor": minor,
                    "balance_after_minor": balances[item.card_id],
                    "created_at": now,
                }
            )
            upd = card_updates.setdefault(item.card_id, {"cid": item.card_id, "delta": 0, "first": minor})
            upd["delta"] += minor
            upd["last"] = minor
        conn = s.connection()
        conn.execute(insert(Transaction.__table__), txns)
        conn.execute(insert(LedgerEntry.__table__), entries)
        cards = Card.__table__
        conn.execute(
            update(cards)
            .where(cards.c.id == bindparam("cid"))
            .values(
                balance_minor=cards.c.balance_minor + bindparam("delta"),
                last_allocated_minor=bindparam("last"),
                load_amount_minor=case((cards.c.load_amount_minor == 0, bindparam("first")), else_=cards.c.load_amount_minor),
                modified_at=bindparam("now"),
            ),
            [{**card_updates[cid], "now": now} for cid in sorted(card_updates)],
        )
        return txns


@dataclass
class BulkItem:
    card_id: str
    user_id: str
    start_balance_minor: int
    amount_minor: int
    reference: str | None
    remarks: str | None
