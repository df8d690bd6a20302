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
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from enkash_sandbox.store.engine import WouldBlock

if TYPE_CHECKING:
    from enkash_sandbox.store.engine import Database

P = ParamSpec("P")
T = TypeVar("T")
# how long a short write keeps trying on the loop before it queues for the writer thread instead
INLINE_WAIT_SECONDS = 1.0


class Work:
    def __init__(self, *, write_threads: int, read_threads: int = 8, store: Database | None = None):
        self.reads = ThreadPoolExecutor(read_threads, thread_name_prefix="enkash-read")
        self.writes = ThreadPoolExecutor(write_threads, thread_name_prefix="enkash-write")
        # the requests of this process that want to write on the loop take turns (write_now)
        self._inline_writers = asyncio.Lock()
        # SQLite only: point reads and short writes may run on the loop (lookup, write_now)
        self._store = store if store is not None and store.is_sqlite else None
        self.inline_lookups = self._store is not None

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
        never waiting: it takes the right to write only if it is free (this process's lock and the store's
        flock, store/engine.py), and the few hundred microseconds of work run right here with no thread
        switch inside them. If another worker process (or this one's writer thread) holds it, the request
        steps aside — `asyncio.sleep`, the loop keeps serving — and tries again; one request per process
        tries at a time, in arrival order. (A thread that waited for the lock had to win the GIL back from
        the busy loop before it could go on, up to 5 ms, holding the store's lock all that time: measured,
        2 workers wrote less than 1.) A write that has waited a second (a bulk is running) goes to the
        writer thread. PostgreSQL writes go to the write pool (row locks let them run side by side)."""
        store = self._store
        if store is None:
            return await self.write(fn, *args, **kwargs)
        async with self._inline_writers:
            loop = asyncio.get_running_loop()
            give_up = loop.time() + INLINE_WAIT_SECONDS
            pause = 0.0001
            while True:
                try:
                    with store.nonblocking():
                        return fn(*args, **kwargs)
                except WouldBlock:
                    if loop.time() > give_up:
                        break
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.0005)
        return await self.write(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self.reads.shutdown(wait=False, cancel_futures=True)
        self.writes.shutdown(wait=False, cancel_futures=True)
