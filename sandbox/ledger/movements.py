"""The ledger: the only code that changes a balance.

Every movement is one transaction row (what the partner sees) plus one ledger row per balance it touches,
written in the caller's transaction together with the balance change, as prebuilt statements:

- one guarded UPDATE per leg: a debit carries `balance >= :amount` in its WHERE (two racing debits can never
  overdraw, whatever the isolation level), a credit carries the balance ceiling and, for a card,
  `replaced_by IS NULL` (no money lands on a replaced card, even one replaced a moment ago by another worker);
- legs are applied in one lock order (accounts before cards, then by id), so opposite movements queue
  instead of deadlocking on PostgreSQL;
- the transaction id comes from a guarded counter UPDATE taken last, so its row lock is held briefly;
- a repeated reference is stopped by the unique index on (account, reference): no read first;
- on PostgreSQL, where every statement is a round trip and locks last until the commit, the legs and the counter
  are one composed statement and the transaction and ledger rows another (same statements, same order, same
  guards); on SQLite they run one by one.

Hot paths call `record()` with a prebuilt-SQL transaction (store/sql.py); cold paths that hold ORM objects
call `move()` and the helpers below, which run the same statements inside their session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from enkash_sandbox import ids, jsonio
from enkash_sandbox.envelopes import Inferred
from enkash_sandbox.errors import BusinessFailure, InsufficientBalance
from enkash_sandbox.money import MAX_BALANCE_MINOR
from enkash_sandbox.store.engine import MINT
from enkash_sandbox.store.sql import Sql, Tx, as_json, renamed
from enkash_sandbox.store.tables import Card, CardAccount
from enkash_sandbox.vocabulary import Direction, HolderKind, TxnType
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.store.engine import Database


ACCOUNT = HolderKind.ACCOUNT
CARD = HolderKind.CARD
HOLD = HolderKind.HOLD
REPLACEMENT = TxnType.CARD_REPLACEMENT
REDEMPTION = TxnType.REDEMPTION
FUNDING = TxnType.ACCOUNT_FUNDING


class BalanceLimit(BusinessFailure):
    default_message = "The balance would exceed the sandbox's limit of 10^15 (a thousand lakh crore)"


class DuplicateReference(BusinessFailure):
    # EnKash documents no duplicate check for cards: the refusal is the sandbox's, and says so
    headers = {"X-Sandbox-Inferred": "duplicate-reference"}

    def __init__(self, reference: str | None, account_id: str, first_response: dict[str, Any] | None = None):
        self.reference = reference
        self.account_id = account_id
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


def violated_reference_index(exc: IntegrityError) -> bool:
    """Whether a unique violation is the (account, reference) index's: the message names its columns on
    SQLite, its name on PostgreSQL."""
    message = str(exc.orig)
    return "pg_reference_number" in message or "uq_txn_account_reference" in message


# -- the statements ------------------------------------------------------------------------------------------
_DEBIT_ACCOUNT = Sql(
    "UPDATE card_account SET balance_minor = balance_minor + :delta "
    "WHERE id = :id AND balance_minor >= :need RETURNING balance_minor"
)
_CREDIT_ACCOUNT = Sql(
    "UPDATE card_account SET balance_minor = balance_minor + :delta "
    "WHERE id = :id AND balance_minor <= :ceiling RETURNING balance_minor"
)
_DEBIT_CARD = Sql(
    "UPDATE card SET balance_minor = balance_minor + :delta, modified_at = :now "
    "WHERE id = :id AND balance_minor >= :need RETURNING balance_minor"
)
_CREDIT_CARD = Sql(
    "UPDATE card SET balance_minor = balance_minor + :delta, modified_at = :now "
    "WHERE id = :id AND balance_minor <= :ceiling AND replaced_by IS NULL RETURNING balance_minor"
)
# a load remembers its amount (lastAllocatedAmount); an allocation also sets loadAmount the first time
_LOAD_CARD = Sql(
    "UPDATE card SET balance_minor = balance_minor + :delta, modified_at = :now, last_allocated_minor = :delta "
    "WHERE id = :id AND balance_minor <= :ceiling AND replaced_by IS NULL RETURNING balance_minor"
)
_ALLOCATE_TO_CARD = Sql(
    "UPDATE card SET balance_minor = balance_minor + :delta, modified_at = :now, last_allocated_minor = :delta, "
    "load_amount_minor = CASE WHEN load_amount_minor = 0 THEN :delta ELSE load_amount_minor END "
    "WHERE id = :id AND balance_minor <= :ceiling AND replaced_by IS NULL RETURNING balance_minor"
)
# an authorization hold is a balance of its own: money moves card -> hold (AUTH_HOLD), hold -> merchant (SALE)
# and hold -> card (AUTH_RELEASE / REVERSAL), each leg guarded like a card's
_DEBIT_HOLD = Sql(
    "UPDATE card_authorization SET held_minor = held_minor + :delta, modified_at = :now "
    "WHERE id = :id AND held_minor >= :need RETURNING held_minor"
)
_CREDIT_HOLD = Sql(
    "UPDATE card_authorization SET held_minor = held_minor + :delta, modified_at = :now "
    "WHERE id = :id AND held_minor <= :ceiling RETURNING held_minor"
)
_REPLACED_BY = Sql("SELECT replaced_by FROM card WHERE id = :id")
_INSERT_TXN = Sql(
    'INSERT INTO "transaction" (id, seq, partner_id, account_id, card_id, user_id, direction, type, transaction_code, '
    "amount_minor, card_balance_after_minor, account_balance_after_minor, pg_reference_number, status, description, "
    "remarks, created_by, order_id, response, created_at) VALUES (:id, :seq, :partner_id, :account_id, :card_id, "
    ":user_id, :direction, :type, :transaction_code, :amount_minor, :card_balance_after_minor, "
    ":account_balance_after_minor, :pg_reference_number, :status, :description, :remarks, :created_by, :order_id, "
    ":response, :created_at)"
)
_ENTRY_COLUMNS = ("txn_id", "partner_id", "holder_kind", "holder_id", "amount_minor", "balance_after_minor", "created_at")
_INSERT_ENTRY = Sql(
    f"INSERT INTO ledger_entry ({', '.join(_ENTRY_COLUMNS)}) VALUES ({', '.join(':' + c for c in _ENTRY_COLUMNS)})"
)
_SET_RESPONSE = Sql('UPDATE "transaction" SET response = :response WHERE id = :id')
_FIRST_RESPONSE = Sql('SELECT response FROM "transaction" WHERE account_id = :account_id AND pg_reference_number = :ref')


# -- PostgreSQL: a movement in two round trips ----------------------------------------------------------------
# Every statement is a round trip to the server, and the rows a movement locks stay locked until its commit: one
# statement per leg, one for the counter, one for the transaction row and one for its ledger rows held the hot
# account's lock across six round trips (a load was ten in all). Composed here from the statements above, once
# per shape: every leg and the counter in one statement, the transaction row and its ledger rows in another.
# once per shape: (the legs' statements, whether the counter is taken) -> statement; ledger rows -> statement
_LEGS_STATEMENTS: dict[tuple[tuple[Sql, ...], bool], Sql] = {}
_INSERT_STATEMENTS: dict[int, Sql] = {}


def _first(row: tuple[Any, ...] | None) -> Any:
    return row[0] if row is not None else None


def _legs_in_one_statement(steps: tuple[Sql, ...], mint: bool) -> Sql:
    """The legs' guarded UPDATEs (and the transaction counter) as one statement answering every new balance
    (and the counter). Each step runs only if the step before it moved something (`EXISTS`): that keeps the
    lock order above — a step cannot touch its row before the previous one has locked its own — and a guard
    that fails leaves every later leg and the counter untouched, as when they ran one by one."""
    key = (steps, mint)
    composed = _LEGS_STATEMENTS.get(key)
    if composed is None:
        # Database.mint's statement, taken last like there (its parameters end _<number of legs>)
        chain = steps + ((MINT,) if mint else ())
        parts, answers = [], []
        for i, sql in enumerate(chain):
            text = renamed(sql, f"_{i}")
            if i:
                assert text.count(" RETURNING ") == 1, text
                text = text.replace(" RETURNING ", f" AND EXISTS (SELECT 1 FROM step{i - 1}) RETURNING ")
            parts.append(f"step{i} AS ({text})")
            answers.append(f"(SELECT * FROM step{i})")
        composed = _LEGS_STATEMENTS[key] = Sql(f"WITH {', '.join(parts)} SELECT {', '.join(answers)}")
    return composed


def _apply_in_one_statement(tx: Tx, steps: list[tuple[Leg, Sql, dict[str, Any]]], *, mint: bool) -> tuple[list[Any], int | None]:
    """Each leg's new balance (None from the first guard that failed on) and the minted transaction number."""
    statement = _legs_in_one_statement(tuple(sql for _, sql, _ in steps), mint)
    params = {f"{name}_{i}": value for i, (_, _, step) in enumerate(steps) for name, value in step.items()}
    if mint:
        params.update({f"kind_{len(steps)}": "txn", f"count_{len(steps)}": 1})
    answer = tx.one(statement, params)
    assert answer is not None  # a SELECT of scalar sub-queries is always one row
    moved = list(answer[: len(steps)])
    counter = answer[len(steps)] if mint else None
    return moved, (int(counter) - 1 if counter is not None else None)


