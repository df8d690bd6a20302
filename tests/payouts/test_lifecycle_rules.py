"""The settlement calendar (products/payouts/lifecycle.py): NEFT working days and half-hourly batches, RTGS hours,
IMPS/UPI seconds — in IST, whatever the UTC date says."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from enkash_sandbox.products.payouts import lifecycle


def ist(*parts: int) -> datetime:
    """A naive-UTC instant from an IST wall-clock time."""
    return datetime(*parts, tzinfo=lifecycle.IST).astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 1), True),  # Tuesday
        (date(2026, 12, 5), True),  # 1st Saturday
        (date(2026, 12, 6), False),  # Sunday
        (date(2026, 12, 12), False),  # 2nd Saturday
        (date(2026, 12, 19), True),  # 3rd Saturday
        (date(2026, 12, 26), False),  # 4th Saturday
        (date(2027, 1, 30), True),  # 5th Saturday
    ],
)
def test_neft_working_days(day, working):
    assert lifecycle.working_day(day) is working


@pytest.mark.parametrize(
    ("entered", "settles"),
    [
        (ist(2026, 12, 1, 10, 0), ist(2026, 12, 1, 10, 30)),  # on a batch boundary: that batch
        (ist(2026, 12, 1, 10, 0, 1), ist(2026, 12, 1, 11, 0)),
        (ist(2026, 12, 1, 10, 29), ist(2026, 12, 1, 11, 0)),
        (ist(2026, 12, 1, 10, 31), ist(2026, 12, 1, 11, 30)),
        (ist(2026, 12, 1, 18, 30), ist(2026, 12, 1, 19, 0)),  # the last batch
        (ist(2026, 12, 1, 18, 31), ist(2026, 12, 2, 1, 30)),  # too late: tomorrow's first batch
        (ist(2026, 12, 1, 19, 0), ist(2026, 12, 2, 1, 30)),
        (ist(2026, 12, 2, 0, 20), ist(2026, 12, 2, 1, 30)),  # before the window opens today
        (ist(2026, 12, 5, 20, 0), ist(2026, 12, 7, 1, 30)),  # Saturday night -> Monday (Sunday closed)
        (ist(2026, 12, 11, 19, 0), ist(2026, 12, 14, 1, 30)),  # Friday night -> Monday (2nd Saturday, Sunday)
    ],
)
def test_neft_batches(entered, settles):
    assert lifecycle.settle_at("NEFT", entered) == settles


@pytest.mark.parametrize(
    ("entered", "settles"),
    [
        (ist(2026, 12, 1, 7, 0), ist(2026, 12, 1, 7, 30)),
        (ist(2026, 12, 1, 17, 59), ist(2026, 12, 1, 18, 29)),
        (ist(2026, 12, 1, 18, 0), ist(2026, 12, 2, 7, 30)),
        (ist(2026, 12, 1, 6, 0), ist(2026, 12, 1, 7, 30)),
        (ist(2026, 12, 12, 10, 0), ist(2026, 12, 14, 7, 30)),  # 2nd Saturday: closed
    ],
)
def test_rtgs_hours(entered, settles):
    assert lifecycle.settle_at("RTGS", entered) == settles


@pytest.mark.parametrize("mode", ["IMPS", "UPI"])
def test_instant_modes_settle_in_five_seconds_at_any_hour(mode):
    sunday_night = ist(2026, 12, 6, 23, 59, 58)
    assert (lifecycle.settle_at(mode, sunday_night) - sunday_night).total_seconds() == 5
