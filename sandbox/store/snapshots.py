"""Whole-store state: reset, named snapshots, and per-tenant baselines — store-wide, whichever worker asks.

Everything is driven by the table metadata, never by a hand-kept list: a table added later is wiped,
snapshotted and restored like the others. A table whose rows belong to a tenant has a `partner_id` column;
tables marked info={"survives_tenant_reset": True} keep their rows when one tenant is reset, and tables
marked info={"survives_reset": True} (the snapshots themselves) survive every reset and restore.

SQLite: snapshots and the reset baseline are database files in a folder beside the store, shared by every
worker process. Taking one is SQLite's online backup API into a temporary file renamed into place (a reader
never sees half a file); restoring one is a page copy into the live store under its write lock, so a reset
costs milliseconds however many cards the store holds and other workers simply wait for it.

PostgreSQL: snapshots are compressed row dumps in the `snapshot_blob` table. Restoring one deletes and
reinserts every row inside one transaction that holds the store lock exclusively (store/engine.py), so a
request runs wholly before or wholly after it.

Either way the restored state gets a fresh epoch in the same step, so every worker drops its caches.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import zlib
from datetime import UTC, datetime
from pathlib import Path

from enkash_sandbox.store.control import ControlStore, new_epoch
from enkash_sandbox.store.engine import Database, sequence_kinds
from enkash_sandbox.store.tables import Meta, SnapshotBlob
from sqlalchemy import DateTime, Integer, LargeBinary, Table, select, text
from sqlmodel import Session, SQLModel, col

BASELINE = "__baseline__"
RESERVED_PREFIX = "__"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SQLITE_HEADER = b"SQLite format 3\x00"


class SnapshotError(ValueError):
    """A snapshot name or file the sandbox refuses (422)."""


class SnapshotConflict(ValueError):
    """A snapshot that exists but cannot be restored as asked (409)."""


def tenant_tables() -> list[Table]:
    return [t for t in SQLModel.metadata.sorted_tables if "partner_id" in t.c and not t.info.get("survives_tenant_reset")]


def state_tables() -> list[Table]:
    """Every table a reset or restore replaces."""
    return [t for t in SQLModel.metadata.sorted_tables if not t.info.get("survives_reset")]


def _encode(row: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v.hex() if isinstance(v, bytes) else v) for k, v in row.items()}


def _decode(table: Table, row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if key not in table.c:
            continue  # a column dropped since the dump was taken
        kind = table.c[key].type
        if value is not None and isinstance(kind, DateTime) and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(kind, LargeBinary) and isinstance(value, str):
            value = bytes.fromhex(value)
        out[key] = value
    return out


class StateStore:
    def __init__(self, db: Database, folder: Path | None, control: ControlStore):
        self.db = db
        self.folder = folder
        self.control = control
        # snapshot files found sound, by (path, inode, size, mtime): a file is only ever replaced whole (and a
        # restore no longer writes to it), so a reset does not re-check its baseline every time
        self._sound: set[tuple[str, int, int, int]] = set()

    # -- naming ----------------------------------------------------------------------------
    @staticmethod
    def check_name(name: str, *, reserved_ok: bool = False) -> str:
        if not isinstance(name, str) or not _NAME.match(name):
            raise SnapshotError("snapshot names use letters, digits, '.', '_' and '-' (1 to 64 characters)")
        if name.startswith(RESERVED_PREFIX) and not reserved_ok:
            raise SnapshotError(f"names starting with {RESERVED_PREFIX!r} are reserved for the sandbox's own reset baseline")
        return name

    @property
    def files(self) -> bool:
        return self.db.is_sqlite and self.folder is not None

    def _path(self, name: str) -> Path:
        assert self.folder is not None
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"{name}.db"

    # -- whole store -----------------------------------------------------------------------
    def take(self, name: str, *, reserved_ok: bool = False) -> dict:
        self.check_name(name, reserved_ok=reserved_ok)
        now = datetime.now(UTC).replace(tzinfo=None)
        if self.files:
            path = self._path(name)
            partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
            target = sqlite3.connect(str(partial))
            try:
                with self.db.write_lock(), self.db.raw_sqlite() as live:
                    live.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")
                target.close()
                os.replace(partial, path)  # atomic: a concurrent reader sees the old file or the new one
            finally:
                target.close()
                partial.unlink(missing_ok=True)
        else:
            with self.db.write() as s:
                data = zlib.compress(json.dumps(self.dump(s)).encode(), 3)
                row = s.get(SnapshotBlob, name) or SnapshotBlob(name=name, seed=self.db.seed, data=b"", created_at=now)
                row.seed, row.data, row.created_at = self.db.seed, data, now
                s.add(row)
        return self.describe(name)

    def restore(
        self, name: str, *, reserved_ok: bool = False, adopt_seed: bool = False, meta: dict[str, str] | None = None
    ) -> int:
        """Replace the whole state with a snapshot; returns the seed in force afterwards. `meta` rows are written
        in the same step (facts the copy cannot know, such as the seed a plain reset returns to)."""
        self.check_name(name, reserved_ok=reserved_ok)
        if self.files:
            seed, complete = self._restore_file(self._path(name), adopt_seed=adopt_seed, meta=meta or {})
        else:
            seed, complete = self._restore_rows(name, adopt_seed=adopt_seed, meta=meta or {}), False
        if not complete:
            # a table (or id counter) added since the copy was taken must exist after restoring it
            self.db.create_all()
        self.control.published()
        return seed

    def _restore_file(self, path: Path, *, adopt_seed: bool, meta: dict[str, str]) -> tuple[int, bool]:
        """Copy a snapshot file into the live store; (its seed, whether it has every table and id counter)."""
        if not path.exists():
            raise KeyError(path.stem)
        # stamped in memory, never in the file: a restore only reads the snapshot (no fsync of it per reset,
        # and two workers restoring it at once cannot disturb each other)
        copy = sqlite3.connect(":memory:")
        try:
            seed, complete = self._check_file(path, adopt_seed=adopt_seed, into=copy)
            # the restored state gets a fresh epoch in the copy itself, so no worker can mistake it for the
            # state it cached before (the file is the sandbox's own; the epoch is not partner-visible data)
            copy.execute("UPDATE control_state SET epoch = ? WHERE id = 1", (new_epoch(),))
            copy.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(meta.items()))
            copy.commit()
            with self.db.write_lock(), self.db.raw_sqlite() as live:
                copy.backup(live)
        finally:
            copy.close()
        return seed, complete

    def _check_file(self, path: Path, *, adopt_seed: bool, into: sqlite3.Connection) -> tuple[int, bool]:
        """A snapshot file must be a sound SQLite database of this sandbox, made under the live seed. Copies it
        `into` an (in-memory) database; returns its seed and whether it has every table and id counter."""
        with open(path, "rb") as fh:
            if fh.read(16) != SQLITE_HEADER:
                raise SnapshotError(f"snapshot {path.stem} is not a SQLite database (damaged or foreign file)")
            stat = os.fstat(fh.fileno())
        known = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            try:
                if known not in self._sound and conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                    raise SnapshotError(f"snapshot {path.stem} is damaged (quick_check failed)")
                row = conn.execute("SELECT seed FROM control_state WHERE id = 1").fetchone()
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                complete = {t.name for t in SQLModel.metadata.sorted_tables} <= tables
                if complete:
                    complete = sequence_kinds() <= {r[0] for r in conn.execute("SELECT kind FROM id_sequence")}
                if row is not None:
                    conn.backup(into)
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise SnapshotError(f"snapshot {path.stem} is not a snapshot of this sandbox ({exc})") from None
        self._sound.add(known)
        if row is None:
            raise SnapshotError(f"snapshot {path.stem} is not a snapshot of this sandbox (no control state)")
        seed = int(row[0])
        if seed != self.db.seed and not adopt_seed:
            raise SnapshotConflict(
                f"snapshot {path.stem} was taken under seed {seed} but this store runs seed "
                f"{self.db.seed}; ids would no longer follow the store's seed. Restore with "
                '{"adoptSeed": true} to switch the store to seed ' + str(seed)
            )
        return seed, complete

    def _restore_rows(self, name: str, *, adopt_seed: bool, meta: dict[str, str]) -> int:
        with self.db.write(exclusive=True) as s:
            row = s.get(SnapshotBlob, name)
            if row is None:
                raise KeyError(name)
            if row.seed != self.db.seed and not adopt_seed:
                raise SnapshotConflict(
                    f"snapshot {name} was taken under seed {row.seed} but this store runs seed "
                    f"{self.db.seed}. Restore with " + '{"adoptSeed": true} to switch seeds'
                )
            try:
                dump = json.loads(zlib.decompress(row.data))
            except (zlib.error, ValueError) as exc:
                raise SnapshotError(f"snapshot {name} is damaged ({exc})") from None
            self.load(s, dump)
            for key, value in meta.items():
                s.merge(Meta(key=key, value=value))
            self.control.stamp(s, epoch=True, seed=row.seed)
            return row.seed

    def exists(self, name: str) -> bool:
        if self.files:
            return self._path(name).exists()
        with self.db.read() as s:
            return s.get(SnapshotBlob, name) is not None

    def delete(self, name: str, *, reserved_ok: bool = False) -> bool:
        self.check_name(name, reserved_ok=reserved_ok)
        if self.files:
            try:
                self._path(name).unlink()
                return True
            except FileNotFoundError:
                return False
        with self.db.write() as s:
            row = s.get(SnapshotBlob, name)
            if row is None:
                return False
            s.delete(row)
            return True

    def names(self) -> list[str]:
        if self.files:
            assert self.folder is not None  # `files` means there is a folder
            found = sorted(p.stem for p in self.folder.glob("*.db")) if self.folder.exists() else []
        else:
            with self.db.read() as s:
                found = sorted(s.scalars(select(col(SnapshotBlob.name))))
        return [n for n in found if not n.startswith(RESERVED_PREFIX)]

    def describe(self, name: str) -> dict:
        if self.files:
            path = self._path(name)
            if not path.exists():
                return {"name": name, "createdAt": None, "bytes": None}
            stat = path.stat()
            created = datetime.fromtimestamp(stat.st_mtime, UTC)
            return {"name": name, "createdAt": created.isoformat(), "bytes": stat.st_size}
        with self.db.read() as s:
            row = s.get(SnapshotBlob, name)
            if row is None:
                return {"name": name, "createdAt": None, "bytes": None}
            return {"name": name, "createdAt": row.created_at.replace(tzinfo=UTC).isoformat(), "bytes": len(row.data)}

    # -- row dumps (PostgreSQL snapshots, tenant baselines) ----------------------------------
    def dump(self, s: Session, partner_id: str | None = None) -> dict[str, list[dict]]:
        """Every row (or one tenant's rows), read through the caller's session: a dump taken while
        provisioning sees the rows that transaction has just written."""
        tables = tenant_tables() if partner_id else state_tables()
        out: dict[str, list[dict]] = {}
        for table in tables:
            query = select(table)
            if partner_id:
                query = query.where(table.c.partner_id == partner_id)
            out[table.name] = [_encode(dict(r._mapping)) for r in s.execute(query)]
        return out

    def load(self, s: Session, dump: dict[str, list[dict]]) -> None:
        """Replace every state table's rows with a dump (inside the caller's exclusive transaction)."""
        self.db.wipe(s)
        for table in state_tables():
            rows = dump.get(table.name)
            if rows:
                s.execute(table.insert(), [_decode(table, r) for r in rows])
        if self.db.is_postgres:
            # rows came back with their ids: move each serial sequence past them
            for table in state_tables():
                for column in table.primary_key.columns:
                    if isinstance(column.type, Integer):
                        s.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{column.name}'), "
                                f'GREATEST((SELECT COALESCE(MAX("{column.name}"), 0) FROM "{table.name}"), 1))'
                            )
                        )

    def restore_tenant(self, s: Session, partner_id: str, baseline: dict[str, list[dict]]) -> None:
        for table in reversed(tenant_tables()):
            s.execute(table.delete().where(table.c.partner_id == partner_id))
        for table in tenant_tables():
            rows = baseline.get(table.name)
            if rows:
                s.execute(table.insert(), [_decode(table, r) for r in rows])
