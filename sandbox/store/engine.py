"""The database: engine, pragmas, and the two ways in — read() and write().

Concurrency model (docs/ARCHITECTURE.md, "Concurrency model"):
- write() serialises writers of one process with an in-process lock (threads queue instead of spinning on
  SQLite's busy handler) and starts `BEGIN IMMEDIATE` on SQLite, so worker processes sharing the file queue
  on the database lock before they read anything they will write back. On PostgreSQL writers run
  concurrently; every balance or status change is a guarded UPDATE or happens under a row lock.
- On PostgreSQL every session holds the store lock in shared mode (a transaction-scoped advisory lock);
  replacing the whole state (reset, restore, tenant reset) takes it exclusively, so a request either runs
  before the replacement or after it, never across it. SQLite gets the same from its single writer and
  WAL snapshots.
- Every session starts by asking `before_session` (the control state) whether the clock, the fault rules or
  the epoch changed in another process, so whichever worker answers sees the same sandbox.
- Nothing here waits on the event loop: routers hand store work to worker threads (`enkash_sandbox.work`), except
  SQLite point reads and non-blocking short writes, which cannot wait (work.py).
"""

from __future__ import annotations

import contextlib
import contextvars
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from enkash_sandbox import ids
from enkash_sandbox.store import tables  # also registers every table on SQLModel.metadata
from enkash_sandbox.store.sql import Sql, Tx
from enkash_sandbox.store.tables import Meta
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, Row, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlmodel import Session, SQLModel, create_engine

_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("immediate", default=False)
_on_loop: contextvars.ContextVar[bool] = contextvars.ContextVar("on_loop", default=False)
_NO_LOCK = contextlib.nullcontext()
BUSY_TIMEOUT_MS = 30000
# PostgreSQL: a pooled connection unused for this long is pinged before it is handed out
PING_AFTER_IDLE_SECONDS = 10.0
# PostgreSQL: the store lock (shared) and the control state in one round trip at the start of a transaction
_LOCK_AND_CONTROL = (
    "SELECT pg_advisory_xact_lock_shared(%s), epoch, seed, faults_version, clock_offset_us, clock_frozen_at "
    "FROM control_state WHERE id = 1"
)
_CONTROL = "SELECT NULL, epoch, seed, faults_version, clock_offset_us, clock_frozen_at FROM control_state WHERE id = 1"


class WouldBlock(Exception):
    """A non-blocking write found a lock taken; nothing was done."""


# the PostgreSQL advisory lock key of "the store's state" (any 64-bit number, fixed for the project)
STORE_LOCK_KEY = 0x454E4B534258  # "ENKSBX"
_META = Sql("SELECT value FROM meta WHERE key = :key")
_SEQUENCE_KINDS = Sql("SELECT kind FROM id_sequence")
_NEW_SEQUENCE = Sql("INSERT INTO id_sequence (kind, next_value) VALUES (:kind, 0)")
# reserves `count` values of a kind (the ledger composes it into a movement's statement on PostgreSQL)
MINT = Sql("UPDATE id_sequence SET next_value = next_value + :count WHERE kind = :kind RETURNING next_value")


def sequence_kinds() -> set[str]:
    """Every id counter a store has (one row each in id_sequence)."""
    return set(ids.KINDS) | {"tenant", "checkout"}


