"""The request path's statements use indexes, on both stores: a million cards must cost what a thousand do.

The statements are taken from the code itself (the prebuilt Sql objects, and the SQL the ORM compiles for
the transaction list), so a statement that changes is checked as it is. SQLite: EXPLAIN QUERY PLAN must not
SCAN one of the big tables. PostgreSQL: with sequential scans disabled the planner must still find an index
for every big table (on a small test table it would rightly prefer a scan, so "may it use one" is the
question that can be asked of an empty store).
"""

from __future__ import annotations

import os
import re

import pytest
from enkash_sandbox.ledger import movements
from enkash_sandbox.products import records
from enkash_sandbox.products.cards import service as card_service
from enkash_sandbox.products.spend import service as spend_service
from enkash_sandbox.products.spend import velocity
from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.tables import Card, CardHolder, Token, Transaction
from sqlalchemy import create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from .conftest import POSTGRES_URL, postgres_database

BIG_TABLES = {"card", "card_holder", "transaction", "ledger_entry", "token", "card_account", "card_authorization", "card_usage"}


def _transaction_list(dialect) -> str:
    """The SQL of the transaction list (products/cards/transactions.py) for one card, newest first."""
    query = (
        select(Transaction, Card, CardHolder)
        .join(Card, col(Card.id) == Transaction.card_id)
        .join(CardHolder, col(CardHolder.id) == Card.user_id)
        .where(Transaction.account_id == "CA1", Transaction.card_id == "EKC1")
        .order_by(col(Transaction.created_at).desc(), col(Transaction.seq).desc())
        .limit(10)
    )
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _token_lookup(dialect) -> str:
    query = select(Token).where(Token.access_token == "T")
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


STATEMENTS = {
    "card with its holder, account and company": records._CARD_WITH_CONTEXT,
    "one card's search: card, context and its usage in the day, month and year": card_service._SEARCHED_CARD,
    "cards of an account, by page": records._CARDS_OF_ACCOUNT,
    "account with its company": records._ACCOUNT_WITH_COMPANY,
    "card for a money movement": card_service._CARD_FOR_MOVE,
    "load a card (guarded credit)": movements._LOAD_CARD,
    "debit a card (guarded)": movements._DEBIT_CARD,
    "debit an account (guarded)": movements._DEBIT_ACCOUNT,
    "first answer for a repeated reference": movements._FIRST_RESPONSE,
    "card facts for an authorization": spend_service._CARD_FACTS,
    "a card's expired hold, before its authorization": spend_service._DUE_HOLD,
    "a card's velocity sums": velocity._READ,
}
PARAMS = {
    "card_id": "EKC1",
    "account_id": "CA1",
    "limit": 10,
    "offset": 0,
    "delta": 1,
    "now": "2026-01-01 00:00:00.000000",
    "ceiling": 10,
    "need": 1,
    "id": "X",
    "ref": "R",
    "day": "D:2026-01-01",
    "month": "M:2026-01",
    "year": "Y:2026",
    "channel": "C:2026-01-01:POS",
    "used_day": "D:2026-01-01",
    "used_month": "M:2026-01",
    "used_year": "Y:2026",
    "on": True,
}


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'plans.db'}")
    db.create_all()
    yield db
    db.dispose()


def _sqlite_plan(db: Database, statement: str, params: dict) -> str:
    with db.raw_sqlite() as conn:
        return "\n".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params))


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_sqlite_hot_statements_use_an_index(sqlite_store, name):
    plan = _sqlite_plan(sqlite_store, STATEMENTS[name].sqlite, PARAMS)
    scans = [t for t in re.findall(r"SCAN (\w+)", plan) if t in BIG_TABLES or t in {"c", "h", "a", "m"}]
    assert not scans, f"{name} scans {scans}:\n{plan}"
    assert "USING" in plan or "PRIMARY KEY" in plan, plan


def test_sqlite_transaction_list_and_token_lookup_use_an_index(sqlite_store):
    for statement in (_transaction_list(sqlite.dialect()), _token_lookup(sqlite.dialect())):
        plan = _sqlite_plan(sqlite_store, statement, {})
        assert not re.search(r"SCAN (transaction|token)\b", plan), plan
        assert "INDEX" in plan, plan
    # a card's list reads only that card's rows, already in date order (the index has both columns)
    plan = _sqlite_plan(sqlite_store, _transaction_list(sqlite.dialect()), {})
    assert "ix_txn_account_card_created" in plan and "card_id=?" in plan, plan


@pytest.fixture(scope="module")
def postgres_engine():
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but ENKASH_SANDBOX_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL not configured (set ENKASH_SANDBOX_TEST_DATABASE_URL; CI always does)")
    url = postgres_database("plans")
    db = Database(url)
    db.create_all()
    db.dispose()
    engine = create_engine(url)
    yield engine
    engine.dispose()


def _postgres_plan(engine, statement: str, params: dict | None) -> str:
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("EXPLAIN " + statement, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        conn.rollback()
        return plan


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_postgresql_hot_statements_can_use_an_index(postgres_engine, name):
    plan = _postgres_plan(postgres_engine, STATEMENTS[name].postgres, PARAMS)
    seq = [t for t in re.findall(r'Seq Scan on "?(\w+)"?', plan) if t in BIG_TABLES]
    assert not seq, f"{name} has no usable index on {seq}:\n{plan}"


def test_postgresql_transaction_list_and_token_lookup_can_use_an_index(postgres_engine):
    for statement in (_transaction_list(postgresql.dialect()), _token_lookup(postgresql.dialect())):
        plan = _postgres_plan(postgres_engine, statement, None)
        assert not re.search(r'Seq Scan on "?(transaction|token)"?', plan), plan


def test_the_index_check_can_fail(sqlite_store):
    """The checks above would notice a scan: a lookup on an unindexed column is reported as one."""
    plan = _sqlite_plan(sqlite_store, 'SELECT id FROM "transaction" WHERE description = :d', {"d": "x"})
    assert re.search(r"SCAN transaction", plan), plan


def test_postgresql_composed_movement_statements_use_primary_keys(postgres_engine):
    """On PostgreSQL a movement's legs and counter are one composed statement, and its transaction and ledger
    rows another (ledger/movements.py): every UPDATE in them finds its row by key."""
    legs = movements._legs_in_one_statement((movements._DEBIT_ACCOUNT, movements._LOAD_CARD), True)
    params = {f"{name}_{i}": value for i in range(2) for name, value in PARAMS.items()}
    params.update({"kind_2": "txn", "count_2": 1})  # the counter, composed after the two legs
    plan = _postgres_plan(postgres_engine, legs.postgres, params)
    assert plan.count("Index Scan using") >= 3, plan  # the account, the card and the id counter
    assert not re.findall(r'Seq Scan on "?(\w+)"?', plan), plan
    inserts = movements._insert_with_entries(2)
    assert "Seq Scan" not in _postgres_plan(postgres_engine, inserts.postgres, _insert_params())


def _insert_params() -> dict:
    row = dict.fromkeys(re.findall(r":(\w+)", movements._INSERT_TXN.sqlite))
    row.update({"id": "EKT1", "seq": 1, "amount_minor": 1, "status": "SUCCESS", "created_at": "2026-01-01 00:00:00"})
    for i in range(2):
        for column in movements._ENTRY_COLUMNS:
            row[f"{column}_e{i}"] = 1 if column.endswith("minor") else "2026-01-01 00:00:00" if column == "created_at" else "X"
    return row
