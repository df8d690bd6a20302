"""The claim itself, deterministically: two deliverers on one store (each with its own Database, so on SQLite
its own flock like a separate process) claiming the same due rows at once never both get one; a lease that ran
out is claimed again; an outcome recorded under a claim that was lost (expired lease, reset, restore) changes
nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from enkash_sandbox.clock import utcnow_real
from enkash_sandbox.config import Settings
from enkash_sandbox.container import build
from enkash_sandbox.ledger.audit import webhook_findings
from enkash_sandbox.products.webhooks.deliverer import Deliverer, Outcome
from enkash_sandbox.products.webhooks.outbox import emit
from enkash_sandbox.store.engine import Database
from enkash_sandbox.store.sql import Sql

from tests.conftest import BACKENDS, postgres_database

ROWS = 150


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request, tmp_path_factory):
    if request.param == "postgresql":
        settings = Settings(database_url=postgres_database("wh_claims"), seed_demo=False, webhook_deliverer=False)
    else:
        settings = Settings(db=str(tmp_path_factory.mktemp("claims") / "s.db"), seed_demo=False, webhook_deliverer=False)
    container = build(settings)
    container.start()
    yield container
    container.close()


def second_process(container) -> Deliverer:
    """A deliverer with a Database of its own: its own connections and (SQLite) its own flock descriptor."""
    db = Database(container.url, seed=container.db.seed)
    return Deliverer(db, container.clock, container.control, container.settings)


def queue(container, partner_id: str, sub_id: str, n: int) -> list[str]:
    with container.db.tx(write=True) as tx:
        return [
            emit(container.db, tx, container.clock.now(), partner_id=partner_id, event_type="PAYOUT_SUCCESS", payload={"n": i})
            for i in range(n)
        ]


@pytest.fixture
def subscription(sandbox):
    partner = sandbox.tenants.provision(encryption="off", fund_balance=0, name=None)
    sub = sandbox.webhooks.create(
        partner["partnerId"],
        url="http://127.0.0.1:9/nowhere",
        events=["PAYOUT_SUCCESS"],
        headers={},
        enabled=True,
        ssl_certificate=None,
        company_id=None,
        sign=True,
    )
    return partner["partnerId"], sub["id"]


def test_two_claimants_never_claim_the_same_row(sandbox, subscription):
    a, b = Deliverer(sandbox.db, sandbox.clock, sandbox.control, sandbox.settings), second_process(sandbox)
    try:
        for _ in range(3):
            queue(sandbox, *subscription, ROWS)
            barrier = threading.Barrier(2)
            claimed: dict[str, list[int]] = {}

            def run(name: str, deliverer: Deliverer, barrier: threading.Barrier, claimed: dict[str, list[int]]) -> None:
                barrier.wait()
                claimed[name] = [c.delivery_id for c in deliverer.claim(ROWS)]

            threads = [threading.Thread(target=run, args=(*pair, barrier, claimed)) for pair in (("a", a), ("b", b))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not set(claimed["a"]) & set(claimed["b"])
            assert len(claimed["a"]) + len(claimed["b"]) == ROWS
    finally:
        b.db.dispose()


def test_an_expired_lease_is_claimed_again_and_the_late_outcome_changes_nothing(sandbox, subscription):
    a = Deliverer(sandbox.db, sandbox.clock, sandbox.control, sandbox.settings)
    (event_id,) = queue(sandbox, *subscription, 1)
    (first,) = [c for c in a.claim(ROWS) if c.event_id == event_id]
    assert first.attempt == 1
    assert [c for c in a.claim(ROWS) if c.event_id == event_id] == []  # a live lease: nobody else gets it
    with sandbox.db.tx(write=True) as tx:  # the claimant died: its lease runs out
        tx.run(
            Sql("UPDATE webhook_delivery SET claimed_until = :past WHERE id = :id"),
            {"past": tx.ts(utcnow_real() - timedelta(seconds=1)), "id": first.delivery_id},
        )
    (second,) = [c for c in a.claim(ROWS) if c.event_id == event_id]
    assert second.delivery_id == first.delivery_id and second.attempt == 2 and second.token != first.token
    assert a.record(first, Outcome(200, 1.0, "late", None)) is False  # the lost claim records nothing
    assert a.record(second, Outcome(200, 1.0, "ok", None)) is True
    with sandbox.db.read() as s:
        assert webhook_findings(s) == []


def test_a_lost_claim_shows_in_the_findings(sandbox, subscription):
    a = Deliverer(sandbox.db, sandbox.clock, sandbox.control, sandbox.settings)
    (event_id,) = queue(sandbox, *subscription, 1)
    (claim,) = [c for c in a.claim(ROWS) if c.event_id == event_id]
    with sandbox.db.tx(write=True) as tx:
        tx.run(
            Sql("UPDATE webhook_delivery SET claimed_until = :past WHERE id = :id"),
            {"past": tx.ts(utcnow_real() - timedelta(hours=1)), "id": claim.delivery_id},
        )
    with sandbox.db.read() as s:
        findings = webhook_findings(s, stale_after_seconds=60)
    assert [(f["check"], f["deliveryId"]) for f in findings] == [("webhook_lease", claim.delivery_id)]
    assert a.record(claim, Outcome(None, 1.0, None, "connection refused")) is True  # its holder can still finish