class Database:
    def __init__(self, url: str, *, seed: int = 42):
        self.url = url
        self.seed = seed
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        # SQLite: the right to write (_writer): this lock in the process, an flock across processes (its
        # descriptor opened on first use in each process); nesting is counted per thread (_writer)
        self._write_lock = threading.Lock()
        self._lock_file_fd: int | None = None
        self._lock_file_pid = 0
        self._local = threading.local()
        self._checkpointer: Checkpointer | None = None
        self._loop_fairy: Any = None
        # SQLite: the event loop's own connection for the point reads it runs itself (Work.lookup), kept open and
        # used by nothing else; None while one of them is using it (a read nested in it takes a pooled one)
        self._loop_reader: Any = None
        self._loop_reader_busy = False
        # SQLite: the thread running a group of short writes in one transaction (run_group), and how deep its
        # savepoints are; every transaction that thread opens meanwhile is a savepoint in the group's
        self._group_thread: int | None = None
        self._group_depth = 0
        # set by the sandbox: refreshes the control state at the start of every session (SQLite: a stat() of
        # the signal file); on PostgreSQL every session and transaction reads the control row with its store
        # lock and hands it to `on_control_row`
        self.before_session: Callable[[Session], None] | None = None
        self.on_control_row: Callable[[Sequence[Any]], None] | None = None
        if self.is_sqlite:
            # enough pooled connections for every worker thread: an overflow connection is opened (and its
            # PRAGMAs run) per checkout, which under load cost more than the query itself
            self.engine: Engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=48, max_overflow=16, pool_timeout=60
            )
            self._install_sqlite_hooks()
        else:
            tables.use_postgresql()  # the partial indexes' PostgreSQL predicates, before any DDL
            # no pre-ping on every checkout (a round trip each, two per request): a connection idle for a
            # while is pinged instead (_ping_if_idle), which catches a restarted server just the same
            self.engine = create_engine(url, pool_size=12, max_overflow=12, pool_timeout=60)
            self._install_postgres_hooks()

    def _install_sqlite_hooks(self) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:  # pragma: no cover - exercised on every connect
            # let SQLAlchemy's "begin" event, not pysqlite, decide how transactions start
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode syncs the WAL only when it is checkpointed: a commit is in the operating
            # system's hands when it returns, so it survives the process being killed (the crash test kills
            # servers under load); only an OS crash or power loss could lose the last commits
            cur.execute("PRAGMA synchronous=NORMAL")
            # no checkpoint inside a request's commit (they took 15-66 ms every ~65 writes): the
            # Checkpointer thread runs them in the background
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")

    def _install_postgres_hooks(self) -> None:
        @event.listens_for(self.engine, "checkin")
        def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
            record.info["used"] = time.monotonic()

        @event.listens_for(self.engine, "checkout")
        def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            if time.monotonic() - record.info.get("used", 0.0) < PING_AFTER_IDLE_SECONDS:
                return
            try:
                with dbapi_conn.cursor() as cursor:
                    cursor.execute("SELECT 1")
                dbapi_conn.rollback()
            except Exception as exc:  # the server went away: the pool replaces the connection and retries
                raise DisconnectionError() from exc

    # -- lifecycle -------------------------------------------------------------------------
    def create_all(self) -> None:
        SQLModel.metadata.create_all(self.engine)
        self._ensure_sequences()

    def _ensure_sequences(self) -> None:
        """One counter row per kind, made up front so that concurrent first uses only ever UPDATE it. Prebuilt
        SQL: on an existing store this was the start's first use of the ORM, which configures every mapper
        (tens of milliseconds that the first request needing the ORM now pays instead)."""
        with self.tx(write=False) as tx:
            missing = sorted(sequence_kinds() - {row[0] for row in tx.all(_SEQUENCE_KINDS)})
        if not missing:
            return
        try:
            with self.tx(write=True) as tx:
                tx.many(_NEW_SEQUENCE, [{"kind": kind} for kind in missing])
        except IntegrityError:  # another process made them first
            pass

    def dispose(self) -> None:
        if self._lock_file_fd is not None and self._lock_file_pid == os.getpid():
            os.close(self._lock_file_fd)
            self._lock_file_fd = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._loop_fairy is not None:
            self._loop_fairy.close()
            self._loop_fairy = None
        if self._loop_reader is not None:
            self._loop_reader.close()
            self._loop_reader = None
        self.engine.dispose()

    def start_checkpointer(self, interval: float = 0.5) -> None:
        """SQLite: checkpoint the WAL in the background (PASSIVE: never waits for readers or writers)."""
        if self.is_sqlite and self._checkpointer is None:
            self._checkpointer = Checkpointer(self, interval)
            self._checkpointer.start()

    # -- sessions --------------------------------------------------------------------------
    @property
    def in_write(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    @contextmanager
    def write(self, *, exclusive: bool = False) -> Iterator[Session]:
        """One short write transaction: commits on success, rolls back on any exception.

        exclusive=True is for operations that replace the whole state: on PostgreSQL it waits for every
        running session to finish and holds every new one back until it commits."""
        with self._writer(blocking=True):
            token = _immediate.set(True)
            self._local.depth = getattr(self._local, "depth", 0) + 1
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    try:
                        self._start(session, exclusive=exclusive)
                        yield session
                        session.commit()
                    except BaseException:
                        session.rollback()
                        raise
            finally:
                self._local.depth -= 1
                _immediate.reset(token)

    @contextmanager
    def read(self, *, snapshot: bool = False) -> Iterator[Session]:
        """A read session. snapshot=True makes every statement in it see one committed state, on PostgreSQL too
        (REPEATABLE READ; its default, READ COMMITTED, lets each statement see commits that landed in between),
        for readers that compare several queries with each other, like the audit. SQLite reads are snapshots
        anyway (BEGIN, WAL)."""
        # a read nested in a write (the clock, say) must not ask for the write lock its caller holds
        token = _immediate.set(False)
        try:
            # close() (not rollback()) ends the read: objects stay loaded for the caller to render
            with Session(self.engine, expire_on_commit=False) as session:
                if snapshot and self.is_postgres:
                    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                self._start(session, exclusive=False)
                yield session
        finally:
            _immediate.reset(token)

    def _start(self, session: Session, *, exclusive: bool) -> None:
        if self.is_postgres:
            if exclusive:
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORE_LOCK_KEY})
                self._adopt(session.connection().exec_driver_sql(_CONTROL).first())
            else:
                self._adopt(session.connection().exec_driver_sql(_LOCK_AND_CONTROL, (STORE_LOCK_KEY,)).first())
        elif self.before_session is not None:
            self.before_session(session)

    def _adopt(self, row: Sequence[Any] | None) -> None:
        if row is not None and self.on_control_row is not None:
            self.on_control_row(row)

    def read_control(self) -> None:
        """PostgreSQL: adopt the control row now, in one round trip (an autocommit statement: no BEGIN, no
        COMMIT, no lock — one statement sees one committed state)."""
        fairy = self.engine.raw_connection()
        try:
            conn = fairy.driver_connection
            assert conn is not None  # a freshly checked-out connection always has its DBAPI connection
            conn.autocommit = True
            try:
                with conn.cursor() as cursor:
                    cursor.execute(_CONTROL)
                    self._adopt(cursor.fetchone())
            finally:
                conn.autocommit = False
        except BaseException:
            fairy.invalidate()
            raise
        finally:
            fairy.close()

    @contextmanager
    def tx(self, *, write: bool, one_statement: bool = False) -> Iterator[Tx]:
        """A transaction on a pooled DBAPI connection for prebuilt SQL (store/sql.py), under the same locks as
        write()/read(): the process's write lock and BEGIN IMMEDIATE on SQLite for a write, the store lock in
        shared mode on PostgreSQL for either.

        Inside `run_group` (the short writes the event loop runs itself, work.py) it is a savepoint of the
        group's transaction instead; inside `on_loop()` a read uses the loop's reader connection.

        one_statement=True is for a read whose answer is one statement (anything after it, on a failure path,
        need not agree with it): on SQLite it runs without BEGIN and COMMIT, as a statement is a snapshot of
        its own; they were half of the statements of a card search."""
        if self._group_thread is not None and self._group_thread == threading.get_ident():
            with self._savepoint(write=write) as tx:
                yield tx
            return
        # a point read the loop runs itself uses the loop's reader connection: a pool checkout and check-in
        # cost about as much as the read (measured: 9 % of a card search)
        loop_read = not write and _on_loop.get() and not self._loop_reader_busy
        with self._writer(blocking=True) if write else _NO_LOCK:
            if loop_read:
                fairy = self._loop_reader_connection()
                self._loop_reader_busy = True
            else:
                fairy = self.engine.raw_connection()
            conn = fairy.driver_connection
            assert conn is not None  # a freshly checked-out connection always has its DBAPI connection
            cursor = conn.cursor()
            if write:
                self._local.depth = getattr(self._local, "depth", 0) + 1
            # SQLite, one statement: no BEGIN/COMMIT (the connection is in autocommit mode: _on_connect)
            bare = one_statement and not write and self.is_sqlite
            try:
                if self.is_postgres:
                    cursor.execute(_LOCK_AND_CONTROL, (STORE_LOCK_KEY,))
                    self._adopt(cursor.fetchone())
                elif not bare:
                    cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield Tx(cursor, self.is_postgres)
                if self.is_postgres:
                    conn.commit()
                elif not bare:
                    cursor.execute("COMMIT")
            except BaseException:
                try:
                    if self.is_sqlite:
                        if conn.in_transaction:
                            cursor.execute("ROLLBACK")
                    else:
                        conn.rollback()
                except Exception:  # the connection died with the error: the pool discards it
                    fairy.invalidate()
                    if loop_read:
                        self._loop_reader = None
                raise
            finally:
                if write:
                    self._local.depth -= 1
                cursor.close()
                if loop_read:
                    self._loop_reader_busy = False
                else:
                    fairy.close()

    def _loop_connection(self) -> Any:
        if self._loop_fairy is None:
            fairy = self.engine.raw_connection()
            driver = fairy.driver_connection
            assert driver is not None  # a freshly checked-out connection always has its DBAPI connection
            driver.execute("PRAGMA busy_timeout=0")
            self._loop_fairy = fairy
        return self._loop_fairy

    def run_group(self, calls: Sequence[Callable[[], Any]]) -> list[tuple[bool, Any]]:
        """SQLite: run short writes (each a callable that opens its own `tx`) in ONE transaction, each inside a
        savepoint of its own, and commit once: [(True, result) | (False, exception)] in order. Never waits: if
        the right to write is taken (this process's writer thread, another worker) it raises WouldBlock before
        doing anything.

        Each call sees what the calls before it wrote, as if they had committed one after the other; a call
        that fails is rolled back to its savepoint and the others go on. A commit costs about as much as the
        statements of a card load (the WAL frames of every page it changed), so a group of loads pays it once
        (Work.write_now). If the commit itself fails, every call of the group fails with its error."""
        outcomes: list[tuple[bool, Any]] = []
        with self._writer(blocking=False):
            fairy = self._loop_connection()
            conn = fairy.driver_connection
            assert conn is not None  # a freshly checked-out connection always has its DBAPI connection
            cursor = conn.cursor()
            self._begin_now(cursor)
            self._group_thread, self._group_depth = threading.get_ident(), 0
            try:
                for call in calls:
                    try:
                        outcomes.append((True, call()))
                    except Exception as exc:  # rolled back to its savepoint by the tx it raised in
                        outcomes.append((False, exc))
                cursor.execute("COMMIT")
            except BaseException:
                try:
                    if conn.in_transaction:
                        cursor.execute("ROLLBACK")
                except Exception:  # the connection died with the error: the pool discards it
                    fairy.invalidate()
                    self._loop_fairy = None
                raise
            finally:
                self._group_thread = None
                cursor.close()
        return outcomes

    @contextmanager
    def _savepoint(self, *, write: bool) -> Iterator[Tx]:
        """A transaction opened inside run_group: a savepoint on the group's connection (reads too, so that they
        see what the group wrote so far)."""
        assert self._loop_fairy is not None  # run_group holds it
        cursor = self._loop_fairy.driver_connection.cursor()
        name = f"grouped_{self._group_depth}"
        self._group_depth += 1
        if write:
            self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            cursor.execute(f"SAVEPOINT {name}")
            yield Tx(cursor, False)
            cursor.execute(f"RELEASE {name}")
        except BaseException:
            cursor.execute(f"ROLLBACK TO {name}")
            cursor.execute(f"RELEASE {name}")
            raise
        finally:
            self._group_depth -= 1
            if write:
                self._local.depth -= 1
            cursor.close()

    def _loop_reader_connection(self) -> Any:
        if self._loop_reader is None:
            self._loop_reader = self.engine.raw_connection()
        return self._loop_reader

    @staticmethod
    @contextmanager
    def on_loop() -> Iterator[None]:
        """Mark the reads inside as the event loop's own (Work.lookup on SQLite): they use its reader connection."""
        token = _on_loop.set(True)
        try:
            yield
        finally:
            _on_loop.reset(token)

    @staticmethod
    def _begin_now(cursor: Any) -> None:
        """BEGIN IMMEDIATE on the loop's connection, which has no busy handler: another process holding the
        database's write lock makes it fail at once (WouldBlock) instead of waiting."""
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise WouldBlock() from None
            raise

    def tx_of(self, session: Session, *, flush: bool = True) -> Tx:
        """Prebuilt SQL inside an ORM session's transaction (pending ORM changes are flushed first)."""
        if flush:
            session.flush()
        dbapi = session.connection().connection.driver_connection
        assert dbapi is not None  # the session's connection is checked out, so it has its DBAPI connection
        return Tx(dbapi.cursor(), self.is_postgres)

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the store's writer lock without opening a session (whole-store copies)."""
        with self._writer(blocking=True):
            yield

    @contextmanager
    def _writer(self, *, blocking: bool) -> Iterator[None]:
        """The right to write, on SQLite: this process's lock (threads queue on it instead of spinning on
        SQLite's busy handler), then the store's across processes — an flock on `<db>-writelock` that every
        writer takes before BEGIN IMMEDIATE. The kernel wakes the next worker process the moment the lock is
        released; SQLite's own busy handler would poll it with sleeps of up to 100 ms (measured: 2 workers
        wrote less than 1 did, p99 0.4-0.5 s). The flock only orders writers: SQLite's locks still guard the
        data if anything writes without it. PostgreSQL needs neither (row locks and guarded updates).

        A thread that holds the right already (a write nested in a write) just goes on. blocking=False raises
        WouldBlock at once if either lock is taken (the loop's inline writes)."""
        if not self.is_sqlite:
            yield
            return
        depth = getattr(self._local, "writer_depth", 0)
        if depth:
            self._local.writer_depth = depth + 1
            try:
                yield
            finally:
                self._local.writer_depth = depth
            return
        self.acquire_writer(blocking=blocking)
        with self.holding_writer():
            yield

    def acquire_writer(self, *, blocking: bool = True) -> None:
        """Take the right to write (see `_writer`); `holding_writer()` then runs as its holder."""
        if not self._write_lock.acquire(blocking=blocking):
            raise WouldBlock()
        try:
            fcntl.flock(self._lock_fd(), fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BaseException as exc:
            self._write_lock.release()
            if isinstance(exc, BlockingIOError):
                raise WouldBlock() from None
            raise

    def release_writer(self) -> None:
        fcntl.flock(self._lock_fd(), fcntl.LOCK_UN)
        self._write_lock.release()

    @contextmanager
    def holding_writer(self) -> Iterator[None]:
        """Run as the holder of the right to write taken by `acquire_writer`; released on the way out."""
        self._local.writer_depth = 1
        try:
            yield
        finally:
            self._local.writer_depth = 0
            self.release_writer()

    def _lock_fd(self) -> int:
        if self._lock_file_fd is None or self._lock_file_pid != os.getpid():
            database = make_url(self.url).database
            path = f"{database}-writelock" if database and database != ":memory:" else os.devnull
            self._lock_file_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_file_pid = os.getpid()
        return self._lock_file_fd

    @contextmanager
    def raw_sqlite(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection's underlying sqlite3.Connection, outside any transaction."""
        fairy = self.engine.raw_connection()
        try:
            conn = fairy.driver_connection
            assert conn is not None  # a freshly checked-out connection always has its DBAPI connection
            yield conn
        finally:
            fairy.close()

    # -- ids -------------------------------------------------------------------------------
    def next_ids(self, session: Session, kind: str, count: int = 1) -> list[int]:
        """Reserve `count` consecutive counter values of a kind inside the caller's ORM transaction, with the same
        guarded statement prebuilt SQL uses (so the two can never hand out one value twice)."""
        start = self.mint(self.tx_of(session, flush=False), kind, count)
        return list(range(start, start + count))

    def new_id(self, session: Session, kind: str) -> str:
        return ids.format_id(self.seed, kind, self.next_ids(session, kind)[0])

    def mint(self, tx: Tx, kind: str, count: int = 1) -> int:
        """Reserve `count` consecutive counter values of a kind in a prebuilt-SQL transaction; the first one.
        (One guarded statement: on PostgreSQL it row-locks the counter until commit.)"""
        row = tx.one(MINT, {"kind": kind, "count": count})
        assert row is not None, f"no id counter for {kind}"
        return int(row[0]) - count

    def new_ids(self, session: Session, kind: str, count: int) -> list[str]:
        return [ids.format_id(self.seed, kind, n) for n in self.next_ids(session, kind, count)]

    # -- meta ------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        # prebuilt SQL, not a session: a reset reads two of these, and a session's set-up cost more than the read
        with self.tx(write=False) as tx:
            row = tx.one(_META, {"key": key})
        return str(row[0]) if row is not None else None

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as s:
            row = s.get(Meta, key)
            if row is None:
                s.add(Meta(key=key, value=value))
            else:
                row.value = value

    # -- wiping ----------------------------------------------------------------------------
    def wipe(self, session: Session, *, keep: frozenset[str] = frozenset()) -> None:
        """Delete every row of every table (children first), except tables that survive a reset. Tables are
        read from the metadata, so a table added later is covered without anyone remembering to add it."""
        for table in reversed(SQLModel.metadata.sorted_tables):
            if table.name not in keep and not table.info.get("survives_reset"):
                session.execute(table.delete())

    def table_names(self) -> list[str]:
        return [t.name for t in SQLModel.metadata.sorted_tables]

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    def raw(self, sql: str, **params: Any) -> Sequence[Row[Any]]:
        with self.read() as s:
            return s.execute(text(sql), params).all()


class Checkpointer(threading.Thread):
    """Copies the WAL back into the database file off the request path. PASSIVE checkpoints take no lock a
    request waits for; the WAL file is reused from its start once a checkpoint has caught up."""

    def __init__(self, db: Database, interval: float) -> None:
        super().__init__(name="enkash-checkpoint", daemon=True)
        self.db = db
        self.interval = interval
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.db.raw_sqlite() as conn:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # a store being replaced or closed: the next round tries again
                continue

    def stop(self) -> None:
        self._stop.set()
