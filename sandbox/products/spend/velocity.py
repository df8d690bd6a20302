"""A card's spending in the velocity windows: the current day, month and year in India (IST), by the sandbox
clock, and the current day on one channel.

Approved authorizations count with what they still take from the card (authorized minus released: a reversal
or an expired hold gives the limit back, a refund does not); counts count approved authorizations. The sums
live in `card_usage`, one row per card and period, kept by the transactions that approve, increment or release
an authorization (in the period the authorization was made in), so reading a card's usage is one indexed read
however long its history — the audit recomputes them from the authorizations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enkash_sandbox.money import from_minor
from enkash_sandbox.store.sql import Sql, Tx
from enkash_sandbox.timefmt import velocity_periods

_READ = Sql(
    "SELECT period, amount_minor, count FROM card_usage WHERE card_id = :card_id AND period IN (:day, :month, :year, :channel)"
)
# add to a period's sums, creating its row on first use (SQLite >= 3.24 and PostgreSQL both take ON CONFLICT)
_ADD = Sql(
    "INSERT INTO card_usage (card_id, period, partner_id, amount_minor, count) VALUES (:card_id, :period, :partner_id, "
    ":amount, :count) ON CONFLICT (card_id, period) DO UPDATE SET amount_minor = card_usage.amount_minor + :amount, "
    "count = card_usage.count + :count"
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


def used_columns(card_id: str) -> str:
    """SQL for the amounts a card used in the current day, month and year, as three columns of another query
    (`card_id` is that query's SQL for the card's id; parameters from `used_params`): the card search reads the
    card and its usage in one statement."""
    return ", ".join(
        f"(SELECT amount_minor FROM card_usage WHERE card_id = {card_id} AND period = :used_{name})"
        for name in ("day", "month", "year")
    )


def used_params(now: datetime) -> dict[str, str]:
    day, month, year, _ = velocity_periods(now, None)
    return {"used_day": day, "used_month": month, "used_year": year}


def usage_of(tx: Tx, card_id: str, now: datetime, channel: str | None) -> Usage:
    day, month, year, channel_day = velocity_periods(now, channel)
    found = {
        row[0]: (int(row[1]), int(row[2]))
        for row in tx.all(_READ, {"card_id": card_id, "day": day, "month": month, "year": year, "channel": channel_day})
    }
    d, m, y, c = (found.get(key, (0, 0)) for key in (day, month, year, channel_day))
    return Usage(d[0], d[1], m[0], m[1], y[0], y[1], c[0], c[1])


def add_usage(tx: Tx, *, partner_id: str, card_id: str, made_at: datetime, channel: str, amount_minor: int, count: int) -> None:
    """Change the sums of the periods an authorization made at `made_at` counts in (a release subtracts)."""
    tx.many(
        _ADD,
        [
            {"card_id": card_id, "period": period, "partner_id": partner_id, "amount": amount_minor, "count": count}
            for period in velocity_periods(made_at, channel)
        ],
    )
