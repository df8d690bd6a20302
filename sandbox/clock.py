"""The sandbox clock: real time, shifted or frozen on demand.

Token expiry, OTP expiry, pending->final transitions and "current month" totals read it, so a
test can move time instead of sleeping. Its state is persisted so that every worker process on
one database agrees; a process re-reads it at most once a second, or at once after it changed it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def utcnow_real() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Clock:
    REFRESH_SECONDS = 1.0

    def __init__(self, load: Callable[[], str | None] | None = None, save: Callable[[str], None] | None = None):
        self._load = load
        self._save = save
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        self._frozen_at: datetime | None = None
        self._checked = 0.0

    # -- state -----------------------------------------------------------------------------
    def _refresh(self) -> None:
        if self._load is None or time.monotonic() - self._checked < self.REFRESH_SECONDS:
            return
        with self._lock:
            raw = self._load()
            self._checked = time.monotonic()
            self._apply(raw)

    def _apply(self, raw: str | None) -> None:
        if not raw:
            self._offset, self._frozen_at = timedelta(0), None
            return
        state = json.loads(raw)
        self._offset = timedelta(seconds=state.get("offset_seconds", 0.0))
        frozen = state.get("frozen_at")
        self._frozen_at = datetime.fromisoformat(frozen) if frozen else None

    def _persist(self) -> None:
        self._checked = time.monotonic()
        if self._save is not None:
            self._save(json.dumps(self.state()))

    def reload(self) -> None:
        self._checked = 0.0
        self._refresh()

    # -- reading ---------------------------------------------------------------------------
    def now(self) -> datetime:
        """Naive UTC, like every timestamp in the store."""
        self._refresh()
        if self._frozen_at is not None:
            return self._frozen_at
        return utcnow_real() + self._offset

    def state(self) -> dict:
        return {
            "now": (self._frozen_at or utcnow_real() + self._offset).isoformat(timespec="milliseconds") + "Z",
            "frozen": self._frozen_at is not None,
            "frozen_at": self._frozen_at.isoformat() if self._frozen_at else None,
            "offset_seconds": self._offset.total_seconds(),
        }

    # -- changing --------------------------------------------------------------------------
    def freeze(self, at: datetime | None = None) -> None:
        with self._lock:
            self._frozen_at = at or (utcnow_real() + self._offset)
            self._persist()

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - utcnow_real()
            self._frozen_at = None
            self._persist()

    def set(self, at: datetime) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = at
            else:
                self._offset = at - utcnow_real()
            self._persist()

    def advance(self, seconds: float) -> None:
        with self._lock:
            delta = timedelta(seconds=seconds)
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset += delta
            self._persist()

    def reset(self) -> None:
        with self._lock:
            self._offset, self._frozen_at = timedelta(0), None
            self._persist()
