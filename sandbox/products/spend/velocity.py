"""A card's spending in the velocity windows: the current day, month and year in India (IST), by the sandbox
clock. Approved authorizations count with what they still take from the card (authorized minus released:
a reversal or an expired hold gives the limit back, a refund does not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from enkash_sandbox.money import from_minor
from enkash_sandbox.store.sql import Sql, Tx
from enkash_sandbox.timefmt import to_ist

_USAGE = Sql(
    "SELECT "
    "COALESCE(SUM(CASE WHEN created_at >= :day THEN authorized_minor - released_minor END), 0), "
    "COUNT(CASE WHEN created_at >= :day THEN 1 END), "
    "COALESCE(SUM(CASE WHEN created_at >= :month THEN authorized_minor - released_minor END), 0), "
    "COUNT(CASE WHEN created_at >= :month THEN 1 END), "
    "COALESCE(SUM(authorized_minor - released_minor), 0), "
    "COUNT(*), "
    "COALESCE(SUM(CASE WHEN created_at >= :day AND channel = :channel THEN authorized_minor - released_minor END), 0), "
    "COUNT(CASE WHEN created_at >= :day AND channel = :channel THEN 1 END) "
    "FROM card_authorization WHERE card_id = :card_id AND decision = 'APPROVED' AND created_at >= :year"
)


@dataclass(frozen=True)
class Usage:
    day_minor: int
    day_count: int
    month_minor: int
    month_count: int
    year_minor: int
    year_count: int
    channel_day_minor: int
    channel_day_count: int

    def view(self) -> dict[str, Any]:
        return {
            "usedDtd": from_minor(self.day_minor),
            "usedMtd": from_minor(self.month_minor),
            "usedYtd": from_minor(self.year_minor),
            "countDtd": self.day_count,
            "countMtd": self.month_count,
            "countYtd": self.year_count,
        }


def window_starts(now: datetime) -> tuple[datetime, datetime, datetime]:
    """The starts of the IST day, month and year containing `now`, as naive UTC like every stored time."""
    local = to_ist(now)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    year = month.replace(month=1)
    return tuple(start.astimezone(UTC).replace(tzinfo=None) for start in (day, month, year))  # type: ignore[return-value]


def usage_of(tx: Tx, card_id: str, now: datetime, channel: str | None) -> Usage:
    day, month, year = window_starts(now)
    row = tx.one(
        _USAGE,
        {
            "card_id": card_id,
            "day": tx.ts(day),
            "month": tx.ts(month),
            "year": tx.ts(year),
            "channel": str(channel) if channel is not None else "",
        },
    )
    assert row is not None  # an aggregate always answers one row
    return Usage(*(int(v or 0) for v in row))
