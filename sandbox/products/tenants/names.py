"""Seeded fake names and places for the demo data and new tenants (Faker, en_IN).

Faker is imported on first use: it costs a large share of start-up time and most runs never need it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enkash_sandbox.store.engine import Database


# person: first_name/last_name; address: city/state; company: company (seed.py, tenants/service.py)
PROVIDERS = ["faker.providers.person", "faker.providers.address", "faker.providers.company"]


class Names:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._faker: Any = None
        self._lock = threading.Lock()

    def faker(self, salt: str) -> Any:
        """A Faker re-seeded from the store's seed and a salt: the same seed gives the same names."""
        with self._lock:
            if self._faker is None:
                from faker import Faker

                # only the providers the sandbox asks for (the same names for the same seed as with all of
                # them: the random stream is the seeded instance's own), which saves loading the rest
                self._faker = Faker("en_IN", providers=PROVIDERS)
            self._faker.seed_instance(f"{self.db.seed}:{salt}")
            return self._faker