def _insert_with_entries(count: int) -> Sql:
    """The transaction row and its `count` ledger rows as one statement (parameters of ledger row i end `_e<i>`)."""
    composed = _INSERT_STATEMENTS.get(count)
    if composed is None:
        rows = ", ".join("(" + ", ".join(f":{c}_e{i}" for c in _ENTRY_COLUMNS) + ")" for i in range(count))
        composed = _INSERT_STATEMENTS[count] = Sql(
            f"WITH txn AS ({_INSERT_TXN.sqlite}) INSERT INTO ledger_entry ({', '.join(_ENTRY_COLUMNS)}) VALUES {rows}"
        )
    return composed


@dataclass(frozen=True)
class Leg:
    kind: HolderKind
    holder_id: str
    delta: int  # signed paise


@dataclass
class Movement:
    """What one movement recorded: its transaction row's values (attribute names as on the table)."""

    id: str
    seq: int
    partner_id: str
    account_id: str
    card_id: str | None
    user_id: str | None
    direction: str
    type: str
    transaction_code: str | None
    amount_minor: int
    pg_reference_number: str | None
    status: str
    created_at: datetime
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    # what the request is answered (and a replayed duplicate too), when the caller built it in `record`
    response: Any = None

    @property
    def card_balance(self) -> int | None:
        return self.balances.get((CARD, self.card_id)) if self.card_id else None

    @property
    def account_balance(self) -> int | None:
        return self.balances.get((ACCOUNT, self.account_id))


