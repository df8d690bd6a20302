"""The ledger's movement on each store, looked at inside its own transaction.

On PostgreSQL a movement's legs and its transaction counter are one composed statement, each step guarded by
the one before it (ledger/movements.py), and the transaction row and its ledger rows another; on SQLite they run
one by one. Both must behave alike where a partner cannot see it: a guard that fails leaves every later leg and
the counter untouched (a caller that goes on in the same transaction — a refund following a replaced card —
must find them as they were), the numbers stay gapless, and a repeated reference is the same refusal."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from enkash_sandbox import ids
from enkash_sandbox.config import Settings
from enkash_sandbox.container import Container, build
from enkash_sandbox.errors import InsufficientBalance
from enkash_sandbox.ledger.movements import ACCOUNT, CARD, CardReplaced, DuplicateReference, Leg
from enkash_sandbox.products.cards.schemas import HolderFields
from enkash_sandbox.store.sql import Sql, Tx
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company
from sqlalchemy import insert

from tests.conftest import BACKENDS, postgres_database

_BALANCES = Sql(
    "SELECT (SELECT balance_minor FROM card_account WHERE id = :account), (SELECT balance_minor FROM card WHERE id = :card), "
    "(SELECT next_value FROM id_sequence WHERE kind = 'txn')"
)
_ROWS_OF = Sql(
    'SELECT (SELECT count(*) FROM "transaction" WHERE id = :id), (SELECT count(*) FROM ledger_entry WHERE txn_id = :id)'
)
_REPLACE = Sql("UPDATE card SET replaced_by = 'EKCGONE' WHERE id = :card")


class Rollback(Exception):
    """Ends a test's transaction without committing what it did."""


@pytest.fixture(scope="module", params=BACKENDS)
def store(request, tmp_path_factory) -> Iterator[Container]:
    if request.param == "postgresql":
        settings = Settings(database_url=postgres_database("movements"), seed_demo=False)
    else:
        settings = Settings(db=str(tmp_path_factory.mktemp("movements") / "enkash_sandbox.db"), seed_demo=False)
    container = build(settings)
    container.start()
    yield container
    container.close()


@pytest.fixture
def holders(store: Container) -> dict[str, str]:
    """A funded account (1,000.00) and a new card on it, with no balance."""
    creds = store.tenants.provision(encryption="off", fund_balance=Decimal("1000"))
    with store.db.write() as s:
        account = s.get(CardAccount, creds["cardAccounts"]["RELOADABLE_GPR"])
        company = s.get(Company, account.company_id)
        holder = store.cards.holder_row(s, company, HolderFields(title="Mr", firstName="Leg", mobile="7000000001"))
        card = store.cards.card_row(s, account, holder["id"])
        s.connection().execute(insert(CardHolder.__table__), [holder])
        s.connection().execute(insert(Card.__table__), [card])
        return {"partner": account.partner_id, "account": account.id, "card": card["id"]}


def _move(store: Container, tx: Tx, who: dict[str, str], legs: list[Leg], reference: str | None = None):
    return store.ledger.record(
        tx,
        partner_id=who["partner"],
        account_id=who["account"],
        card_id=who["card"],
        user_id=None,
        legs=legs,
        direction="CR",
        type="LOAD_MONEY",
        amount_minor=abs(legs[0].delta),
        reference=reference,
    )


def _state(tx: Tx, who: dict[str, str]) -> tuple[int, int, int]:
    row = tx.one(_BALANCES, {"account": who["account"], "card": who["card"]})
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def test_a_movement_moves_every_leg_and_writes_its_rows(store, holders):
    with store.db.tx(write=True) as tx:
        before = _state(tx, holders)
        moved = _move(store, tx, holders, [Leg(ACCOUNT, holders["account"], -2550), Leg(CARD, holders["card"], 2550)])
        assert _state(tx, holders) == (before[0] - 2550, before[1] + 2550, before[2] + 1)
        assert moved.balances == {(ACCOUNT, holders["account"]): before[0] - 2550, (CARD, holders["card"]): before[1] + 2550}
        assert moved.id == ids.format_id(store.db.seed, "txn", before[2])
        assert tx.one(_ROWS_OF, {"id": moved.id}) == (1, 2)


def test_a_failed_first_guard_leaves_later_legs_and_the_counter_untouched(store, holders):
    with pytest.raises(Rollback), store.db.tx(write=True) as tx:
        before = _state(tx, holders)
        with pytest.raises(InsufficientBalance):
            _move(store, tx, holders, [Leg(ACCOUNT, holders["account"], -(10**12)), Leg(CARD, holders["card"], 10**12)])
        assert _state(tx, holders) == before  # the card was not credited, no number was taken
        raise Rollback


def test_a_failed_later_guard_leaves_the_counter_untouched(store, holders):
    """A credit to a replaced card fails after the account's debit: the caller's rollback undoes the debit; the
    counter was never taken (a refund that follows the replacement goes on in the same transaction)."""
    with pytest.raises(Rollback), store.db.tx(write=True) as tx:
        tx.run(_REPLACE, {"card": holders["card"]})
        before = _state(tx, holders)
        with pytest.raises(CardReplaced):
            _move(store, tx, holders, [Leg(ACCOUNT, holders["account"], -100), Leg(CARD, holders["card"], 100)])
        account, card, counter = _state(tx, holders)
        assert (card, counter) == (before[1], before[2])
        assert account == before[0] - 100  # applied in order before the failed guard; the rollback undoes it
        raise Rollback


def test_numbers_stay_gapless_after_a_failed_movement(store, holders):
    with store.db.tx(write=True) as tx:
        first = _move(store, tx, holders, [Leg(ACCOUNT, holders["account"], -1), Leg(CARD, holders["card"], 1)])
    with pytest.raises(InsufficientBalance), store.db.tx(write=True) as tx:
        _move(store, tx, holders, [Leg(CARD, holders["card"], -(10**12)), Leg(ACCOUNT, holders["account"], 10**12)])
    with store.db.tx(write=True) as tx:
        second = _move(store, tx, holders, [Leg(ACCOUNT, holders["account"], -1), Leg(CARD, holders["card"], 1)])
    assert second.seq == first.seq + 1


def test_a_repeated_reference_is_refused_and_writes_nothing(store, holders):
    legs = [Leg(ACCOUNT, holders["account"], -5), Leg(CARD, holders["card"], 5)]
    with store.db.tx(write=True) as tx:
        _move(store, tx, holders, legs, reference="REF-TWICE")
    with store.db.tx(write=False) as tx:
        before = _state(tx, holders)
    with pytest.raises(DuplicateReference), store.db.tx(write=True) as tx:
        _move(store, tx, holders, legs, reference="REF-TWICE")
    with store.db.tx(write=False) as tx:
        assert _state(tx, holders) == before
