"""The sandbox's core object: settings, store, clock and the domain services, wired once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
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
from enkash_sandbox.store.db import Database
from enkash_sandbox.store.state import BASELINE, StateStore

T = TypeVar("T")


def snapshot_folder(settings: Settings) -> Path | None:
    """Snapshots of a file store live beside it (<name>.snapshots/); a memory store keeps them in memory."""
    target = settings.database_target()
    if not target.startswith("sqlite:///"):
        return None
    path = Path(target[len("sqlite:///"):])
    return path.with_name(path.stem + ".snapshots")


class Sandbox:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.db = Database(self.settings.database_target(), seed=self.settings.seed)
        self.clock = Clock(load=lambda: self.db.get_meta("clock"), save=lambda v: self.db.set_meta("clock", v))
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
        self._catalog = None
        self._faker = None
        self._faker_lock = threading.Lock()
        self._reset_lock = threading.Lock()
        self._started = False
        self.state = StateStore(self.db, snapshot_folder(self.settings))
        self.on_state_change: list[Callable[[], None]] = []
        # set by the gateway middleware when an app is built around this core
        self.faults = None
        self.journal = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the store, adopt its seed, and seed the demo tenant the first time."""
        if self._started:
            return
        self._started = True
        self.db.create_all()
        stored = self.db.get_meta("seed")
        if stored is not None:
            # ids are a permutation keyed by the seed: continuing a store under another seed could collide
            self.db.seed = int(stored)
        else:
            self.db.set_meta("seed", str(self.db.seed))
        self.clock.reload()
        if self.db.get_meta("initialised") is None:
            self._initialise()

    def _initialise(self) -> None:
        """Seed a fresh store and remember that state as the baseline a reset returns to."""
        if self.settings.seed_demo:
            from enkash_sandbox.domain.seed import seed_demo

            creds = seed_demo(self)
            self.db.set_meta("demo", json.dumps(creds))
            self.tenants.save_baseline(creds["partnerId"])
        self.db.set_meta("initialised", "1")
        self.state.take(self._baseline_name())

    def _baseline_name(self) -> str:
        return f"{BASELINE}-{self.db.seed}"

    def reset(self, seed: int | None = None) -> dict:
        """Put the whole sandbox back to its freshly seeded state (optionally under a new seed)."""
        with self._reset_lock:
            if seed is not None and seed != self.db.seed:
                self.db.seed = seed
            if self.state.exists(self._baseline_name()):
                self.state.restore(self._baseline_name())
            else:
                with self.db.write() as s:
                    self.db.wipe(s)
                self.db.set_meta("seed", str(self.db.seed))
                self._initialise()
            self.after_state_change()
        return {"seed": self.db.seed, "demo": self.demo_credentials()}

    def after_state_change(self) -> None:
        """Forget everything cached from the store: it was replaced underneath us."""
        self.auth.clear_cache()
        self.clock.reload()
        for hook in self.on_state_change:
            hook()

    def demo_credentials(self) -> dict | None:
        raw = self.db.get_meta("demo")
        return json.loads(raw) if raw else None

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
        duplicate_reference=replay, answer with what the first request was answered."""
        try:
            return fn()
        except DuplicateReference as dup:
            if self.settings.duplicate_reference == "replay" and dup.first_response is not None:
                return dup.first_response
            raise
