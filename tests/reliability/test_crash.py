"""kill -9 under write load, then restart on the same store: every answered success is still there, and
the audit is clean. Repeated with several seeds (each picks a different moment to kill)."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest
from enkash_sandbox.client import EnKashClient, EnKashError

from tests.reliability.servers import ServerProcess


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_under_write_load_loses_nothing_answered(tmp_path, seed):
    rng = random.Random(seed)
    env = {"ENKASH_SANDBOX_DB": str(tmp_path / "enkash_sandbox.db"), "ENKASH_SANDBOX_SEED_DEMO": "false"}
    server = ServerProcess(env).start()
    creds = server.provision(fundBalance=1_000_000)
    ref = (creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"])
    with EnKashClient.from_credentials(server.url, creds) as c:
        card = c.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9200000009", firstName="Crash")
    answered: list[str] = []
    stop = threading.Event()

    def writer(worker: int):
        with EnKashClient.from_credentials(server.url, creds, timeout=5) as c:
            n = 0
            while not stop.is_set():
                reference = f"K{seed}-{worker}-{n}"
                n += 1
                try:
                    c.load(*ref, card["enKashCardId"], 1, reference=reference)
                    answered.append(reference)
                except (EnKashError, httpx.HTTPError):
                    return  # the server died under us

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(rng.uniform(0.3, 1.2))
    server.kill()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert answered, "the load never got going"

    server = ServerProcess(env).start()
    try:
        with EnKashClient.from_credentials(server.url, creds) as c:
            found = sum(
                c.transactions(*ref, enKashCardId=card["enKashCardId"], pgReferenceNumbers=answered[i : i + 500])["recordsCount"]
                for i in range(0, len(answered), 500)
            )
            assert found == len(answered)
            balance = c.search_cards(*ref, card["enKashCardId"])["otbBalance"]
            assert balance >= len(answered)  # a write may commit and die before it answers; none is lost
        audit = server.audit()
        assert audit["discrepancies"] == [], audit
    finally:
        server.stop()
