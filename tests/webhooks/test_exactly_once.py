"""Exactly once per (event, subscription) with two worker processes on one store, SQLite and PostgreSQL: both
processes' deliverers poll the same outbox, and every event reaches every subscribed receiver once — counted
at the receivers by event id, against the test's own count of the loads that succeeded. Some first attempts
fail (HTTP 500) so that retries, claimed again after the clock moves, are in the mix."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.testing.webhooks import WebhookReceiver

from tests.conftest import BACKENDS, postgres_database
from tests.integrity.conftest import report
from tests.reliability.servers import ServerProcess

LOADS = 120
CARDS = 4
FAILED_FIRST_ATTEMPTS = 10


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    env = {"ENKASH_SANDBOX_WEBHOOK_TIMEOUT_SECONDS": "2"}
    if request.param == "postgresql":
        env["ENKASH_SANDBOX_DATABASE_URL"] = postgres_database("wh_once")
    else:
        env["ENKASH_SANDBOX_DB"] = str(tmp_path_factory.mktemp("webhooks-once") / "sandbox.db")
    with ServerProcess(env, workers=2) as proc:
        proc.label = f"{request.param}, 2 workers"  # type: ignore[attr-defined]
        yield proc


def test_every_event_reaches_every_subscription_exactly_once(server):
    creds = server.provision(fundBalance=1_000_000)
    company, account = creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"]
    with WebhookReceiver() as first, WebhookReceiver() as second, EnKashClient.from_credentials(server.url, creds) as partner:
        first.answer_with(*[500] * FAILED_FIRST_ATTEMPTS)
        first.subscribe(partner, ["CARD_LOADED"])
        second.subscribe(partner, ["CARD_LOADED", "CARD_STATUS_CHANGED"])
        cards = [
            partner.create_card(companyId=company, cardAccountId=account, mobile=f"99{i:08d}", firstName="Once")["enKashCardId"]
            for i in range(CARDS)
        ]
        clients = [EnKashClient.from_credentials(server.url, creds) for _ in range(8)]
        try:

            def load(i: int) -> str:
                c = clients[i % len(clients)]
                return c.load(company, account, cards[i % CARDS], "1.01", reference=f"ONCE-{i}")["enkashCardTxnId"]

            with ThreadPoolExecutor(16) as pool:
                loaded = set(pool.map(load, range(LOADS)))
        finally:
            for c in clients:
                c.close()
        assert len(loaded) == LOADS  # the test's own count: every load succeeded, each its own transaction

        deadline = time.monotonic() + 60
        while not (len({d.event_id for d in first.events()}) >= LOADS and len({d.event_id for d in second.events()}) >= LOADS):
            if time.monotonic() > deadline:
                got = [len({d.event_id for d in r.events()}) for r in (first, second)]
                raise AssertionError(f"delivered {got[0]} and {got[1]} of {LOADS} events")
            # the failed first attempts are due again 30 s later on the sandbox clock
            server.control("POST", "/clock", json={"action": "advance", "seconds": 60})
            time.sleep(0.3)
        time.sleep(1.5)  # several more polls of both processes: a duplicate would arrive now

        for receiver in (first, second):
            counts = Counter(d.event_id for d in receiver.events())
            assert len(counts) == LOADS and set(counts.values()) == {1}, [e for e, n in counts.items() if n > 1]
            assert {d.payload["transactionId"] for d in receiver.events()} == loaded
            # each payload tells its own load: the amounts add up to the test's own sum, exactly
            assert sum(d.payload["amount"] for d in receiver.events()) == Decimal("1.01") * LOADS
            assert all(d.verified for d in receiver.events())
        # the failed attempts were answered 500 and retried: one extra request each, no more
        assert len(first.received) == LOADS + FAILED_FIRST_ATTEMPTS
        assert len(second.received) == LOADS

        deliveries = partner.webhook_deliveries(limit=1000)
        assert len(deliveries) == 2 * LOADS
        assert Counter(d["status"] for d in deliveries) == {"DELIVERED": 2 * LOADS}
        assert sorted(d["attempts"] for d in deliveries).count(2) == FAILED_FIRST_ATTEMPTS
        assert len({(d["eventId"], d["subscriptionId"]) for d in deliveries}) == 2 * LOADS
        server.control("POST", "/clock", json={"action": "reset"})
    # the ledger and the outbox agree (webhook_event_money: every CARD_LOADED payload against its transaction)
    audit = server.control("GET", "/audit", params={"partnerId": creds["partnerId"]})
    assert audit["ok"], audit["discrepancies"][:5]
    report("webhooks-exactly-once", server, trials=1, detail=f"{LOADS} events x 2 subscriptions, {FAILED_FIRST_ATTEMPTS} retried")
