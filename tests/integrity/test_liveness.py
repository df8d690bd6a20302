"""The server keeps answering: no deadlock, no stall behind a long write, no slow client holding a
connection, no unbounded memory from unauthenticated bodies, and `:memory:` stores that work."""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox

from tests.reliability.servers import ServerProcess

CARD = "/api/v0/partner/enKashCard"
BULK = f"{CARD}/bulk-create-allocate-points-json"


def bulk_rows(n: int, prefix: str) -> list[dict]:
    return [
        {
            "title": "Mr",
            "name": f"Bulk Holder{i}",
            "email": f"{prefix.lower()}{i}@example.com",
            "mobile": f"9{i:09d}",
            "loadAmount": 1,
            "uniqueReferenceNumber": f"{prefix}-{i}",
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {
        "ENKASH_SANDBOX_DB": str(tmp_path_factory.mktemp("liveness") / "sandbox.db"),
        "ENKASH_SANDBOX_SEED_DEMO": "false",
        "ENKASH_SANDBOX_HEADER_TIMEOUT_SECONDS": "2",
    }
    with ServerProcess(env) as proc:
        yield proc


def start_bulk(server, creds: dict, rows: int) -> tuple[threading.Thread, dict]:
    ref = {
        "companyId": creds["companyId"],
        "cardAccountId": creds["cardAccounts"]["EMPLOYEE_REWARDS"],
        "isPointsAllocation": "true",
    }
    outcome: dict = {}

    def run():
        with EnKashClient.from_credentials(server.url, creds, timeout=300) as c:
            started = time.perf_counter()
            outcome["result"] = c.payload(BULK, bulk_rows(rows, "LIVE"), params=ref)
            outcome["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_clock_change_during_a_long_bulk_does_not_deadlock(server):
    """Before: the clock change took the clock lock then the write lock, the bulk held the write lock and
    asked for the clock: the process hung for good, health included."""
    creds = server.provision(fundBalance=100_000)
    thread, outcome = start_bulk(server, creds, 10_000)
    time.sleep(0.5)
    for seconds in (60, 120, -180):
        r = httpx.post(f"{server.url}/_sandbox/clock", json={"action": "advance", "seconds": seconds}, timeout=30)
        assert r.status_code == 200
        assert httpx.get(f"{server.url}/_sandbox/health", timeout=5).status_code == 200
    thread.join(timeout=180)
    assert not thread.is_alive(), "the bulk never finished"
    assert outcome["result"]["successCount"] == 10_000
    assert server.audit()["discrepancies"] == []


def test_others_keep_their_latency_during_a_10000_row_bulk(server):
    """Health and another tenant's one-row write while a 10,000-row bulk runs. Before: the loop blocked on the
    write lock (health 5.4-7.6 s, the one-row write 5.5 s). The targets (health p99 <= 100 ms, one-row write
    <= 500 ms) are measured in bench/run.py; here the bounds only catch a stall, on a shared machine."""
    bulk_creds = server.provision(fundBalance=100_000)
    other = server.provision(fundBalance=100_000)
    ref = (other["companyId"], other["cardAccounts"]["EMPLOYEE_REWARDS"])
    with EnKashClient.from_credentials(server.url, other) as c:
        c.access_token()
        thread, outcome = start_bulk(server, bulk_creds, 10_000)
        health, writes = [], []
        with httpx.Client(base_url=server.url, timeout=30) as http:
            n = 0
            while thread.is_alive():
                started = time.perf_counter()
                assert http.get("/_sandbox/health").status_code == 200
                health.append(time.perf_counter() - started)
                if n % 5 == 0:
                    started = time.perf_counter()
                    c.allocate_points(*ref, 1, reference=f"ONE-{n}", mobile="9800000001", firstName="Other")
                    writes.append(time.perf_counter() - started)
                n += 1
                time.sleep(0.02)
        thread.join()
    assert outcome["result"]["successCount"] == 10_000
    assert len(health) >= 10 and writes, "the bulk finished before anything was measured"
    p99 = sorted(health)[max(0, int(len(health) * 0.99) - 1)]
    print(
        f"during a {outcome['seconds']:.1f} s bulk: health p50 {statistics.median(health) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms; one-row write max {max(writes) * 1000:.0f} ms over {len(writes)}"
    )
    assert p99 < 1.0 and max(writes) < 2.5


def test_a_slow_client_is_disconnected(server):
    """Headers trickling in one byte a second: the connection is closed after the header timeout (2 s here)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        started = time.monotonic()
        request = b"GET /_sandbox/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40
        closed = False
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
                time.sleep(0.25)
                sock.setblocking(False)
                try:
                    if sock.recv(1) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed, "the server kept a trickling connection open"
        assert time.monotonic() - started < 6


def rss_mb(pid: int) -> float:
    total = 0.0
    for child in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{child}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            pass
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


def test_unauthenticated_large_bodies_do_not_grow_memory(server):
    """30 posts of 16 MiB to the bulk route without a token: refused at 1 MiB, nothing kept."""
    before = rss_mb(server.pid)
    chunk = b"x" * (1024 * 1024)
    for _ in range(30):
        try:
            r = httpx.post(
                f"{server.url}{BULK}", content=iter([chunk] * 16), timeout=30, headers={"Content-Type": "application/json"}
            )
            assert r.status_code in (401, 413)
        except httpx.HTTPError:
            pass  # the server may close the connection after answering 413 mid-upload
    growth = rss_mb(server.pid) - before
    print(f"RSS growth after 30 x 16 MiB unauthenticated posts: {growth:.1f} MB")
    assert growth < 150
    journal = httpx.get(f"{server.url}/_sandbox/requests", params={"path": BULK, "limit": 50}).json()
    assert all(e.get("requestBody") is None or len(str(e["requestBody"])) < 70_000 for e in journal)


def test_a_memory_store_serves_writes(tmp_path):
    """Before: every write answered 500 ("cannot start a transaction within a transaction")."""
    with LiveSandbox(Settings(db=":memory:", seed_demo=False)) as live:
        creds = live.provision()
        ref = (creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"])
        with EnKashClient.from_credentials(live.url, creds) as c:
            results = []

            def write(i):
                card = c.create_card(companyId=ref[0], cardAccountId=ref[1], mobile=f"98765{i:05d}", loadAmount=5)
                results.append(card["otbBalance"])

            threads = [threading.Thread(target=write, args=(i,)) for i in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert results == [5] * 10
        folder = os.path.dirname(live.container.url[len("sqlite:///") :])
        assert os.path.isdir(folder)
