"""EnKash's date formats. The store keeps naive UTC; EnKash renders Indian time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

IST = timezone(timedelta(hours=5, minutes=30), "IST")


def to_ist(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC).astimezone(IST)


def java_medium(dt: datetime | None) -> str | None:
    """Jackson's default Date rendering seen in the docs: "Jan 23, 2025 4:38:36 PM" (IST)."""
    if dt is None:
        return None
    # the store's naive UTC only: an aware instant equals (and hashes like) its other spellings
    return _java_medium(dt) if dt.tzinfo is None else _java_medium.__wrapped__(dt)


# the same instants are rendered again and again (a card's dates on every search of it): formatting one was
# about 5 % of a card search's CPU
@lru_cache(maxsize=8192)
def _java_medium(dt: datetime) -> str:
    local = to_ist(dt)
    hour = local.hour % 12 or 12
    return f"{local:%b} {local.day}, {local.year} {hour}:{local:%M:%S} {'AM' if local.hour < 12 else 'PM'}"


def iso_utc(dt: datetime | None) -> str | None:
    """The ISO-8601 form the search filters use: 2025-01-24T08:47:01.505Z."""
    if dt is None:
        return None
    return dt.isoformat(timespec="milliseconds") + "Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 instant (Z or offset, or a bare date) into naive UTC."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is not None:
        try:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
            raise ValueError(f"{value} is outside the range of dates") from None
    return dt


def month_start_utc(now_utc: datetime) -> datetime:
    """Start of the current calendar month in India, as naive UTC."""
    local = to_ist(now_utc)
    start_local = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start_local.astimezone(UTC).replace(tzinfo=None)


def velocity_periods(at: datetime, channel: str | None) -> tuple[str, str, str, str]:
    """The velocity periods an instant falls in, in India's time: its day, month and year, and its day on one
    channel (D:2026-12-01, M:2026-12, Y:2026, C:2026-12-01:POS) — the keys of a card's usage sums."""
    # India's days start on a whole minute of UTC (18:30), so the instant's minute decides its periods
    minute = at.replace(second=0, microsecond=0)
    return _velocity_periods(minute, channel) if at.tzinfo is None else _velocity_periods.__wrapped__(minute, channel)


@lru_cache(maxsize=1024)
def _velocity_periods(at: datetime, channel: str | None) -> tuple[str, str, str, str]:
    local = to_ist(at)
    day = local.strftime("%Y-%m-%d")
    return f"D:{day}", f"M:{local:%Y-%m}", f"Y:{local:%Y}", f"C:{day}:{channel or ''}"
