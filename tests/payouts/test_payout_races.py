"""Payout races on real server processes: SQLite with one and two workers, PostgreSQL with two. Checked against
the test's own counts and sums, the ledger rows of each transfer, the webhook outbox and the audit.

- 100 concurrent transfers on a fund source holding money for 50: exactly 50 accepted.
- A transfer settles exactly once whichever worker, sweep, read or control call gets there first after a clock
  advance.
- A 1,000-transfer batch is placed in chunks: other requests are answered while it runs.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.testing.webhooks import WebhookReceiver

from tests.conftest import POSTGRES_URL, postgres_database
from tests.integrity.conftest import report
from tests.payouts.conftest import BALANCE, BATCH, TRANSFER
from tests.reliability.servers import ServerProcess

STORES = [("sqlite", 1), ("sqlite", 2)] + ([("postgresql", 2)] if POSTGRES_URL else [])


@pytest.fixture(scope="module", params=STORES, ids=lambda p: f"{p[0]}-{p[1]}w")
def server(request, tmp_path_factory):
    backend, workers = request.param
    if backend == "postgresql":
        env = {"ENKASH_SANDBOX_DATABASE_URL": postgres_database("payout_races")}
    else:
        env = {"ENKASH_SANDBOX_DB": str(tmp_path_factory.mktemp("payouts") / "sandbox.db")}
    with ServerProcess({**env, "ENKASH_SANDBOX_SEED_DEMO": "false"}, workers=workers) as proc:
        proc.label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
        yield proc


def together(calls: list, parties: int = 25) -> list:
    """Run the calls at once (the first wave behind a barrier)."""
    barrier = threading.Barrier(min(parties, len(calls)))

    def one(indexed):
        index, call = indexed
        if index < parties:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
        return call()

    with ThreadPoolExecutor(parties) as pool:
        return list(pool.map(one, enumerate(calls)))


def partner(server, creds) -> EnKashClient:
    client = EnKashClient.from_credentials(
        server.url, creds, http=httpx.Client(timeout=60, limits=httpx.Limits(max_connections=50))
    )
    client.access_token()
    return client


def test_a_hundred_concurrent_transfers_on_a_fund_source_funded_for_fifty(server):
    creds = server.provision()
    fund = creds["payoutFundSourceId"]
    with partner(server, creds) as client:
        # leave exactly ₹50: a NEFT transfer held in flight (magic PENDING) takes the rest
        status, held = client.request(
            "POST",
            TRANSFER,
            {
                "transactionId": "DRAIN",
                "beneficiaryId": "BENBANK001",
                "transferAmount": "999950.00",
                "transferMode": "NEFT",
                "transferRemark": "PENDING",
            },
            raw=True,
        )
        assert status == 200 and held["payoutStatus"] == "PROCESSING", held
        body = {"beneficiaryId": "BENBANK001", "transferAmount": "1.00", "transferMode": "IMPS"}
        answers = together(
            [
                lambda i=i: client.request("POST", TRANSFER, {**body, "transactionId": f"RACE{i:03d}"}, raw=True)
                for i in range(100)
            ]
        )
        assert {status for status, _ in answers} == {200}, answers[:3]
        statuses = [data["payoutStatus"] for _, data in answers]
        assert statuses.count("PROCESSING") == 50, statuses
        assert {data["reasonCode"] for _, data in answers if data["payoutStatus"] == "REJECTED"} == {"INSUFFICIENT_BALANCE"}
        status, balance = client.request("GET", BALANCE, params={"fundSourceId": fund}, raw=True)
        assert Decimal(str(balance["totalBalance"])) == 0
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    report(
        "100 transfers on 50",
        server,
        trials=1,
        detail=f"{statuses.count('PROCESSING')} accepted, {statuses.count('REJECTED')} rejected",
    )


def test_each_transfer_settles_exactly_once_whoever_triggers_it(server):
    creds = server.provision()
    fund = creds["payoutFundSourceId"]
    server.control("POST", "/clock", json={"action": "freeze"})
    try:
        with WebhookReceiver() as receiver, partner(server, creds) as client:
            server.control(
                "POST",
                "/webhooks",
                json={"partnerId": creds["partnerId"], "webhookUrl": receiver.url, "events": ["PAYOUT_SUCCESS", "PAYOUT_FAILED"]},
            )
            ids = [f"ONCE{i:03d}" for i in range(30)]
            # every third one fails at the bank (magic 1.11): its refund must happen once too
            amounts = {t: ("1.11" if i % 3 == 0 else "10.00") for i, t in enumerate(ids)}
            for t in ids:
                status, sent = client.request(
                    "POST", TRANSFER, {"transactionId": t, "beneficiaryId": "BENBANK001", "transferAmount": amounts[t]}, raw=True
                )
                assert status == 200 and sent["payoutStatus"] == "PROCESSING"
            server.control("POST", "/clock", json={"action": "advance", "seconds": 6})
            calls = []
            for i, t in enumerate(ids):
                calls.append(lambda t=t: client.request("GET", f"{TRANSFER}/{t}", raw=True)[0])
                calls.append(lambda: server.control_raw("POST", "/payouts/settle").status_code)
                if i % 3 == 0:
                    calls.append(lambda: client.request("GET", BALANCE, params={"fundSourceId": fund}, raw=True)[0])
                    calls.append(
                        lambda: (
                            server.control_raw("GET", "/payouts/transfers", params={"partner": creds["partnerId"]}).status_code
                        )
                    )
            assert set(together(calls, parties=30)) == {200}
            detail = server.control("GET", "/payouts/transfers", params={"partner": creds["partnerId"], "limit": 100})
            by_id = {d["transactionId"]: d for d in detail}
            failed = [t for t in ids if amounts[t] == "1.11"]
            for t in ids:
                one = server.control("GET", f"/payouts/transfers/{by_id[t]['enkashTransactionId']}")
                expected = "FAILED" if t in failed else "SUCCESS"
                assert one["payoutStatus"] == expected
                assert [s["status"] for s in one["timeline"]] == ["PROCESSING", expected], one["timeline"]
                types = [r["type"] for r in one["ledger"]]
                final = "PAYOUT_FAILURE_REFUND" if t in failed else "PAYOUT_SETTLED"
                assert types.count(final) == (2 if t in failed else 1) and types.count("PAYOUT_DEBIT") == 2, types
            deliveries = server.control("GET", "/webhooks/deliveries", params={"partnerId": creds["partnerId"], "limit": 500})
            events = [d.get("eventType") or d.get("event") for d in deliveries]
            assert events.count("PAYOUT_SUCCESS") == len(ids) - len(failed) and events.count("PAYOUT_FAILED") == len(failed), (
                events
            )
            status, balance = client.request("GET", BALANCE, params={"fundSourceId": fund}, raw=True)
            assert Decimal(str(balance["totalBalance"])) == Decimal("1000000.00") - 10 * (len(ids) - len(failed))
    finally:
        server.control("POST", "/clock", json={"action": "reset"})
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    report("settle once", server, trials=1, detail=f"{len(ids)} transfers, {len(calls)} racing triggers")


def test_a_thousand_transfer_batch_does_not_stall_other_requests(server):
    creds = server.provision()
    fund = creds["payoutFundSourceId"]
    with partner(server, creds) as client:
        transfers = [
            {"transactionId": f"BULK{i:04d}", "beneficiaryId": "BENBANK001", "transferAmount": "10.00"} for i in range(1000)
        ]
        done = threading.Event()
        result: dict = {}

        def run_batch() -> None:
            try:
                result["answer"] = client.request(
                    "POST", BATCH, {"batchTransactionId": "BULK1000", "transfers": transfers}, raw=True
                )
            finally:
                done.set()

        worker = threading.Thread(target=run_batch)
        worker.start()
        answered_meanwhile = 0
        others_sent = 0
        placing = False
        others = httpx.Client(timeout=60)
        try:
            while not done.is_set():
                # count only once the batch's first chunk is committed (a transfer answered before the batch reached
                # the server proves nothing)
                newest = others.get(
                    f"{server.url}/_sandbox/payouts/transfers", params={"partner": creds["partnerId"], "limit": 1}
                ).json()
                placing = placing or any(t["transactionId"].startswith("BULK") for t in newest)
                # a single transfer (a write: it must get in between the batch's chunks) and a control-plane read
                others_sent += 1
                status, sent = client.request(
                    "POST",
                    TRANSFER,
                    {"transactionId": f"OTHER{others_sent:04d}", "beneficiaryId": "BENBANK001", "transferAmount": "1.00"},
                    raw=True,
                )
                health = others.get(f"{server.url}/_sandbox/health")
                assert status == 200 and sent["payoutStatus"] == "PROCESSING" and health.status_code == 200, sent
                if placing and not done.is_set():
                    answered_meanwhile += 1
                time.sleep(0.01)
        finally:
            worker.join()
            others.close()
        status, answer = result["answer"]
        assert status == 200
        assert (
            len(answer["successfulPayoutTransactionCreateResponses"]) == 1000
            and answer["failedPayoutTransactionCreateResponses"] == []
        )
        # the batch is written in many short transactions: single transfers got in between them (a batch written
        # in one transaction, or on the event loop, would hold every one of them until it finished)
        assert answered_meanwhile >= 2, answered_meanwhile
        status, balance = client.request("GET", BALANCE, params={"fundSourceId": fund}, raw=True)
        assert Decimal(str(balance["totalBalance"])) == Decimal("1000000.00") - Decimal("10000.00") - others_sent
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    report("1,000 batch, others served", server, trials=1, detail=f"{answered_meanwhile} transfers answered meanwhile")