def replay_duplicates(settings: DuplicatePolicy, fn: Callable[[], T], first_response: Callable[[DuplicateReference], Any]) -> T:
    """Run a money movement; on a duplicate reference either fail (default) or, with duplicate_reference=replay,
    answer with what the first request was answered.

    A movement that lost a race to a unique index other than the reference's (two first allocations to one new
    holder, say, on PostgreSQL where writers run concurrently) is run once more: it then finds what the winner
    made."""
    try:
        try:
            return fn()
        except IntegrityError:
            return fn()
    except DuplicateReference as dup:
        if settings.duplicate_reference == "replay":
            response = first_response(dup)
            if isinstance(response, dict):
                # the first answer again, saying that this is the sandbox's rule (EnKash documents no replay)
                return cast(T, Inferred(response, "duplicate-reference-replay"))
            if response is not None:
                return response
        raise


class DuplicatePolicy(Protocol):
    """Whatever says how a repeated reference is answered: a tenant's Profile, or the Settings (its default)."""

    @property
    def duplicate_reference(self) -> str: ...


class Ledger:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- the core: prebuilt statements ---------------------------------------------------------------------
    def record(
        self,
        tx: Tx,
        *,
        partner_id: str,
        account_id: str,
        card_id: str | None,
        user_id: str | None,
        legs: list[Leg],
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
        remember: str | None = None,
        respond: Callable[[Movement], Any] | None = None,
        seq: int | None = None,
    ) -> Movement:
        """Apply every leg and record the transaction with one ledger row per leg, in `tx`. A debit that cannot
        be met raises (the caller's rollback undoes any leg already applied); nothing is visible until commit.
        `remember` = "load" sets the credited card's last allocated amount, "allocation" also its first loaded
        amount; `respond` builds the answer stored for duplicate_reference=replay; `seq` is a transaction number
        the caller minted beforehand (when another row must carry the transaction's id before it exists)."""
        now = at or self.clock.now()
        stamp = tx.ts(now)
        steps: list[tuple[Leg, Sql, dict[str, Any]]] = []
        for leg in sorted(legs, key=lambda leg: (leg.kind != ACCOUNT, leg.holder_id)):
            if leg.delta < 0:
                sql = {ACCOUNT: _DEBIT_ACCOUNT, CARD: _DEBIT_CARD, HOLD: _DEBIT_HOLD}[leg.kind]
                params = {"id": leg.holder_id, "delta": leg.delta, "need": -leg.delta, "now": stamp}
            else:
                if leg.kind == ACCOUNT:
                    sql = _CREDIT_ACCOUNT
                elif leg.kind == HOLD:
                    sql = _CREDIT_HOLD
                else:
                    sql = {"load": _LOAD_CARD, "allocation": _ALLOCATE_TO_CARD}.get(remember or "", _CREDIT_CARD)
                params = {"id": leg.holder_id, "delta": leg.delta, "ceiling": MAX_BALANCE_MINOR - leg.delta, "now": stamp}
            steps.append((leg, sql, params))
        if tx.postgres and steps:  # (a declined movement moves nothing: it has no legs)
            moved, minted = _apply_in_one_statement(tx, steps, mint=seq is None)
        else:  # SQLite: a statement is a function call, not a round trip; stop at the first guard that fails
            moved, minted = [], None
            for _, sql, params in steps:
                moved.append(_first(tx.one(sql, params)))
                if moved[-1] is None:
                    break
        balances: dict[tuple[str, str], int] = {}
        for (leg, _, _), balance in zip(steps, moved, strict=False):  # SQLite: `moved` ends at a failed guard
            if balance is None:
                if leg.delta >= 0:
                    if leg.kind == CARD:
                        replaced = tx.one(_REPLACED_BY, {"id": leg.holder_id})
                        if replaced is not None and replaced[0]:
                            raise CardReplaced(leg.holder_id)
                    raise BalanceLimit()
                raise insufficient or InsufficientBalance()
            balances[(leg.kind, leg.holder_id)] = int(balance)
        if seq is None:
            seq = minted if minted is not None else self.db.mint(tx, "txn")
        movement = Movement(
            id=ids.format_id(self.db.seed, "txn", seq),
            seq=seq,
            partner_id=partner_id,
            account_id=account_id,
            card_id=card_id,
            user_id=user_id,
            direction=direction,
            type=type,
            transaction_code=transaction_code,
            amount_minor=amount_minor,
            pg_reference_number=reference,
            status=status,
            created_at=now,
            balances=balances,
        )
        if respond is not None:
            movement.response = respond(movement)
        row = {
            "id": movement.id,
            "seq": seq,
            "partner_id": partner_id,
            "account_id": account_id,
            "card_id": card_id,
            "user_id": user_id,
            "direction": direction,
            "type": type,
            "transaction_code": transaction_code,
            "amount_minor": amount_minor,
            "card_balance_after_minor": movement.card_balance,
            "account_balance_after_minor": movement.account_balance,
            "pg_reference_number": reference,
            "status": status,
            "description": description,
            "remarks": remarks,
            "created_by": created_by,
            "order_id": order_id,
            "response": tx.json(movement.response),
            "created_at": stamp,
        }
        entries = [
            {
                "txn_id": movement.id,
                "partner_id": partner_id,
                "holder_kind": str(leg.kind),
                "holder_id": leg.holder_id,
                "amount_minor": leg.delta,
                "balance_after_minor": balances[(leg.kind, leg.holder_id)],
                "created_at": stamp,
            }
            for leg in legs
        ]
        try:
            if tx.postgres and entries:  # the transaction row and its ledger rows in one round trip, locks held
                numbered = {f"{name}_e{i}": value for i, entry in enumerate(entries) for name, value in entry.items()}
                tx.run(_insert_with_entries(len(entries)), {**row, **numbered})
            else:
                tx.run(_INSERT_TXN, row)
                tx.many(_INSERT_ENTRY, entries)
        except IntegrityError as exc:
            # the unique (account, reference) index: a repeat of a reference, however close the twin was
            if reference and violated_reference_index(exc):
                raise DuplicateReference(reference, account_id) from None
            raise
        return movement

    def reference_used(self, tx: Tx, account_id: str, reference: str) -> bool:
        """Whether a movement on the account already carries the reference (inside the caller's transaction)."""
        return tx.one(_FIRST_RESPONSE, {"account_id": account_id, "ref": reference}) is not None

    def first_response(self, dup: DuplicateReference) -> Any:
        """What the first request with a reference was answered (for duplicate_reference=replay)."""
        with self.db.tx(write=False) as tx:
            row = tx.one(_FIRST_RESPONSE, {"account_id": dup.account_id, "ref": dup.reference})
        return as_json(row[0]) if row is not None else None

    def set_response(self, tx: Tx, txn_id: str, response: Any) -> None:
        tx.run(_SET_RESPONSE, {"id": txn_id, "response": tx.json(response)})

    # -- ORM callers: the same statements inside their session ---------------------------------------------
    def move(
        self,
        s: Session,
        *,
        legs: list[tuple[HolderKind, CardAccount | Card, int]],
        account: CardAccount,
        card: Card | None,
        **kw: Any,
    ) -> Movement:
        """`record` for a caller holding ORM objects: runs in its session and refreshes the balances of the
        objects it moved (and the card's modified time), so the caller renders what the store now holds."""
        movement = self.record(
            self.db.tx_of(s),
            partner_id=account.partner_id,
            account_id=account.id,
            card_id=card.id if card else None,
            user_id=card.user_id if card else None,
            legs=[Leg(kind, holder.id, delta) for kind, holder, delta in legs],
            **kw,
        )
        for kind, holder, _ in legs:
            set_committed_value(holder, "balance_minor", movement.balances[(kind, holder.id)])
        if card is not None:
            set_committed_value(card, "modified_at", movement.created_at)
            if kw.get("remember") in ("load", "allocation"):
                set_committed_value(card, "last_allocated_minor", kw["amount_minor"])
            if kw.get("remember") == "allocation" and not card.load_amount_minor:
                set_committed_value(card, "load_amount_minor", kw["amount_minor"])
        return movement

    def fund_account(
        self,
        s: Session,
        account: CardAccount,
        amount_minor: int,
        *,
        remarks: str | None = None,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> Movement:
        """Money arriving from outside (the partner prefunding its account)."""
        return self.move(
            s,
            legs=[(ACCOUNT, account, amount_minor)],
            account=account,
            card=None,
            direction=Direction.CR,
            type=FUNDING,
            transaction_code="PREFUND",
            amount_minor=amount_minor,
            reference=reference,
            remarks=remarks,
            at=at,
        )

    def account_to_card(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw: Any) -> Movement:
        kw.setdefault("remember", "allocation")
        return self.move(
            s,
            legs=[(ACCOUNT, account, -amount_minor), (CARD, card, amount_minor)],
            account=account,
            card=card,
            direction=Direction.CR,
            amount_minor=amount_minor,
            **kw,
        )

    def card_to_account(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw: Any) -> Movement:
        return self.move(
            s,
            legs=[(CARD, card, -amount_minor), (ACCOUNT, account, amount_minor)],
            account=account,
            card=card,
            direction=Direction.DR,
            amount_minor=amount_minor,
            **kw,
        )

    def card_spend(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw: Any) -> Movement:
        """Money leaving the system from a card (a redemption, a purchase)."""
        return self.move(
            s,
            legs=[(CARD, card, -amount_minor)],
            account=account,
            card=card,
            direction=Direction.DR,
            amount_minor=amount_minor,
            **kw,
        )

    def card_refund(self, s: Session, account: CardAccount, card: Card, amount_minor: int, **kw: Any) -> Movement:
        return self.move(
            s,
            legs=[(CARD, card, amount_minor)],
            account=account,
            card=card,
            direction=Direction.CR,
            amount_minor=amount_minor,
            **kw,
        )

    # -- bulk ----------------------------------------------------------------------------------------------
    def bulk_account_to_cards(
        self, tx: Tx, *, partner_id: str, account_id: str, items: list[BulkItem], type: str, transaction_code: str
    ) -> list[Movement]:
        """Many account->card moves in one go (bulk allocation): one guarded debit of the account for the total,
        then per row the same credit, transaction row and ledger rows `record` writes, with running balances.
        The caller holds the write lock and has checked the rows against the balance."""
        if not items:
            return []
        total = sum(item.amount_minor for item in items)
        row = tx.one(_DEBIT_ACCOUNT, {"id": account_id, "delta": -total, "need": total})
        if row is None:
            raise InsufficientBalance()
        account_balance = int(row[0]) + total
        now = self.clock.now()
        stamp = tx.ts(now)
        first_seq = self.db.mint(tx, "txn", len(items))
        seed = self.db.seed
        moved: list[Movement] = []
        txns: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for offset, item in enumerate(items):
            minor = item.amount_minor
            credited = tx.one(
                _ALLOCATE_TO_CARD, {"id": item.card_id, "delta": minor, "now": stamp, "ceiling": MAX_BALANCE_MINOR - minor}
            )
            if credited is None:
                raise BalanceLimit()
            account_balance -= minor
            seq = first_seq + offset
            movement = Movement(
                id=ids.format_id(seed, "txn", seq),
                seq=seq,
                partner_id=partner_id,
                account_id=account_id,
                card_id=item.card_id,
                user_id=item.user_id,
                direction=Direction.CR,
                type=type,
                transaction_code=transaction_code,
                amount_minor=minor,
                pg_reference_number=item.reference,
                status="SUCCESS",
                created_at=now,
                balances={(CARD, item.card_id): int(credited[0]), (ACCOUNT, account_id): account_balance},
            )
            moved.append(movement)
            txns.append(
                {
                    "id": movement.id,
                    "seq": seq,
                    "partner_id": partner_id,
                    "account_id": account_id,
                    "card_id": item.card_id,
                    "user_id": item.user_id,
                    "direction": "CR",
                    "type": type,
                    "transaction_code": transaction_code,
                    "amount_minor": minor,
                    "card_balance_after_minor": movement.card_balance,
                    "account_balance_after_minor": account_balance,
                    "pg_reference_number": item.reference,
                    "status": "SUCCESS",
                    "description": None,
                    "remarks": item.remarks,
                    "created_by": None,
                    "order_id": None,
                    "response": None,
                    "created_at": stamp,
                }
            )
            entries.append(
                {
                    "txn_id": movement.id,
                    "partner_id": partner_id,
                    "holder_kind": "ACCOUNT",
                    "holder_id": account_id,
                    "amount_minor": -minor,
                    "balance_after_minor": account_balance,
                    "created_at": stamp,
                }
            )
            entries.append(
                {
                    "txn_id": movement.id,
                    "partner_id": partner_id,
                    "holder_kind": "CARD",
                    "holder_id": item.card_id,
                    "amount_minor": minor,
                    "balance_after_minor": movement.card_balance,
                    "created_at": stamp,
                }
            )
        tx.many(_INSERT_TXN, txns)
        tx.many(_INSERT_ENTRY, entries)
        return moved


@dataclass
class BulkItem:
    card_id: str
    user_id: str
    start_balance_minor: int
    amount_minor: int
    reference: str | None
    remarks: str | None
