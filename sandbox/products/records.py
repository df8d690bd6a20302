"""Rows read by prebuilt SQL for the hot read paths, as plain records with the same attribute names as the
ORM tables, so the views render either (store/sql.py explains why the hot paths skip the ORM)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enkash_sandbox.store.sql import Sql, Tx, as_datetime, as_json


@dataclass(slots=True)
class CardRecord:
    id: str
    partner_id: str
    account_id: str
    user_id: str
    token: str
    masked_number: str
    expiry_month: str
    expiry_year: str
    balance_minor: int
    status: str
    kyc_status: str
    kit_type: str
    physical_card: bool
    primary_card: bool
    card_activated: bool
    load_amount_minor: int
    last_allocated_minor: int
    remarks: str | None
    controls: dict[str, Any]
    replaced_by: str | None
    created_at: datetime
    modified_at: datetime


@dataclass(slots=True)
class HolderRecord:
    id: str
    email: str | None
    mobile: str | None
    title: str | None
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    gender: str | None
    special_date: str | None
    pan: str | None
    profile: dict[str, Any]


@dataclass(slots=True)
class AccountRecord:
    id: str
    partner_id: str
    company_id: str
    account_type: str
    balance_minor: int


@dataclass(slots=True)
class CompanyRecord:
    id: str
    name: str


CARD_COLUMNS = (
    "c.id, c.partner_id, c.account_id, c.user_id, c.token, c.masked_number, c.expiry_month, c.expiry_year, "
    "c.balance_minor, c.status, c.kyc_status, c.kit_type, c.physical_card, c.primary_card, c.card_activated, "
    "c.load_amount_minor, c.last_allocated_minor, c.remarks, c.controls, c.replaced_by, c.created_at, c.modified_at"
)
HOLDER_COLUMNS = (
    "h.id, h.email, h.mobile, h.title, h.first_name, h.middle_name, h.last_name, h.gender, h.special_date, h.pan, h.profile"
)
ACCOUNT_COLUMNS = "a.id, a.partner_id, a.company_id, a.account_type, a.balance_minor"
COMPANY_COLUMNS = "co.id, co.name"


def card_context_query(extra_columns: str = "") -> Sql:
    """The card (`c`), its holder, account and company in one row (`context_of` reads its first N_CONTEXT
    values), followed by `extra_columns`, SQL over the card's columns."""
    return Sql(
        f"SELECT {CARD_COLUMNS}, {HOLDER_COLUMNS}, {ACCOUNT_COLUMNS}, {COMPANY_COLUMNS}"
        + (f", {extra_columns}" if extra_columns else "")
        + " FROM card c JOIN card_holder h ON h.id = c.user_id JOIN card_account a ON a.id = c.account_id "
        "JOIN company co ON co.id = a.company_id WHERE c.id = :card_id"
    )


_CARD_WITH_CONTEXT = card_context_query()
_CARDS_OF_ACCOUNT = Sql(
    f"SELECT {CARD_COLUMNS}, {HOLDER_COLUMNS} FROM card c JOIN card_holder h ON h.id = c.user_id "
    "WHERE c.account_id = :account_id ORDER BY c.seq LIMIT :limit OFFSET :offset"
)
_ACCOUNT_WITH_COMPANY = Sql(
    f"SELECT {ACCOUNT_COLUMNS}, {COMPANY_COLUMNS} FROM card_account a JOIN company co ON co.id = a.company_id "
    "WHERE a.id = :account_id"
)
N_CARD, N_HOLDER, N_ACCOUNT = 22, 11, 5
N_CONTEXT = N_CARD + N_HOLDER + N_ACCOUNT + 2


