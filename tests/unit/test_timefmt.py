"""EnKash's date renderings, which are cached per instant: the cache must never change an answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from enkash_sandbox.timefmt import java_medium, velocity_periods


def test_velocity_periods_change_at_indian_midnight_to_the_microsecond() -> None:
    # 18:30 UTC is midnight in India: the same minute key must not carry yesterday's periods over
    before = datetime(2026, 12, 31, 18, 29, 59, 999999)
    at = datetime(2026, 12, 31, 18, 30, 0)
    assert velocity_periods(before, "POS") == ("D:2026-12-31", "M:2026-12", "Y:2026", "C:2026-12-31:POS")
    assert velocity_periods(at, "POS") == ("D:2027-01-01", "M:2027-01", "Y:2027", "C:2027-01-01:POS")
    assert velocity_periods(at + timedelta(seconds=59), None) == ("D:2027-01-01", "M:2027-01", "Y:2027", "C:2027-01-01:")
    # asked again (now from the cache): the same answers
    assert velocity_periods(before, "POS")[0] == "D:2026-12-31"
    assert velocity_periods(at, "ATM")[3] == "C:2027-01-01:ATM"


def test_java_medium_renders_each_instant_in_india_also_when_repeated() -> None:
    first = datetime(2025, 1, 23, 11, 8, 36)
    assert java_medium(first) == "Jan 23, 2025 4:38:36 PM"
    assert java_medium(first + timedelta(seconds=1)) == "Jan 23, 2025 4:38:37 PM"
    assert java_medium(first) == "Jan 23, 2025 4:38:36 PM"
    assert java_medium(datetime(2025, 1, 23, 18, 30)) == "Jan 24, 2025 12:00:00 AM"
    assert java_medium(None) is None


def test_aware_instants_are_read_as_utc_fields_like_the_store_keeps_them() -> None:
    # the store's convention (naive UTC) applied to an aware value: its fields, whatever its offset; two aware
    # spellings of one instant are equal and hash alike, so they must not share a cached rendering
    utc = datetime(2025, 1, 23, 11, 8, 36, tzinfo=UTC)
    ist = utc.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert utc == ist
    assert java_medium(utc) == "Jan 23, 2025 4:38:36 PM"
    assert java_medium(ist) == "Jan 23, 2025 10:08:36 PM"
    assert velocity_periods(ist.replace(hour=23), None)[0] == "D:2025-01-24"
