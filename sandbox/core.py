"""The sandbox's core object: settings, store, clock, control state and the domain services, wired once."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from enkash_sandbox import jsonio
from enkash_sandbox.clock import Clock
from enkash_sandbox.config import Settings
from enkash_sandbox.domain.accounts import AccountService
from enkash_sandbox.domain.audit import AuditService
from enkash_sandbox.domain.auth import AuthService
from enkash_sandbox.domain.cards import CardService
from enkash_sandbox.domain.coins import CoinService
from enkash_sandbox.domain.dashboard import DashboardService
from enkash_sandbox.domain.enums import DEFAULT_ACCOUNT_TYPES
from enkash_sandbox.domain.ledger import DuplicateReference, Ledger
from enkash_sandbox.domain.lifecycle import LifecycleService
from enkash_sandbox.domain.otp import OtpService
from enkash_sandbox.domain.portal import PortalService
from enkash_sandbox.domain.redemption import RedemptionService
from enkash_sandbox.domain.rewards import RewardService
from enkash_sandbox.domain.tenants import TenantService
from enkash_sandbox.domain.transactions import TransactionService
from enkash_sandbox.middleware.faults import FaultEngine
from enkash_sandbox.middleware.journal import Journal
from enkash_sandbox.ops import Ops
from enkash_sandbox.store.control import ControlStore
from enkash_sandbox.store.db import Database
from enkash_sandbox.store.models import StoreSecret
from enkash_sandbox.store.state import BASELINE, StateStore
from enkash_sandbox.work import Work
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import SQLModel

T = TypeVar("T")
log = logging.getLogger("enkash_sandbox")
# the PostgreSQL advisory lock that serialises first-time set-up between replicas starting together
INIT_LOCK_KEY = 0x454E4B494E4954  # "ENKINIT"


def sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///") else None


def schema_fingerprint(engine) -> str:
    """A hash of the DDL of every table and index: a store made by another version has another one."""
    parts = []
    for table in SQLModel.metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=engine.dialect)))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            parts.append(str(CreateIndex(index).compile(dialect=engine.dialect)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class Sandbox:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.url = self.settings.database_target()
        self.db = Database(self.url, seed=self.settings.seed)
        self.clock = Clock()
        path = sqlite_path(self.url)
        self.control = ControlStore(self.db, self.clock, path.with_name(path.name + "-control") if path else None)
        self.db.before_session = self.control.before_session
        self.state = StateStore(self.db, path.with_name(path.stem + ".snapshots") if path else None, self.control)
        self.work = Work(write_threads=1 if self.db.is_sqlite else 16)
        self.default_account_types = DEFAULT_ACCOUNT_TYPES
        self.ledger = Ledger(self)
        self.auth = AuthService(self)
        self.tenants = TenantService(self)
        self.accounts = AccountService(self)
        self.cards = CardService(self)
        self.transactions = TransactionService(self)
        self.otp = OtpService(self)
        self.lifecycle = LifecycleService(self)
        self.rewards = RewardService(self)
        self.coins = CoinService(self)
        self.portal = PortalService(self)
        self.redemption = RedemptionService(self)
        self.dashboard = DashboardService(self)
        self.audit = AuditService(self)
        self.faults = FaultEngine(self)
        self.journal = Journal(self.settings.journal_size, self.settings.journal_max_bytes)
        # every cache of store data, dropped together when another process replaced the state
        self.control.register(self.auth)
        self.control.register(self.faults)
        self._catalog = None
        self._faker = None
        self._faker_lock = threading.Lock()
        self._reset_lock = threading.Lock()
        self._started = False
        self._csrf: str | None = None
        self.ops = Ops(self)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the store (set it up the first time), adopt its control state, seed the demo tenant once."""
        if self._started:
            return
        self._started = True
        with self._setup_lock():
            self._check_schema()
            self.db.create_all()
            self.control.ensure_row(self.settings.seed)
            if self.db.get_meta("schema") is None:
                self.db.set_meta("schema", schema_fingerprint(self.db.engine))
            if self.db.get_meta("initialised") is None:
                self._initialise()

    @contextmanager
    def _setup_lock(self) -> Iterator[None]:
        """Two processes opening one new store at once (compose replicas, a CLI and a worker) set it up once."""
        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_name(path.name + "-setup.lock"), "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
            return
        with self.db.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": INIT_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": INIT_LOCK_KEY})
                conn.commit()

    def _check_schema(self) -> None:
        """A store written by another version of the sandbox is set aside (SQLite) or rebuilt, with a warning,
        rather than failing on the first request that touches a changed table."""
        tables = set(inspect(self.db.engine).get_table_names())
        if "meta" not in tables:
            return
        with self.db.engine.connect() as conn:
            row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema'")).first()
        if row is not None and row[0] == schema_fingerprint(self.db.engine):
            return
        path = sqlite_path(self.url)
        if path is not None:
            self.db.dispose()
            aside = path.with_name(f"{path.name}.older-version-{time.strftime('%Y%m%d%H%M%S')}")
            os.replace(path, aside)
            for suffix in ("-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            log.warning("the store %s was made by another version of the sandbox; it was moved to %s and a new "
                        "one is seeded", path, aside)
            return
        log.warning("the store was made by another version of the sandbox; its tables are dropped and re-created")
        SQLModel.metadata.drop_all(self.db.engine)

    def _initialise(self) -> None:
        """Seed a fresh store and remember that state as the baseline a reset returns to."""
        if self.settings.seed_demo:
            from enkash_sandbox.domain.seed import seed_demo

            creds = seed_demo(self)
            self.db.set_meta("demo", json.dumps(creds))
        self.db.set_meta("initialised", "1")
        self.state.take(self.baseline_name(self.db.seed), reserved_ok=True)

    @staticmethod
    def baseline_name(seed: int) -> str:
        return f"{BASELINE}-{seed}"

    def reset(self, seed: int | None = None) -> dict:
        """Put the whole sandbox back to its freshly seeded state (optionally under a new seed). Store-wide:
        every worker sees the reset state from its next request on."""
        with self._reset_lock:
            target = self.db.seed if seed is None else seed
            name = self.baseline_name(target)
            if self.state.exists(name):
                self.state.restore(name, reserved_ok=True, adopt_seed=True)
            else:
                with self.db.write(exclusive=True) as s:
                    self.db.wipe(s)
                    s.execute(text("INSERT INTO control_state (id, epoch, seed, faults_version, clock_offset_us) "
                                   "VALUES (1, :epoch, :seed, 0, 0)"), {"epoch": os.urandom(8).hex(), "seed": target})
                self.db.create_all()
                self.control.published()
                self.db.set_meta("schema", schema_fingerprint(self.db.engine))
                self._initialise()
        return {"seed": self.db.seed, "demo": self.demo_credentials()}

    def csrf_token(self) -> str:
        """The token every dashboard form carries: an HMAC of a secret kept in the store (the same for every
        worker and across resets), made once."""
        if self._csrf is None:
            try:
                with self.db.write() as s:
                    row = s.get(StoreSecret, "csrf")
                    if row is None:
                        row = StoreSecret(name="csrf", value=secrets.token_hex(32))
                        s.add(row)
                    key = row.value
            except IntegrityError:  # another worker made it first
                with self.db.read() as s:
                    key = s.get(StoreSecret, "csrf").value
            self._csrf = hmac.new(key.encode(), b"enkash-sandbox dashboard forms", hashlib.sha256).hexdigest()
        return self._csrf

    def invalidate(self) -> None:
        """Forget everything cached from the store in this process."""
        self.control.invalidate_caches()

    def demo_credentials(self) -> dict | None:
        raw = self.db.get_meta("demo")
        return json.loads(raw) if raw else None

    def close(self) -> None:
        self.work.shutdown()
        self.db.dispose()

    @property
    def catalog(self):
        """The voucher catalog, parsed on first use (keeps start-up fast)."""
        if self._catalog is None:
            from enkash_sandbox.domain.catalog import Catalog

            self._catalog = Catalog.load(self.settings.fixtures_dir)
        return self._catalog

    # -- helpers the services share ---------------------------------------------------------
    def faker(self, salt: str):
        """A Faker for en_IN, re-seeded from the sandbox seed and a salt (imported lazily: it is slow)."""
        with self._faker_lock:
            if self._faker is None:
                from faker import Faker

                self._faker = Faker("en_IN")
            self._faker.seed_instance(f"{self.db.seed}:{salt}")
            return self._faker

    @staticmethod
    def jsonable(obj):
        return jsonio.loads(jsonio.dumps(obj))

    def with_replay(self, fn: Callable[[], T]) -> T:
        """Run a money movement; on a duplicate reference either fail (default) or, with
        duplicate_reference=replay, answer with what the first request was answered.

        A movement that lost a race to a unique index (two first allocations to one new holder, say, on
        PostgreSQL where writers run concurrently) is run once more: it then finds what the winner made."""
        try:
            try:
                return fn()
            except IntegrityError:
                return fn()
        except DuplicateReference as dup:
            if self.settings.duplicate_reference == "replay" and dup.first_response is not None:
                return dup.first_response
            raise
