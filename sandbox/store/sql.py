"""Prebuilt SQL on the driver's own connection, for the request paths that run thousands of times a second.

The ORM stays for models, schema and cold paths; the hot paths (ledger movements, loads, card and transaction
reads) run statements written once here, with `:name` parameters rendered for each driver's
style, on the DBAPI cursor inside the same transaction discipline as every other write (store/engine.py).
That skips the ORM's unit of work, identity map, autoflush and per-statement compilation, which were three
quarters of a load's CPU time.

Values cross the boundary the way SQLAlchemy stores them, so rows written here read back through the ORM
and the other way round: datetimes as naive UTC (text on SQLite, timestamp on PostgreSQL), JSON as text on
SQLite and json on PostgreSQL, booleans as 0/1 on SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from enkash_sandbox import jsonio
from sqlalchemy.exc import IntegrityError

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Sql:
    """One statement, written once with `:name` parameters; rendered for sqlite3 (which takes `:name`
    itself) and psycopg (`%(name)s`)."""

    __slots__ = ("sqlite", "postgres")

    def __init__(self, text: str) -> None:
        if "%" in text:
            raise ValueError("write % as a parameter: psycopg would read it as a placeholder")
        self.sqlite = " ".join(text.split())
        self.postgres = _PARAM.sub(r"%(\1)s", self.sqlite)


def renamed(sql: Sql, suffix: str) -> str:
    """The statement's `:name` text with every parameter renamed `name<suffix>`: for composing several prebuilt
    statements into one (each keeps its own parameters)."""
    return _PARAM.sub(rf":\1{suffix}", sql.sqlite)


class Tx:
    """One transaction on a DBAPI cursor (opened and closed by Database.tx / Database.tx_of)."""

    __slots__ = ("cursor", "postgres")

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self.cursor = cursor
        self.postgres = postgres

    def _text(self, sql: Sql) -> str:
        return sql.postgres if self.postgres else sql.sqlite

    def _execute(self, sql: Sql, params: Mapping[str, Any] | None) -> None:
        text = self._text(sql)
        try:
            self.cursor.execute(text, params or {})
        except Exception as exc:
            _reraise_integrity(exc, text, params)
            raise

    def run(self, sql: Sql, params: Mapping[str, Any] | None = None) -> int:
        """Execute; the number of rows it changed."""
        self._execute(sql, params)
        rowcount: int = self.cursor.rowcount
        return rowcount

    def one(self, sql: Sql, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        self._execute(sql, params)
        row: tuple[Any, ...] | None = self.cursor.fetchone()
        return row

    def all(self, sql: Sql, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        self._execute(sql, params)
        rows: list[tuple[Any, ...]] = self.cursor.fetchall()
        return rows

    def many(self, sql: Sql, rows: Iterable[Mapping[str, Any]]) -> None:
        text = self._text(sql)
        batch = list(rows)
        if not batch:
            return
        try:
            self.cursor.executemany(text, batch)
        except Exception as exc:
            _reraise_integrity(exc, text, None)
            raise

    # -- values as each driver stores them ------------------------------------------------------------------
    def ts(self, value: datetime | None) -> Any:
        """A naive-UTC datetime as the ORM stores it."""
        if value is None or self.postgres:
            return value
        # the text SQLAlchemy writes for a DATETIME on SQLite (YYYY-MM-DD HH:MM:SS.ffffff, the year padded to
        # four digits), made without strftime's format parsing (which would not pad a year before 1000)
        return value.isoformat(" ", "microseconds")

    def json(self, value: Any) -> Any:
        """A JSON column's value, rendered by the sandbox's encoder (amounts exact)."""
        if value is None:
            return None
        text = jsonio.dumps(value).decode()
        if self.postgres:
            from psycopg.types.json import Json

            return Json(text, dumps=_as_is)
        return text


def _as_is(text: str) -> str:
    return text


def _reraise_integrity(exc: Exception, statement: str, params: Mapping[str, Any] | None) -> None:
    """A driver's integrity error (unique index, foreign key) as SQLAlchemy's, so that one `except
    IntegrityError` handles it whichever way the statement was sent."""
    if any(cls.__name__ == "IntegrityError" for cls in type(exc).__mro__):
        raise IntegrityError(statement, dict(params or {}), exc) from exc


def as_datetime(value: Any) -> datetime | None:
    """A timestamp read back from either driver (SQLite returns the text the ORM wrote)."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def as_json(value: Any) -> Any:
    if value is None or not isinstance(value, (str, bytes)):
        return value
    return jsonio.loads(value)


def columns(cursor: Any) -> Sequence[str]:
    return [d[0] for d in cursor.description]
