"""The composition root: one function builds everything the sandbox is made of, each part given its real
collaborators in its constructor. Nothing is late-bound; routers get services through FastAPI dependencies
(`products/deps.py`) that read this container from the app.

The container also owns the store's lifecycle: opening it (set up once, even by replicas starting together),
the first seeding, and the store-wide reset.
"""

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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enkash_sandbox.clock import Clock
from enkash_sandbox.config import Settings
from enkash_sandbox.faults.engine import FaultEngine
from enkash_sandbox.http.journal import Journal
from enkash_sandbox.ledger.audit import AuditService
from enkash_sandbox.ledger.movements import Ledger
from enkash_sandbox.ledger.payouts import PayoutLedger
from enkash_sandbox.ops.actions import Ops
from enkash_sandbox.ops.dashboard import DashboardService
from enkash_sandbox.products.auth.service import AuthService
from enkash_sandbox.products.cards.accounts import AccountService
from enkash_sandbox.products.cards.service import CardService
from enkash_sandbox.products.cards.transactions import TransactionService
from enkash_sandbox.products.coins.service import CoinService
from enkash_sandbox.products.lifecycle.otp import OtpService
from enkash_sandbox.products.lifecycle.service import LifecycleService
from enkash_sandbox.products.marketplace.catalog import CatalogSource
from enkash_sandbox.products.marketplace.service import RedemptionService
from enkash_sandbox.products.payouts.service import PayoutService, Sweeper
from enkash_sandbox.products.rewards.portal import PortalService
from enkash_sandbox.products.rewards.service import RewardService
from enkash_sandbox.products.spend.service import SpendService
from enkash_sandbox.products.tenants.names import Names
from enkash_sandbox.products.tenants.seed import seed_demo
from enkash_sandbox.products.tenants.service import TenantService
from enkash_sandbox.products.webhooks.deliverer import Deliverer
from enkash_sandbox.products.webhooks.service import WebhookService
from enkash_sandbox.store.control import ControlStore
from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.snapshots import BASELINE, StateStore
from enkash_sandbox.store.tables import StoreSecret
from enkash_sandbox.work import Work
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import SQLModel

log = logging.getLogger("enkash_sandbox")
# the PostgreSQL advisory lock that serialises first-time set-up between replicas starting together
INIT_LOCK_KEY = 0x454E4B494E4954  # "ENKINIT"
# meta key: the seed a plain reset returns to (Container.home_seed)
HOME_SEED = "home_seed"


