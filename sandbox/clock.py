"""The sandbox clock: real time, shifted or frozen on demand.

Token expiry, OTP expiry, pending->final transitions, hold expiry and "current month" totals read it, so a
test can move time instead of sleeping.

Reading the clock takes no lock and touches no store: `now()` combines the real time with an immutable
state object that is swapped atomically. The state itself lives in the store (the control_state row) and is
adopted by every worker at the start of each request and session (`store/control.py`), so whichever worker
answers, it tells the same time. Changing it is a store write like any other; no lock is held across it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# The instants the sandbox accepts for its clock. Far enough either side for any test (years of expiry,
# decades of history), near enough that every date the sandbox derives from the clock stays printable.
EARLIEST = datetime(2000, 1, 1)
LATEST = datetime(2099, 12, 31)


def utcnow_real() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ClockOutOfRange(ValueError):
    pass


@dataclass(frozen=True)
class ClockState:
    offset: timedelta = timedelta(0)
    frozen_at: datetime | None = None

    def now(self) -> datetime:
        return self.frozen_at if self.frozen_at is not None else utcnow_real() + self.offset

    # -- the changes a caller can ask for; each returns a new state, checked against the range ----------
    def freeze(self, at: datetime | None = None) -> ClockState:
        return _checked(ClockState(self.offset, at or self.now()))

    def unfreeze(self) -> ClockState:
        if self.frozen_at is None:
            return self
        return _checked(ClockState(self.frozen_at - utcnow_real(), None))

    def set(self, at: datetime) -> ClockState:
        if self.frozen_at is not None:
            return _checked(ClockState(self.offset, at))
        return _checked(ClockState(at - utcnow_real(), None))

    def advance(self, seconds: float) -> ClockState:
        try:
            delta = timedelta(seconds=seconds)
            if self.frozen_at is not None:
                return _checked(ClockState(self.offset, self.frozen_at + delta))
            return _checked(ClockState(self.offset + delta, None))
        except OverflowError:
            raise ClockOutOfRange(f"the clock must stay between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}") from None

    def describe(self) -> dict:
        return {
            "now": self.now().isoformat(timespec="milliseconds") + "Z",
            "frozen": self.frozen_at is not None,
            "frozen_at": self.frozen_at.isoformat() if self.frozen_at else None,
            "offset_seconds": self.offset.total_seconds(),
        }


def _checked(state: ClockState) -> ClockState:
    try:
        now = state.now()
    except OverflowError:
        now = None
    if now is None or not EARLIEST <= now <= LATEST:
        raise ClockOutOfRange(f"the clock must stay between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return state


class Clock:
    """This process's view of the sandbox clock. `now()` is lock-free; `adopt()` swaps the state."""

    def __init__(self) -> None:
        self._state = ClockState()

    def now(self) -> datetime:
        """Naive UTC, like every timestamp in the store."""
        return self._state.now()

    @property
    def current(self) -> ClockState:
        return self._state

    def adopt(self, state: ClockState) -> None:
        self._state = state

    def state(self) -> dict:
        return self._state.describe()
