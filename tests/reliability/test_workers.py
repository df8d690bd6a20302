"""Two worker processes sharing one store (SQLite WAL, and PostgreSQL when given): no overdraw, no double
movement, and a clean audit afterwards."""

from __future__ import annotations

import sys

import httpx
import pytest
from enkash_sandbox.client import EnKashClient

from tests.conftest import BACKENDS, postgres_database
from tests.parallel import fire
from tests.reliability.servers import ServerProcess

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    if request.param == "postgresql":
        env = {"ENKASH_SANDBOX_DATABASE_URL": postgres_database("workers")}
    else:
        env = {"ENKASH_SANDBOX_DB": str(tmp_path_factory.mktemp("workers") / "enkash_sandbox.db")}
    with ServerProcess({**env, "ENKASH_SANDBOX_SEED_DEMO": "false"}, workers=2) as proc:
        yield proc


def test_both_worker_processes_answer_before_any_race_starts(server):
    # ServerProcess.start waits for every worker's pid in the health check: the races below are run by two
    # processes, not by the first one up while the other is still importing
    assert len(server.pids) == 2 and server.proc.pid not in server.pids


def _listening_sockets(port: int) -> int:
    found = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            for line in list(fh)[1:]:
                local, state = line.split()[1], line.split()[3]
                found += int(local.rsplit(":", 1)[1], 16) == port and state == "0A"
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads connections on Linux only")
def test_each_worker_listens_on_its_own_socket_and_new_connections_reach_both(server):
    # one socket per worker (http/workers.py): the kernel spreads connections by address; a shared socket let
    # one worker take a whole burst of keep-alive connections
    assert _listening_sockets(server.port) == 2
    clients = [httpx.Client(base_url=server.url, timeout=10) for _ in range(24)]
    try:
        answered = {client.get("/_sandbox/health").json()["pid"] for client in clients}
    finally:
        for client in clients:
            client.close()
    assert answered == server.pids


def test_hundreds_of_debits_on_a_half_funded_card(server):
    # DR unloads are refused by default ("DR not allowed on this card"); the profile lets this tenant unload
    creds = server.provision(fundBalance=5000, profile={"balanceDebit": "allow"})
    ref = (creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"])
    with EnKashClient.from_credentials(server.url, creds) as c:
        card = c.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9100000001", firstName="W", loadAmount=1500)
    results = fire(server.url, creds, [lambda cl: cl.load(*ref, card["enKashCardId"], 10, transaction_type="DR")] * 300)
    assert results.count("ok") == 150
    assert set(results) - {"ok"} == {"Insufficient balance in card account"}
    with EnKashClient.from_credentials(server.url, creds) as c:
        assert c.search_cards(*ref, card["enKashCardId"])["otbBalance"] == 0
        assert c.card_account(*ref)["availableBalance"] == 5000
    assert server.audit()["discrepancies"] == []


def test_parallel_allocations_from_one_account(server):
    creds = server.provision(fundBalance=1000)
    ref = (creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"])

    def allocate(i):
        return lambda cl: cl.allocate_points(*ref, 30, reference=f"A-{i}", mobile=f"91000{i:05d}", firstName=f"U{i}")

    results = fire(server.url, creds, [allocate(i) for i in range(80)])
    assert results.count("ok") == 33
    with EnKashClient.from_credentials(server.url, creds) as c:
        stats = c.card_account(*ref)
    assert stats["availableBalance"] == 10 and stats["availableCardBalance"] == 990
    assert server.audit()["discrepancies"] == []


def test_one_reference_fifty_times_at_once(server):
    creds = server.provision()
    ref = (creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"])
    with EnKashClient.from_credentials(server.url, creds) as c:
        card = c.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9100000002", firstName="D")
    results = fire(server.url, creds, [lambda cl: cl.load(*ref, card["enKashCardId"], 7, reference="ONCE")] * 50, workers=25)
    assert results.count("ok") == 1
    assert all(r.startswith("Duplicate uniqueReferenceNumber") for r in results if r != "ok")
    with EnKashClient.from_credentials(server.url, creds) as c:
        assert c.search_cards(*ref, card["enKashCardId"])["otbBalance"] == 7
        assert c.transactions(*ref, pgReferenceNumber="ONCE")["recordsCount"] == 1
    assert server.audit()["discrepancies"] == []
