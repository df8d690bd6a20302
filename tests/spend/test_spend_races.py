"""Concurrent authorizations on one card: never more approved than the card holds, on SQLite with one and two
worker processes and on PostgreSQL with two — checked against the test's own count and the audit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest
from enkash_sandbox.client import EnKashClient

from tests.conftest import POSTGRES_URL, postgres_database
from tests.integrity.conftest import report
from tests.reliability.servers import ServerProcess
from tests.spend.conftest import CHANNELS_ON

STORES = [("sqlite", 1), ("sqlite", 2)] + ([("postgresql", 2)] if POSTGRES_URL else [])


@pytest.fixture(scope="module", params=STORES, ids=lambda p: f"{p[0]}-{p[1]}w")
def server(request, tmp_path_factory):
    backend, workers = request.param
    if backend == "postgresql":
        env = {"ENKASH_SANDBOX_DATABASE_URL": postgres_database("spend_races")}
    else:
        env = {"ENKASH_SANDBOX_DB": str(tmp_path_factory.mktemp("spend") / "sandbox.db")}
    with ServerProcess(env, workers=workers) as proc:
        proc.label = f"{backend}, {workers} worker{'s' if workers > 1 else ''}"
        yield proc


def burst(url: str, path: str, bodies: list[dict], parties: int = 25) -> list[httpx.Response]:
    """Fire the calls together (the first wave behind a barrier), each on its own connection."""
    barrier = threading.Barrier(parties)

    def one(indexed):
        index, body = indexed
        if index < parties:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
        return httpx.post(f"{url}{path}", json=body, timeout=60)

    with ThreadPoolExecutor(parties) as pool:
        return list(pool.map(one, enumerate(bodies)))


def funded_card(server, creds: dict, amount: int, mobile: str) -> str:
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["GIFT"]}
    with EnKashClient.from_credentials(server.url, creds) as partner:
        card = partner.create_card(**ref, mobile=mobile, firstName="Race", loadAmount=amount)["enKashCardId"]
        partner.velocity(ref["companyId"], ref["cardAccountId"], [card], **CHANNELS_ON)
    return card


def test_a_hundred_concurrent_authorizations_on_a_card_funded_for_fifty(server):
    creds = server.provision(fundBalance=10_000)
    card = funded_card(server, creds, 50, "9300000001")
    answers = burst(server.url, f"/_sandbox/cards/{card}/authorize", [{"amount": 1, "channel": "POS"}] * 100)
    assert all(a.status_code == 200 for a in answers), {a.status_code for a in answers}
    decisions = [a.json()["status"] for a in answers]
    approved = decisions.count("APPROVED")
    assert approved == 50, decisions
    assert {tuple(a.json()["declineReasons"]) for a in answers if a.json()["status"] == "DECLINED"} == {("INSUFFICIENT_BALANCE",)}
    balance = Decimal(str(server.control("GET", f"/cards/{card}/authorizations")["authorizations"][0]["otbBalance"]))
    assert balance == 0
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    report("100 auths on 50", server, trials=1, detail=f"{approved} approved, {100 - approved} declined")


def test_concurrent_holds_clears_and_reversals_keep_every_rupee_in_one_place(server):
    """Holds placed, then cleared and reversed at once from many threads (each twice): each authorization is
    settled by exactly one of its racing calls; the card ends with what the test's own sums say."""
    creds = server.provision(fundBalance=10_000)
    card = funded_card(server, creds, 1000, "9300000002")
    holds = burst(server.url, f"/_sandbox/cards/{card}/authorize", [{"amount": 20, "capture": False}] * 30, parties=15)
    ids = [h.json()["transactionId"] for h in holds if h.json()["status"] == "APPROVED"]
    assert len(ids) == 30
    # every hold gets a clear and a reverse racing each other; exactly one of the two wins
    calls = []
    for i, txn in enumerate(ids):
        calls.append((f"/_sandbox/transactions/{txn}/clear", {"amount": 15}))
        calls.append((f"/_sandbox/transactions/{txn}/reverse", {}))
        if i % 2:
            calls.reverse()
    barrier = threading.Barrier(20)

    def one(indexed):
        index, (path, body) = indexed
        if index < 20:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
        return path, httpx.post(f"{server.url}{path}", json=body, timeout=60)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, enumerate(calls)))
    assert {r.status_code for _, r in results} <= {200, 409}, [r.text for _, r in results if r.status_code not in (200, 409)]
    cleared = sum(1 for path, r in results if r.status_code == 200 and path.endswith("/clear"))
    reversed_ = sum(1 for path, r in results if r.status_code == 200 and path.endswith("/reverse"))
    assert cleared + reversed_ == 30
    spent = server.control("GET", f"/cards/{card}/authorizations?limit=100")
    assert Decimal(str(spent["authorizations"][0]["otbBalance"])) == 1000 - 15 * cleared
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    report("hold clear vs reverse", server, trials=1, detail=f"30 holds, {cleared} cleared, {reversed_} reversed")


def test_concurrent_refunds_and_increments_never_pass_their_bounds(server):
    """20 refunds of ₹10 racing on a ₹100 sale: exactly 10 succeed; 20 increments of ₹10 racing on a hold with ₹50
    left on the card: exactly 5 succeed. Checked against the test's own sums and the audit."""
    creds = server.provision(fundBalance=10_000)
    card = funded_card(server, creds, 150, "9300000003")
    sale = httpx.post(f"{server.url}/_sandbox/cards/{card}/authorize", json={"amount": 100}, timeout=60).json()
    refunds = burst(server.url, f"/_sandbox/transactions/{sale['transactionId']}/refund", [{"amount": 10}] * 20, parties=20)
    assert {r.status_code for r in refunds} <= {200, 409, 422}
    refunded = sum(1 for r in refunds if r.status_code == 200)
    assert refunded == 10, [r.text for r in refunds if r.status_code != 200][:3]
    # the card now holds 150 - 100 + 100 = 150; a hold of 100 leaves 50 for increments
    hold = httpx.post(f"{server.url}/_sandbox/cards/{card}/authorize", json={"amount": 100, "capture": False}, timeout=60).json()
    grown = burst(server.url, f"/_sandbox/transactions/{hold['transactionId']}/increment", [{"amount": 10}] * 20, parties=20)
    incremented = sum(1 for r in grown if r.status_code == 200)
    assert incremented == 5 and {r.status_code for r in grown} <= {200, 422}
    state = server.control("GET", f"/transactions/{hold['transactionId']}")
    assert Decimal(str(state["heldAmount"])) == 100 + 10 * incremented and Decimal(str(state["otbBalance"])) == 0
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    report("refunds / increments race", server, trials=1, detail=f"{refunded} of 20 refunds, {incremented} of 20 increments")