def sqlite_path(url: str) -> Path | None:
    return Path(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else None


def schema_fingerprint(engine: Engine) -> str:
    """A hash of the DDL of every table and index: a store made by another version has another one."""
    parts = []
    for table in SQLModel.metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=engine.dialect)))
        for index in sorted(table.indexes, key=lambda i: i.name or ""):
            parts.append(str(CreateIndex(index).compile(dialect=engine.dialect)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


@dataclass
class Container:
    settings: Settings
    url: str
    db: Database
    clock: Clock
    control: ControlStore
    state: StateStore
    work: Work
    names: Names
    catalog: CatalogSource
    ledger: Ledger
    auth: AuthService
    accounts: AccountService
    cards: CardService
    transactions: TransactionService
    otp: OtpService
    lifecycle: LifecycleService
    tenants: TenantService
    rewards: RewardService
    coins: CoinService
    marketplace: RedemptionService
    spend: SpendService
    portal: PortalService
    audit: AuditService
    faults: FaultEngine
    journal: Journal
    webhooks: WebhookService
    deliverer: Deliverer
    payouts: PayoutService
    payout_sweeper: Sweeper
    dashboard: DashboardService = field(init=False)
    ops: Ops = field(init=False)
    _reset_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _started: bool = field(default=False, init=False, repr=False)
    _csrf: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # the control layer sees the whole sandbox; nothing below it does
        self.dashboard = DashboardService(self)
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
            if self.db.get_meta(HOME_SEED) is None:
                self.db.set_meta(HOME_SEED, str(self.db.seed))
        self.db.start_checkpointer()

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
            log.warning(
                "the store %s was made by another version of the sandbox; it was moved to %s and a new one is seeded", path, aside
            )
            return
        log.warning("the store was made by another version of the sandbox; its tables are dropped and re-created")
        SQLModel.metadata.drop_all(self.db.engine)

    def _initialise(self) -> None:
        """Seed a fresh store and remember that state as the baseline a reset returns to."""
        if self.settings.seed_demo:
            creds = seed_demo(self.tenants)
            self.db.set_meta("demo", json.dumps(creds))
        self.db.set_meta("initialised", "1")
        self.state.take(self.baseline_name(self.db.seed), reserved_ok=True)

    @staticmethod
    def baseline_name(seed: int) -> str:
        return f"{BASELINE}-{seed}"

    def home_seed(self) -> int:
        """The seed a plain reset returns to: the store's first seed, until a reset with keep_seed replaces it.
        Kept in `meta` and written again after every reset and restore, which copy a whole state over it."""
        raw = self.db.get_meta(HOME_SEED)
        return int(raw) if raw is not None else self.db.seed

    def keep_home_seed(self, home: int) -> None:
        self.db.set_meta(HOME_SEED, str(home))

    def reset(self, seed: int | None = None, *, keep_seed: bool = False) -> dict[str, Any]:
        """Put the whole sandbox back to its freshly seeded state (optionally under another seed). Store-wide:
        every worker sees the reset state from its next request on. Another seed applies to this reset only
        (a plain reset goes back to the home seed, so the banner's ids stay right) unless keep_seed makes it
        the new home."""
        with self._reset_lock:
            home = self.home_seed()
            target = home if seed is None else seed
            name = self.baseline_name(target)
            home = target if keep_seed else home
            if self.state.exists(name):
                # the home seed is written with the copy (the baseline predates it)
                self.state.restore(name, reserved_ok=True, adopt_seed=True, meta={HOME_SEED: str(home)})
            else:
                with self.db.write(exclusive=True) as s:
                    self.db.wipe(s)
                    s.execute(
                        text(
                            "INSERT INTO control_state (id, epoch, seed, faults_version, clock_offset_us) "
                            "VALUES (1, :epoch, :seed, 0, 0)"
                        ),
                        {"epoch": os.urandom(8).hex(), "seed": target},
                    )
                self.db.create_all()
                self.control.published()
                self.db.set_meta("schema", schema_fingerprint(self.db.engine))
                self._initialise()
                self.keep_home_seed(home)
        return {"seed": self.db.seed, "homeSeed": home, "demo": self.demo_credentials()}

    def invalidate(self) -> None:
        """Forget everything cached from the store in this process."""
        self.control.invalidate_caches()

    def demo_credentials(self) -> dict[str, Any] | None:
        raw = self.db.get_meta("demo")
        return json.loads(raw) if raw else None

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
                    stored = s.get(StoreSecret, "csrf")
                    assert stored is not None
                    key = stored.value
            self._csrf = hmac.new(key.encode(), b"enkash-sandbox dashboard forms", hashlib.sha256).hexdigest()
        return self._csrf

    def close(self) -> None:
        self.deliverer.stop()
        self.payout_sweeper.stop()
        self.work.shutdown()
        self.db.dispose()


def build(settings: Settings | None = None) -> Container:
    """Build the sandbox: every part once, with its collaborators, in dependency order."""
    settings = settings or Settings()
    url = settings.database_target()
    db = Database(url, seed=settings.seed)
    clock = Clock()
    path = sqlite_path(url)
    control = ControlStore(db, clock, path.with_name(path.name + "-control") if path else None)
    db.before_session = control.before_session
    db.on_control_row = control.adopt_row
    state = StateStore(db, path.with_name(path.stem + ".snapshots") if path else None, control)
    work = Work(write_threads=1 if db.is_sqlite else 8, store=db)
    names = Names(db)
    catalog = CatalogSource(settings.fixtures_dir)
    ledger = Ledger(db, clock)
    auth = AuthService(db, clock, settings)
    accounts = AccountService(db, clock)
    cards = CardService(db, clock, settings, ledger)
    otp = OtpService(db, clock, settings)
    marketplace = RedemptionService(db, clock, settings, ledger, catalog)
    spend = SpendService(db, clock, settings, ledger)
    payouts = PayoutService(db, clock, settings, PayoutLedger(db))
    faults = FaultEngine(db, clock, control, settings)
    container = Container(
        settings=settings,
        url=url,
        db=db,
        clock=clock,
        control=control,
        state=state,
        work=work,
        names=names,
        catalog=catalog,
        ledger=ledger,
        auth=auth,
        accounts=accounts,
        cards=cards,
        transactions=TransactionService(db, spend.expire_due),
        otp=otp,
        lifecycle=LifecycleService(db, clock, settings, ledger, cards, otp),
        tenants=TenantService(db, clock, settings, ledger, cards, accounts, control, state, names, payouts),
        rewards=RewardService(db, settings, ledger, cards, auth, work),
        coins=CoinService(db, clock),
        marketplace=marketplace,
        spend=spend,
        portal=PortalService(db, auth, accounts, marketplace, catalog),
        audit=AuditService(db),
        faults=faults,
        journal=Journal(settings.journal_size, settings.journal_max_bytes),
        webhooks=WebhookService(db, clock),
        # started by the app in every worker process (app.py), not here: the CLI's master process builds a
        # container too, and must not deliver
        deliverer=Deliverer(db, clock, control, settings, faults),
        payouts=payouts,
        # started by the app in every worker process, like the deliverer
        payout_sweeper=Sweeper(payouts, control),
    )
    # every cache of store data, dropped together when another process replaced the state (the Resettable
    # registry: the one hook reset and restore have)
    control.register(auth)
    control.register(container.faults)
    return container
