"""Where store work runs: never on the event loop.

Every handler hands its store work to one of two small thread pools and awaits the result, so a request
waiting for the database (or for another worker's write) never holds up the loop that answers everyone
else — health checks, journal reads, other tenants. Writes get their own pool: one thread on SQLite (writes
are serialised there anyway; one thread keeps them in arrival order and costs no lock contention), several
on PostgreSQL (row locks let unrelated writes run together). Reads get a pool of their own so a long write
(a bulk chunk) never queues a read behind it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class Work:
    def __init__(self, *, write_threads: int, read_threads: int = 8):
        self.reads = ThreadPoolExecutor(read_threads, thread_name_prefix="enkash-read")
        self.writes = ThreadPoolExecutor(write_threads, thread_name_prefix="enkash-write")

    async def read(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.reads, functools.partial(fn, *args, **kwargs))

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.writes, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self.reads.shutdown(wait=False, cancel_futures=True)
        self.writes.shutdown(wait=False, cancel_futures=True)
