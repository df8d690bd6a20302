"""store/sql.py: statements written once with `:name` parameters, rendered for sqlite3 and psycopg, and values
crossing the boundary the way the ORM stores them."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from decimal import Decimal

import pytest
from enkash_sandbox.store.sql import Sql, Tx, as_datetime, as_json, renamed
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, select
from sqlalchemy.exc import IntegrityError


# -- rendering ------------------------------------------------------------------------------------------
def test_named_parameters_become_pyformat_for_postgres_and_stay_named_for_sqlite():
    sql = Sql("SELECT id FROM card WHERE account_id = :account AND seq > :after_2")
    assert sql.sqlite == "SELECT id FROM card WHERE account_id = :account AND seq > :after_2"
    assert sql.postgres == "SELECT id FROM card WHERE account_id = %(account)s AND seq > %(after_2)s"


def test_postgres_text_is_valid_pyformat_with_the_same_names():
    sql = Sql("UPDATE card SET balance = balance + :x WHERE id = :id AND balance >= :x")
    # psycopg fills %(name)s from a mapping; Python's % operator reads the same syntax
    assert sql.postgres % {"x": 5, "id": "'C1'"} == "UPDATE card SET balance = balance + 5 WHERE id = 'C1' AND balance >= 5"


def test_renamed_suffixes_every_parameter_and_nothing_else():
    sql = Sql("UPDATE card SET b = b + :delta, t = '10:30', j = :j::jsonb WHERE id = :id AND b >= :delta")
    assert (
        renamed(sql, "_1") == "UPDATE card SET b = b + :delta_1, t = '10:30', j = :j_1::jsonb WHERE id = :id_1 AND b >= :delta_1"
    )
    assert Sql(renamed(sql, "_1")).postgres.count("%(delta_1)s") == 2


def test_casts_are_left_alone():
    sql = Sql("SELECT :payload::jsonb, created_at::date, CAST(n AS int)::bigint FROM t WHERE k = :k")
    assert sql.postgres == "SELECT %(payload)s::jsonb, created_at::date, CAST(n AS int)::bigint FROM t WHERE k = %(k)s"
    assert "::jsonb" in sql.sqlite and "::date" in sql.sqlite


def test_a_colon_inside_a_word_or_a_time_is_not_a_parameter():
    sql = Sql("SELECT a:b, '10:30' FROM t WHERE x = :x")
    assert sql.postgres == "SELECT a:b, '10:30' FROM t WHERE x = %(x)s"


def test_whitespace_is_collapsed_to_one_line():
    sql = Sql(
        """
        SELECT id
          FROM card
         WHERE id = :id
        """
    )
    assert sql.sqlite == "SELECT id FROM card WHERE id = :id"
    assert sql.postgres == "SELECT id FROM card WHERE id = %(id)s"


@pytest.mark.parametrize("text", ["SELECT * FROM t WHERE name LIKE 'A%'", "SELECT 10 % 3", "SELECT '%(x)s'"])
def test_a_percent_sign_is_refused(text):
    with pytest.raises(ValueError, match="psycopg would read it as a placeholder"):
        Sql(text)


# -- values ---------------------------------------------------------------------------------------------
def test_tx_ts_on_sqlite_is_the_text_the_orm_writes():
    from sqlalchemy.dialects import sqlite

    orm_bind = sqlite.DATETIME().bind_processor(sqlite.dialect())
    tx = Tx(cursor=None, postgres=False)
    # a year before 1000 too: the ORM pads it to four digits (strftime would not)
    for value in (datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, 3, 4, 5, 123), datetime(999, 1, 2)):
        assert tx.ts(value) == orm_bind(value)
    assert tx.ts(datetime(2024, 1, 2, 3, 4, 5, 7)) == "2024-01-02 03:04:05.000007"
    assert tx.ts(None) is None


def test_tx_ts_on_postgres_passes_the_datetime_through():
    value = datetime(2031, 12, 31, 23, 59, 59, 999999)
    tx = Tx(cursor=None, postgres=True)
    assert tx.ts(value) is value
    assert tx.ts(None) is None


def test_tx_json_keeps_amounts_exact_on_both_drivers():
    assert Tx(None, postgres=False).json({"amount": Decimal("10.50"), "n": [1]}) == '{"amount":10.5,"n":[1]}'
    assert Tx(None, postgres=False).json(None) is None
    from psycopg.types.json import Json

    wrapped = Tx(None, postgres=True).json({"amount": Decimal("990553.44")})
    assert isinstance(wrapped, Json)
    assert wrapped.obj == '{"amount":990553.44}'  # already rendered: psycopg sends the text as it is
    assert Tx(None, postgres=True).json(None) is None


def test_as_datetime_reads_both_drivers_and_inverts_ts():
    value = datetime(2024, 6, 30, 18, 29, 59, 500)
    assert as_datetime(Tx(None, postgres=False).ts(value)) == value
    assert as_datetime(value) is value
    assert as_datetime(None) is None
    assert as_datetime("2024-06-30 18:29:59") == datetime(2024, 6, 30, 18, 29, 59)


def test_as_json_decodes_text_and_bytes_and_passes_values_through():
    assert as_json('{"a": [1, 2]}') == {"a": [1, 2]}
    assert as_json(b'{"a": null}') == {"a": None}
    parsed = {"already": "parsed"}
    assert as_json(parsed) is parsed  # psycopg decodes json columns itself
    assert as_json(None) is None


# -- on a real sqlite3 cursor ---------------------------------------------------------------------------
@pytest.fixture
def sqlite_tx():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE ref (account TEXT, reference TEXT, amount INTEGER, UNIQUE (account, reference))")
    cursor = conn.cursor()
    yield Tx(cursor, postgres=False)
    conn.close()


def test_run_one_all_many_on_sqlite(sqlite_tx):
    insert = Sql("INSERT INTO ref (account, reference, amount) VALUES (:account, :reference, :amount)")
    sqlite_tx.many(insert, [{"account": "A", "reference": f"R{i}", "amount": i} for i in range(3)])
    sqlite_tx.many(insert, [])  # nothing to do is not an error
    assert (
        sqlite_tx.run(
            Sql("UPDATE ref SET amount = amount + :d WHERE account = :a AND amount >= :min"), {"d": 10, "a": "A", "min": 1}
        )
        == 2
    )
    assert sqlite_tx.one(Sql("SELECT amount FROM ref WHERE reference = :r"), {"r": "R2"}) == (12,)
    assert sqlite_tx.one(Sql("SELECT amount FROM ref WHERE reference = :r"), {"r": "nope"}) is None
    assert sqlite_tx.all(Sql("SELECT reference FROM ref ORDER BY reference")) == [("R0",), ("R1",), ("R2",)]


def test_a_unique_violation_surfaces_as_sqlalchemys_integrity_error(sqlite_tx):
    insert = Sql("INSERT INTO ref (account, reference, amount) VALUES (:account, :reference, 1)")
    sqlite_tx.run(insert, {"account": "A", "reference": "DUP"})
    with pytest.raises(IntegrityError) as caught:
        sqlite_tx.run(insert, {"account": "A", "reference": "DUP"})
    assert isinstance(caught.value.orig, sqlite3.IntegrityError)
    with pytest.raises(IntegrityError):
        sqlite_tx.many(insert, [{"account": "B", "reference": "X"}, {"account": "B", "reference": "X"}])


def test_other_driver_errors_are_not_dressed_up(sqlite_tx):
    with pytest.raises(sqlite3.OperationalError):
        sqlite_tx.run(Sql("SELECT * FROM no_such_table WHERE id = :id"), {"id": 1})


def test_a_timestamp_written_through_tx_reads_back_through_sqlalchemy():
    engine = create_engine("sqlite://")
    table = Table("stamped", MetaData(), Column("id", Integer, primary_key=True), Column("at", DateTime))
    table.metadata.create_all(engine)
    value = datetime(2025, 3, 4, 5, 6, 7, 89)
    raw = engine.raw_connection()
    try:
        tx = Tx(raw.cursor(), postgres=False)
        tx.run(Sql("INSERT INTO stamped (id, at) VALUES (:id, :at)"), {"id": 1, "at": tx.ts(value)})
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        assert conn.execute(select(table.c.at)).scalar_one() == value
    engine.dispose()


# -- the event loop's reader connection (Work.lookup on SQLite) ---------------------------------------------
def test_reads_the_loop_runs_itself_share_one_connection_and_a_nested_read_takes_another(tmp_path):
    from enkash_sandbox.store.engine import Database

    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.create_all()
    try:
        with db.tx(write=True) as tx:
            tx.run(Sql("INSERT INTO meta (key, value) VALUES ('k', 'one')"))
        seen = []
        with db.on_loop():
            for _ in range(3):
                with db.tx(write=False) as outer:
                    seen.append(id(outer.cursor.connection))
                    assert outer.one(Sql("SELECT value FROM meta WHERE key = 'k'")) == ("one",)
                    # a read inside a read (the clock, say) must not BEGIN on the connection already in use
                    with db.tx(write=False) as inner:
                        assert inner.cursor.connection is not outer.cursor.connection
                        assert inner.one(Sql("SELECT value FROM meta WHERE key = 'k'")) == ("one",)
        assert len(set(seen)) == 1
        # a write committed elsewhere is what the loop's next read sees (no transaction is left open on it)
        with db.tx(write=True) as tx:
            tx.run(Sql("UPDATE meta SET value = 'two' WHERE key = 'k'"))
        with db.on_loop(), db.tx(write=False) as tx:
            assert tx.one(Sql("SELECT value FROM meta WHERE key = 'k'")) == ("two",)
        # outside on_loop() reads take pooled connections, never the loop's
        with db.tx(write=False) as tx:
            assert id(tx.cursor.connection) not in seen
    finally:
        db.dispose()


# -- a group of short writes in one transaction (Work.write_now on SQLite) -------------------------------------
def _group_store(tmp_path):
    from enkash_sandbox.store.engine import Database

    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.create_all()
    return db


def _meta(db, key):
    with db.tx(write=False) as tx:
        row = tx.one(Sql("SELECT value FROM meta WHERE key = :key"), {"key": key})
    return row[0] if row else None


def test_a_group_commits_once_each_call_in_its_savepoint_and_a_failure_undoes_only_its_own(tmp_path):
    db = _group_store(tmp_path)
    insert = Sql("INSERT INTO meta (key, value) VALUES (:key, :value)")

    def put(key, value, then_fail=False):
        def call():
            with db.tx(write=True) as tx:
                tx.run(insert, {"key": key, "value": value})
                if then_fail:
                    raise ValueError(f"{key} failed after writing")
            return key

        return call

    def read_back():
        # a later call of the group sees what the earlier ones wrote, as if they had committed
        with db.tx(write=False) as tx:
            return tx.one(Sql("SELECT value FROM meta WHERE key = 'a'"))[0]

    try:
        outcomes = db.run_group([put("a", "1"), put("b", "2", then_fail=True), put("a", "dup"), read_back, put("c", "3")])
        assert [ok for ok, _ in outcomes] == [True, False, False, True, True]
        assert outcomes[0][1] == "a" and outcomes[3][1] == "1" and outcomes[4][1] == "c"
        assert isinstance(outcomes[1][1], ValueError)
        assert isinstance(outcomes[2][1], IntegrityError)  # the unique key, surfaced as for any write
        assert (_meta(db, "a"), _meta(db, "b"), _meta(db, "c")) == ("1", None, "3")
        # nothing is left open: the next group and an ordinary write both go through
        assert db.run_group([put("d", "4")]) == [(True, "d")]
        with db.tx(write=True) as tx:
            tx.run(insert, {"key": "e", "value": "5"})
        assert (_meta(db, "d"), _meta(db, "e")) == ("4", "5")
    finally:
        db.dispose()


def test_a_group_never_waits_for_a_writer_it_finds_busy(tmp_path):
    import threading

    from enkash_sandbox.store.engine import WouldBlock

    db = _group_store(tmp_path)
    holding, release = threading.Event(), threading.Event()

    def writer_thread():
        with db.tx(write=True):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=writer_thread)
    thread.start()
    try:
        assert holding.wait(10)
        ran = []
        with pytest.raises(WouldBlock):
            db.run_group([lambda: ran.append(1)])
        assert ran == []  # nothing of the group ran
    finally:
        release.set()
        thread.join(10)
        db.dispose()
