"""Whole-store state: reset, named snapshots, and per-tenant baselines.

Everything is driven by the table metadata, never by a hand-kept list: a table added later is
wiped, snapshotted and restored like the others. A table whose rows belong to a tenant has a
`partner_id` column; tables marked info={"survives_tenant_reset": True} keep their rows when one
tenant is reset (its sessions, its baseline).

On SQLite, snapshots and the reset baseline are copies made with SQLite's online backup API:
restoring one is a page copy, so a reset costs milliseconds however many cards the store holds.
Elsewhere (PostgreSQL) they are row dumps held in memory.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, select
from sqlmodel import SQLModel

from enkash_sandbox.store.db import Database

BASELINE = "__baseline__"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class SnapshotError(ValueError):
    pass


def tenant_tables():
    return [t for t in SQLModel.metadata.sorted_tables
            if "partner_id" in t.c and not t.info.get("survives_tenant_reset")]


def _encode(table, row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _decode(table, row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if value is not None and isinstance(table.c[key].type, DateTime) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        out[key] = value
    return out


class StateStore:
    def __init__(self, db: Database, folder: Path | None):
        self.db = db
        self.folder = folder
        self._memory: dict[str, object] = {}  # name -> sqlite3.Connection (memory store) or row dump
        self._created: dict[str, datetime] = {}
        self._lock = threading.Lock()

    # -- naming ----------------------------------------------------------------------------
    @staticmethod
    def check_name(name: str) -> str:
        if not _NAME.match(name):
            raise SnapshotError("snapshot names use letters, digits, '.', '_' and '-' (at most 64)")
        return name

    def _path(self, name: str) -> Path | None:
        if self.folder is None or not self.db.is_sqlite or self.db.is_memory:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{name}.db"

    # -- whole store -----------------------------------------------------------------------
    def take(self, name: str) -> dict:
        with self._lock, self.db.write_lock():
            if self.db.is_sqlite:
                path = self._path(name)
                target = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
                with self.db.raw_sqlite() as live:
                    live.backup(target)
                if path is not None:
                    target.close()
                else:
                    old = self._memory.pop(name, None)
                    if isinstance(old, sqlite3.Connection):
                        old.close()
                    self._memory[name] = target
            else:
                self._memory[name] = self.dump()
            self._created[name] = datetime.now(UTC)
        return self.describe(name)

    def restore(self, name: str) -> None:
        with self._lock, self.db.write_lock():
            if not self.exists(name):
                raise KeyError(name)
            if self.db.is_sqlite:
                path = self._path(name)
                source = sqlite3.connect(str(path)) if path else self._memory[name]
                try:
                    with self.db.raw_sqlite() as live:
                        source.backup(live)
                finally:
                    if path is not None:
                        source.close()
            else:
                self.load(self._memory[name])
        # a table created after the copy was taken must exist (empty) after restoring it
        self.db.create_all()

    def exists(self, name: str) -> bool:
        path = self._path(name)
        return path.exists() if path is not None else name in self._memory

    def delete(self, name: str) -> bool:
        with self._lock:
            path = self._path(name)
            if path is not None:
                if not path.exists():
                    return False
                path.unlink()
                return True
            old = self._memory.pop(name, None)
            if isinstance(old, sqlite3.Connection):
                old.close()
            return old is not None

    def names(self) -> list[str]:
        if self.folder is not None and self.db.is_sqlite and not self.db.is_memory and self.folder.exists():
            found = sorted(p.stem for p in self.folder.glob("*.db"))
        else:
            found = sorted(self._memory)
        return [n for n in found if not n.startswith("__")]

    def describe(self, name: str) -> dict:
        path = self._path(name)
        created = self._created.get(name)
        if path is not None and path.exists():
            created = created or datetime.fromtimestamp(path.stat().st_mtime, UTC)
            size = path.stat().st_size
        else:
            size = None
        return {"name": name, "createdAt": created.isoformat() if created else None, "bytes": size}

    # -- row dumps (PostgreSQL snapshots, tenant baselines) ----------------------------------
    def dump(self, partner_id: str | None = None) -> dict[str, list[dict]]:
        tables = tenant_tables() if partner_id else SQLModel.metadata.sorted_tables
        out: dict[str, list[dict]] = {}
        with self.db.engine.connect() as conn:
            for table in tables:
                query = select(table)
                if partner_id:
                    query = query.where(table.c.partner_id == partner_id)
                rows = [dict(r._mapping) for r in conn.execute(query)]
                out[table.name] = [_encode(table, r) for r in rows] if partner_id else rows
        return out

    def load(self, dump: dict[str, list[dict]]) -> None:
        with self.db.write() as s:
            self.db.wipe(s)
            for table in SQLModel.metadata.sorted_tables:
                rows = dump.get(table.name)
                if rows:
                    s.execute(table.insert(), rows)

    def restore_tenant(self, partner_id: str, baseline: dict[str, list[dict]]) -> None:
        with self.db.write() as s:
            for table in reversed(tenant_tables()):
                s.execute(table.delete().where(table.c.partner_id == partner_id))
            for table in tenant_tables():
                rows = baseline.get(table.name)
                if rows:
                    s.execute(table.insert(), [_decode(table, r) for r in rows])