def card_of(row: tuple[Any, ...], at: int = 0) -> CardRecord:
    r = row[at : at + N_CARD]
    return CardRecord(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        r[6],
        r[7],
        int(r[8]),
        r[9],
        r[10],
        r[11],
        bool(r[12]),
        bool(r[13]),
        bool(r[14]),
        int(r[15]),
        int(r[16]),
        r[17],
        as_json(r[18]) or {},
        r[19],
        as_datetime(r[20]),  # type: ignore[arg-type]
        as_datetime(r[21]),  # type: ignore[arg-type]
    )


def holder_of(row: tuple[Any, ...], at: int) -> HolderRecord:
    r = row[at : at + N_HOLDER]
    return HolderRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], as_json(r[10]) or {})


def account_of(row: tuple[Any, ...], at: int) -> AccountRecord:
    r = row[at : at + N_ACCOUNT]
    return AccountRecord(r[0], r[1], r[2], r[3], int(r[4]))


# where a card-with-context row holds its account's id, partner and company (compared before anything is rendered)
AT_ACCOUNT = N_CARD + N_HOLDER
ACCOUNT_ID, ACCOUNT_PARTNER, ACCOUNT_COMPANY = AT_ACCOUNT, AT_ACCOUNT + 1, AT_ACCOUNT + 2


def card_row_with_context(
    tx: Tx, card_id: str, query: Sql = _CARD_WITH_CONTEXT, params: dict[str, Any] | None = None
) -> tuple[Any, ...] | None:
    """The card, its holder, account and company in one row (read by `context_of`); a `query` made by
    `card_context_query` adds its own columns after them (and takes `params` for them)."""
    return tx.one(query, {"card_id": card_id, **(params or {})})


def context_of(row: tuple[Any, ...]) -> tuple[CardRecord, HolderRecord, AccountRecord, CompanyRecord]:
    at = N_CARD + N_HOLDER + N_ACCOUNT
    return card_of(row), holder_of(row, N_CARD), account_of(row, AT_ACCOUNT), CompanyRecord(row[at], row[at + 1])


class RowViews:
    """Views rendered from store rows, kept by the row itself: a row read again unchanged (the same card searched
    again and again, as a partner's polling does) is not parsed and rendered again. A changed row is another
    key, so nothing is ever stale and nothing needs clearing on a reset; the oldest view goes when `size` are
    kept. `render` must depend on the row alone. Each caller gets its own (shallow) copy to add to; the
    nested objects of a view are shared and never changed.

    Measured on a card search: parsing the row into records and rendering the card's ~110 fields was a seventh of
    the request. A row holding a JSON value as a dict (PostgreSQL's driver parses json) cannot be a key: such
    rows are rendered every time."""

    def __init__(self, render: Callable[[tuple[Any, ...]], dict[str, Any]], size: int = 256) -> None:
        self.render = render
        self.size = size
        self._views: dict[tuple[Any, ...], dict[str, Any]] = {}

    def view(self, row: tuple[Any, ...]) -> dict[str, Any]:
        try:
            kept = self._views.get(row)
        except TypeError:  # an unhashable value in the row
            return self.render(row)
        if kept is None:
            kept = self.render(row)
            if len(self._views) >= self.size:
                self._views.pop(next(iter(self._views)), None)
            self._views[row] = kept
        return dict(kept)


def cards_of_account(tx: Tx, account_id: str, *, limit: int | None, offset: int | None) -> list[tuple[CardRecord, HolderRecord]]:
    rows = tx.all(
        _CARDS_OF_ACCOUNT,
        {
            "account_id": account_id,
            "limit": limit if limit is not None else -1 if not tx.postgres else None,
            "offset": offset or 0,
        },
    )
    return [(card_of(row), holder_of(row, N_CARD)) for row in rows]


def account_with_company(tx: Tx, account_id: str) -> tuple[AccountRecord, CompanyRecord] | None:
    row = tx.one(_ACCOUNT_WITH_COMPANY, {"account_id": account_id})
    if row is None:
        return None
    return account_of(row, 0), CompanyRecord(row[N_ACCOUNT], row[N_ACCOUNT + 1])
