"""The control state: what every worker process must agree on, read from the store at the start of each
request and session.

One row (`control_state`) holds the sandbox clock, the store's seed, the fault-rule version and the
epoch. The epoch is a random token replaced by every operation that swaps state underneath running workers
(reset, snapshot restore, tenant reset, a partner's encryption mode); a worker that sees a new epoch drops
everything it cached from the store through the one Resettable registry here.

On SQLite the row is re-read only when the signal file beside the store changed (one stat() per check);
every change touches that file after it commits, so a request that starts after a change was answered
sees it, whichever worker it lands on. On PostgreSQL the row is read at the start of every session.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from enkash_sandbox.clock import Clock, ClockState
from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.sql import Sql, as_datetime
from enkash_sandbox.store.tables import ControlState
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

# the control columns in adopt_row's order (the first is PostgreSQL's store lock; nothing on SQLite)
_NEW_CONTROL_ROW = Sql(
    "INSERT INTO control_state (id, epoch, seed, faults_version, clock_offset_us) VALUES (1, :epoch, :seed, 0, 0)"
)
_CONTROL_ROW = Sql("SELECT NULL, epoch, seed, faults_version, clock_offset_us, clock_frozen_at FROM control_state WHERE id = 1")


class Resettable(Protocol):
    """Anything that caches what it read from the store; `invalidate()` forgets it."""

    def invalidate(self) -> None: ...


def new_epoch() -> str:
    return secrets.token_hex(8)


class ControlStore:
    def __init__(self, db: Database, clock: Clock, signal: Path | None):
        self.db = db
        self.clock = clock
        self.signal = signal
        self.epoch: str | None = None
        self.faults_version = 0
        self._seen_signal: int | None = None
        self._caches: list[Resettable] = []
        self._lock = threading.Lock()

    # -- the Resettable registry -------------------------------------------------------------
    def register(self, cache: Resettable) -> None:
        self._caches.append(cache)

    def invalidate_caches(self) -> None:
        for cache in self._caches:
            cache.invalidate()

    # -- reading -----------------------------------------------------------------------------
    def ensure_row(self, seed: int) -> None:
        # prebuilt SQL, like every store access of a start on an existing store (no ORM mapper set-up)
        with self.db.tx(write=False) as tx:
            present = tx.one(_CONTROL_ROW) is not None
        if not present:
            try:
                with self.db.tx(write=True) as tx:
                    tx.run(_NEW_CONTROL_ROW, {"epoch": new_epoch(), "seed": seed})
            except IntegrityError:  # another process made it first
                pass
        self.refresh(force=True)

    def _changed_elsewhere(self) -> bool:
        if self.signal is None:
            return True  # PostgreSQL: always read
        try:
            mark = os.stat(self.signal).st_mtime_ns
        except FileNotFoundError:
            mark = 0
        if mark != self._seen_signal:
            self._seen_signal = mark
            return True
        return False

    def before_session(self, session: Session) -> None:
        """Database hook: adopt the control state other processes may have changed."""
        if self._changed_elsewhere():
            row = session.execute(select(ControlState).where(col(ControlState.id) == 1)).scalar_one_or_none()
            if row is not None:
                self._adopt(row)

    def refresh(self, *, force: bool = False) -> None:
        """Adopt the current control state outside any session (the gateway calls this per request)."""
        if self.db.is_postgres:
            self.db.read_control()  # one statement, one round trip
            return
        if not (self._changed_elsewhere() or force):
            return
        # prebuilt SQL rather than a session: this runs after every reset and on the first request after any
        # change another worker made
        with self.db.tx(write=False) as tx:
            row = tx.one(_CONTROL_ROW)
        if row is not None:
            self.adopt_row(row)

    def adopt_row(self, row: Sequence[Any]) -> None:
        """The store's hook (PostgreSQL): the control columns read with a transaction's store lock, in the
        order (lock, epoch, seed, faults_version, clock_offset_us, clock_frozen_at)."""
        _, epoch, seed, faults_version, offset_us, frozen_at = row
        self._apply(epoch, seed, faults_version, offset_us, as_datetime(frozen_at))

    def _adopt(self, row: ControlState) -> None:
        self._apply(row.epoch, row.seed, row.faults_version, row.clock_offset_us, row.clock_frozen_at)

    def _apply(self, epoch: str, seed: int, faults_version: int, offset_us: int, frozen_at: datetime | None) -> None:
        self.clock.adopt(ClockState(timedelta(microseconds=offset_us), frozen_at))
        self.db.seed = seed
        self.faults_version = faults_version
        with self._lock:
            changed = self.epoch is not None and epoch != self.epoch
            self.epoch = epoch
        if changed:
            self.invalidate_caches()

    # -- changing ----------------------------------------------------------------------------
    def row_for_update(self, s: Session) -> ControlState:
        return s.execute(select(ControlState).where(col(ControlState.id) == 1).with_for_update()).scalar_one()

    def stamp(self, s: Session, *, epoch: bool = False, faults: bool = False, seed: int | None = None) -> None:
        """Record a change in the caller's transaction; call `published()` after it commits."""
        row = self.row_for_update(s)
        if epoch:
            row.epoch = new_epoch()
        if faults:
            row.faults_version += 1
        if seed is not None:
            row.seed = seed
        s.add(row)

    def change_clock(self, change: Callable[[ClockState], ClockState]) -> ClockState:
        """Apply a clock change to the stored state (read and written under the row lock)."""
        with self.db.write() as s:
            row = self.row_for_update(s)
            current = ClockState(timedelta(microseconds=row.clock_offset_us), row.clock_frozen_at)
            new = change(current)
            row.clock_offset_us = int(new.offset / timedelta(microseconds=1))
            row.clock_frozen_at = new.frozen_at
            s.add(row)
        self.published()
        return new

    def published(self) -> None:
        """A change committed: tell the other processes (signal file) and adopt it here."""
        if self.signal is not None:
            try:
                now = time.time_ns()
                self.signal.touch()
                os.utime(self.signal, ns=(now, now))
            except OSError:
                pass
        self.refresh(force=True)
