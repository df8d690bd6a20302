"""When a transfer settles, on the sandbox clock (naive UTC in, naive UTC out; the rules are in IST).

- IMPS and UPI: 5 seconds after the transfer went to the bank (24x7).
- NEFT (the Payout Methods page): working days are Monday to Saturday except the 2nd and 4th Saturday (and
  Sundays), 01:00-18:45 IST, in half-hourly batches: a transfer goes with the next :00/:30 batch of an open
  window and settles 30 minutes after it; outside the window, with the first batch of the next working window.
- RTGS: 07:00-18:00 IST on NEFT working days, settling 30 minutes after entry (outside hours: 30 minutes after
  the next opening). RBI runs RTGS 24x7 since December 2020; the hours are the sandbox's choice so that a
  partner can test a transfer that waits for the bank.
- Batch items wait PENDING for 2 seconds before they go to the bank.
- Reversals (magic) come an hour after the success.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
INSTANT = timedelta(seconds=5)
BATCH_QUEUE = timedelta(seconds=2)
SETTLE_AFTER_BATCH = timedelta(minutes=30)
REVERSE_AFTER = timedelta(hours=1)
NEFT_OPEN, NEFT_CLOSE = time(1, 0), time(18, 45)
RTGS_OPEN, RTGS_CLOSE = time(7, 0), time(18, 0)


def working_day(day: date) -> bool:
    """A NEFT working day: not a Sunday, not the 2nd or 4th Saturday of its month."""
    if day.weekday() == 6:
        return False
    if day.weekday() == 5:
        nth = (day.day - 1) // 7 + 1
        return nth not in (2, 4)
    return True


def _ist(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC).astimezone(IST)


def _utc(local: datetime) -> datetime:
    return local.astimezone(UTC).replace(tzinfo=None)


def _opening_after(local: datetime, opens: time) -> datetime:
    """The next opening (at `opens`, IST) strictly after `local`'s day start on a working day, or today's if it is
    still ahead."""
    day = local.date()
    for _ in range(20):
        candidate = datetime.combine(day, opens, tzinfo=IST)
        if working_day(day) and candidate >= local:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("no working day within 20 days")  # there is always one within a week


def neft_settle_at(entered: datetime) -> datetime:
    local = _ist(entered)
    if working_day(local.date()) and NEFT_OPEN <= local.time() <= NEFT_CLOSE:
        minutes = local.minute
        base = local.replace(minute=0, second=0, microsecond=0)
        if minutes == 0 and local.second == 0 and local.microsecond == 0:
            batch = base
        elif minutes < 30 or (minutes == 30 and local.second == 0 and local.microsecond == 0):
            batch = base.replace(minute=30)
        else:
            batch = base + timedelta(hours=1)
        # the last batch of the window is 18:30 (the window closes at 18:45)
        if batch.time() <= time(18, 30):
            return _utc(batch + SETTLE_AFTER_BATCH)
        local = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=IST)
    return _utc(_opening_after(local, NEFT_OPEN) + SETTLE_AFTER_BATCH)


def rtgs_settle_at(entered: datetime) -> datetime:
    local = _ist(entered)
    if working_day(local.date()) and RTGS_OPEN <= local.time() < RTGS_CLOSE:
        return _utc(local + SETTLE_AFTER_BATCH)
    if local.time() >= RTGS_CLOSE:
        local = datetime.combine(local.date() + timedelta(days=1), time(0, 0), tzinfo=IST)
    return _utc(_opening_after(local, RTGS_OPEN) + SETTLE_AFTER_BATCH)


def settle_at(mode: str, entered: datetime) -> datetime:
    """When a transfer that went to the bank at `entered` (naive UTC) gets its final status."""
    if mode == "NEFT":
        return neft_settle_at(entered)
    if mode == "RTGS":
        return rtgs_settle_at(entered)
    return entered + INSTANT
