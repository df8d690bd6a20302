"""Where store work runs: never on the event loop.

Every handler hands its store work to one of two small thread pools and awaits the result, so a request
waiting for the database (or for another worker's write) never holds up the loop that answers everyone
else — health checks, journal reads, other tenants. Writes get their own pool: one thread on SQLite (writes
are serialised there anyway; one thread keeps them in arrival order and costs no lock contention), several
on PostgreSQL (row locks let unrelated writes run together). Reads get a pool of their own so a long write
(a bulk chunk) never queues a read behind it. Point reads on SQLite are the one exception (`lookup`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from enkash_sandbox.store.engine import WouldBlock

if TYPE_CHECKING:
    from enkash_sandbox.store.engine import Database

P = ParamSpec("P")
T = TypeVar("T")
# how long a short write keeps trying on the loop before it queues for the writer thread instead
INLINE_WAIT_SECONDS = 1.0
# the most short writes one transaction groups (each a few hundred microseconds with the store's lock held)
MAX_GROUP = 32


class Work:
    def __init__(self, *, write_threads: int, read_threads: int = 8, store: Database | None = None):
        self.reads = ThreadPoolExecutor(read_threads, thread_name_prefix="enkash-read")
        self.writes = ThreadPoolExecutor(write_threads, thread_name_prefix="enkash-write")
        # SQLite: the short writes waiting for the next group (write_now), and the task that runs them
        self._queued: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # queued writes handed to the writer thread after waiting too long (their tasks, until they finish)
        self._handed: set[asyncio.Task[None]] = set()
        # SQLite only: point reads and short writes may run on the loop (lookup, write_now)
        self._store = store if store is not None and store.is_sqlite else None

    async def lookup(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A point read (one card, one account, a token). On SQLite it runs right here: in WAL mode a reader
        takes no lock and never waits for a writer, so a lookup of a few rows is a few hundred microseconds of
        CPU — less than handing it to a thread and back (measured: ~230 us a hop). On PostgreSQL it is a
        network round trip, so it goes to the read pool like every other read."""
        if self._store is not None:
            with self._store.on_loop():
                return fn(*args, **kwargs)
        return await self.read(fn, *args, **kwargs)

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.reads, functools.partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.writes, functools.partial(fn, *args, **kwargs))

    async def write_now(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A short write of one prebuilt-SQL transaction (a card load). On SQLite it runs on the loop itself,
        never waiting, together with the other short writes that arrived in the same turn of the loop: they
        queue here, and one flush runs them as one transaction with a savepoint each (Database.run_group), which
        pays one commit for all of them. The flush takes the right to write only if it is free (this process's
        lock and the store's flock, store/engine.py), and the few hundred microseconds of work run right here
        with no thread switch inside them. If another worker process (or this one's writer thread) holds it,
        the flush steps aside — `asyncio.sleep`, the loop keeps serving, more writes join the queue — and tries
        again. (A thread that waited for the lock had to win the GIL back from the busy loop before it could go
        on, up to 5 ms, holding the store's lock all that time: measured, 2 workers wrote less than 1.) Writes
        that have waited a second (a bulk is running) go to the writer thread one by one. PostgreSQL writes go
        to the write pool (row locks let them run side by side)."""
        store = self._store
        if store is None:
            return await self.write(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[T] = loop.create_future()
        self._queued.append((functools.partial(fn, *args, **kwargs), answer))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush(store))
        return await answer

    async def _flush(self, store: Database) -> None:
        loop = asyncio.get_running_loop()
        try:
            await self._run_queued(store, loop)
        except BaseException as exc:  # nothing may be left waiting for an answer that will not come
            waiting, self._queued = self._queued, []
            for _, answer in waiting:
                if not answer.done():
                    answer.set_exception(exc if isinstance(exc, Exception) else RuntimeError("the write was not run"))
            raise
        finally:
            self._flusher = None

    async def _run_queued(self, store: Database, loop: asyncio.AbstractEventLoop) -> None:
        await asyncio.sleep(0)  # the requests that arrived with the first one queue behind it
        give_up = loop.time() + INLINE_WAIT_SECONDS
        pause = 0.0001
        while self._queued:
            # a request that went away (its client disconnected) has nothing left to write
            self._queued = [(call, answer) for call, answer in self._queued if not answer.done()]
            group = self._queued[:MAX_GROUP]
            if not group:
                break
            try:
                outcomes = store.run_group([call for call, _ in group])
            except WouldBlock:
                if loop.time() > give_up:
                    waiting, self._queued = self._queued, []
                    for call, answer in waiting:
                        # kept until done: the loop holds only weak references to tasks
                        handed = loop.create_task(self._via_writer(call, answer))
                        self._handed.add(handed)
                        handed.add_done_callback(self._handed.discard)
                    break
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.0005)
                continue
            except Exception as exc:  # the commit failed: nothing of the group was written
                del self._queued[: len(group)]
                for _, answer in group:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            del self._queued[: len(group)]
            for (_, answer), (succeeded, value) in zip(group, outcomes, strict=True):
                if answer.done():
                    continue
                if succeeded:
                    answer.set_result(value)
                else:
                    answer.set_exception(value)
            give_up = loop.time() + INLINE_WAIT_SECONDS
            pause = 0.0001

    async def _via_writer(self, call: Callable[[], Any], answer: asyncio.Future[Any]) -> None:
        try:
            result = await self.write(call)
        except Exception as exc:
            if not answer.done():
                answer.set_exception(exc)
        else:
            if not answer.done():
                answer.set_result(result)

    def shutdown(self) -> None:
        self.reads.shutdown(wait=False, cancel_futures=True)
        self.writes.shutdown(wait=False, cancel_futures=True)
