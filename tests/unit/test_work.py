"""Work.write_now on SQLite: short writes grouped on the loop, never waiting there; handed to the writer thread
when the right to write stays taken."""

from __future__ import annotations

import asyncio
import threading

import pytest
from enkash_sandbox import work as work_module
from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.sql import Sql
from enkash_sandbox.work import Work

_PUT = Sql("INSERT INTO meta (key, value) VALUES (:key, :value)")
_GET = Sql("SELECT value FROM meta WHERE key = :key")


@pytest.fixture
def store(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.create_all()
    yield db
    db.dispose()


def _put(db: Database, key: str) -> str:
    with db.tx(write=True) as tx:
        tx.run(_PUT, {"key": key, "value": key.upper()})
    return key


def test_writes_arriving_together_are_answered_each_with_its_own_outcome(store):
    async def main():
        w = Work(write_threads=1, store=store)
        try:
            return await asyncio.gather(*(w.write_now(_put, store, key) for key in ("a", "b", "a", "c")), return_exceptions=True)
        finally:
            w.shutdown()

    outcomes = asyncio.run(main())
    assert outcomes[0] == "a" and outcomes[1] == "b" and outcomes[3] == "c"
    assert type(outcomes[2]).__name__ == "IntegrityError"  # the repeat alone failed
    with store.tx(write=False) as tx:
        assert [tx.one(_GET, {"key": k}) for k in "abc"] == [("A",), ("B",), ("C",)]


def test_a_write_that_keeps_finding_the_lock_taken_goes_to_the_writer_thread_and_the_loop_keeps_serving(store, monkeypatch):
    monkeypatch.setattr(work_module, "INLINE_WAIT_SECONDS", 0.2)
    holding, release = threading.Event(), threading.Event()

    def other_writer():  # another worker's long write, say
        with store.tx(write=True):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=other_writer)
    thread.start()
    assert holding.wait(10)

    async def main():
        w = Work(write_threads=1, store=store)
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        beat = asyncio.ensure_future(ticker())
        pending = asyncio.ensure_future(w.write_now(_put, store, "late"))
        await asyncio.sleep(0.5)  # past the give-up: the write now waits in the writer thread
        assert not pending.done() and ticks >= 20  # the loop answered everyone else meanwhile
        assert w._handed  # held until it finishes
        release.set()
        result = await asyncio.wait_for(pending, 10)
        await asyncio.sleep(0.05)
        beat.cancel()
        w.shutdown()
        return result, w._handed

    try:
        result, handed = asyncio.run(main())
    finally:
        release.set()
        thread.join(10)
    assert result == "late" and not handed
    with store.tx(write=False) as tx:
        assert tx.one(_GET, {"key": "late"}) == ("LATE",)
