"""Races on the webhook control writes, with two worker processes on one store (SQLite, and PostgreSQL when a
server is given): registrations of one tenant made at once through EnKash's Webhook Data API and the control
plane, updates racing deletes of the same subscription, a delete racing redeliveries of its deliveries, and one
delivery redelivered many times at once.

Each is checked against the test's own expectations — how many subscriptions exist, which write won, how many
attempts each accepted redelivery made — and against what reached a local receiver, counted by delivery id;
then the audit must be clean. The failures they guard against were seen on PostgreSQL before the fix: an update
racing a delete re-enabled the deleted subscription (so it was sent events again), a redelivery racing a
delete queued a delivery of the deleted subscription, two deletes both answered 200, and concurrent
redeliveries of one delivery were all accepted but coalesced into fewer attempts.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.testing.webhooks import WebhookReceiver

from tests.conftest import BACKENDS, postgres_database
from tests.integrity.conftest import report
from tests.reliability.servers import ServerProcess

TRIALS = 3
EVENT = "PAYOUT_SUCCESS"


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory) -> Iterator[ServerProcess]:
    env = {"ENKASH_SANDBOX_WEBHOOK_TIMEOUT_SECONDS": "2"}
    if request.param == "postgresql":
        env["ENKASH_SANDBOX_DATABASE_URL"] = postgres_database("wh_control")
    else:
        env["ENKASH_SANDBOX_DB"] = str(tmp_path_factory.mktemp("webhook-control") / "sandbox.db")
    with ServerProcess(env, workers=2) as proc:
        proc.label = f"{request.param}, 2 workers"  # type: ignore[attr-defined]
        yield proc


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once (behind a barrier), each on its own thread; their results in order."""
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait(timeout=10)
        except threading.BrokenBarrierError:
            pass
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, calls))


def control(server: ServerProcess, method: str, path: str, body: Any = None) -> httpx.Response:
    """A control-plane call on a connection of its own (so racing calls reach either worker)."""
    return httpx.request(method, f"{server.url}/_sandbox{path}", json=body, timeout=60)


def subscribe(server: ServerProcess, partner: str, url: str) -> str:
    answer = control(server, "POST", "/webhooks", {"partnerId": partner, "webhookUrl": url, "events": [EVENT]})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def fire(server: ServerProcess, partner: str) -> httpx.Response:
    return control(server, "POST", "/webhooks/fire", {"partnerId": partner, "event": EVENT})


def deliveries(server: ServerProcess, **filters: str) -> list[dict]:
    answer = control(server, "GET", "/webhooks/deliveries?" + str(httpx.QueryParams({**filters, "limit": 1000})))
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def wait_until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def settled(server: ServerProcess, **filters: str) -> list[dict]:
    """The deliveries once none is queued or being sent any more."""
    return list(
        wait_until(
            lambda: (found := deliveries(server, **filters))
            and all(d["status"] not in ("PENDING", "DELIVERING") for d in found)
            and found,
            "the deliveries to settle",
        )
    )


def received(receiver: WebhookReceiver) -> Counter[str | None]:
    """What reached the receiver (answered 2xx), counted by delivery id."""
    return Counter(d.delivery_id for d in receiver.events())


def successes(delivery: dict) -> int:
    return sum(1 for a in delivery["attemptLog"] if a["statusCode"] is not None and 200 <= a["statusCode"] < 300)


def assert_clean(server: ServerProcess, partner: str) -> None:
    assert server.audit(partner)["discrepancies"] == []


def test_concurrent_registrations_each_add_exactly_one_subscription(server, receiver):
    """20 registrations at once, half through POST /api/v0/webhook-data and half through the control plane, half
    of them for one webhookUrl: every call adds one registration (nothing merged, nothing lost), and one event
    then reaches each of the 20 exactly once."""
    total = 0
    for trial in range(TRIALS):
        receiver.received.clear()
        creds = server.provision()
        partner = creds["partnerId"]
        partners = [EnKashClient.from_credentials(server.url, creds) for _ in range(5)]
        try:
            for c in partners:
                c.access_token()
            same = f"{receiver.url}/same-{trial}"
            calls: list[Callable[[], Any]] = []
            for i in range(20):
                url = same if i % 2 == 0 else f"{receiver.url}/own-{trial}-{i}"
                if i % 4 < 2:
                    calls.append(lambda c=partners[i % 5], u=url: c.register_webhook(u, [EVENT])["webhookId"])
                else:
                    calls.append(lambda u=url: subscribe(server, partner, u))
            ids = together(calls)
            assert len(set(ids)) == 20, ids
            listed = partners[0].webhook_registrations()
            assert sorted(r["webhookId"] for r in listed) == sorted(ids)
            assert Counter(r["webhookUrl"] for r in listed)[same] == 10
        finally:
            for c in partners:
                c.close()

        fired = fire(server, partner)
        assert fired.status_code == 200 and fired.json()["deliveries"] == 20, fired.text
        done = settled(server, partnerId=partner)
        assert len(done) == 20 and {d["status"] for d in done} == {"DELIVERED"}
        assert sorted(d["subscriptionId"] for d in done) == sorted(ids)
        time.sleep(0.3)  # both workers poll again: a duplicate would arrive now
        assert received(receiver) == Counter({str(d["id"]): 1 for d in done})
        paths = Counter(d.path for d in receiver.events())
        assert paths[f"/webhooks/same-{trial}"] == 10 and len(paths) == 11
        assert_clean(server, partner)
        total += len(ids)
    report("webhook registrations", server, trials=TRIALS, detail=f"{total} concurrent registrations, 2 surfaces")


def test_updates_racing_deletes_never_revive_a_deleted_subscription(server, receiver):
    """On each of 4 subscriptions, 3 deletes race 4 "enable" and 2 "unsign" updates; on a fifth, "disable" and
    "unsign" race each other. Exactly one delete of each wins, the deleted ones stay deleted (never listed, never
    sent an event again), and the fifth ends with both of its updates applied."""
    for trial in range(TRIALS):
        receiver.received.clear()
        partner = server.provision()["partnerId"]
        doomed = [subscribe(server, partner, f"{receiver.url}/doomed-{trial}-{k}") for k in range(4)]
        both = subscribe(server, partner, f"{receiver.url}/both-{trial}")
        kept = subscribe(server, partner, f"{receiver.url}/kept-{trial}")
        calls: list[Callable[[], Any]] = []
        for k, sub in enumerate(doomed):
            mine = [("DELETE", sub, None)] * 3 + [("PATCH", sub, {"enabled": True})] * 4 + [("PATCH", sub, {"sign": False})] * 2
            calls.extend(lambda m=m, s=s, b=b: (m, s, control(server, m, f"/webhooks/{s}", b)) for m, s, b in mine[k:] + mine[:k])
        for _ in range(3):
            calls.append(lambda: ("PATCH", both, control(server, "PATCH", f"/webhooks/{both}", {"enabled": False})))
            calls.append(lambda: ("PATCH", both, control(server, "PATCH", f"/webhooks/{both}", {"sign": False})))
        results = together(calls)
        assert {r.status_code for _, _, r in results} <= {200, 404}, [r.text for _, _, r in results if r.status_code >= 500]
        for sub in doomed:
            deletes = [r.status_code for m, s, r in results if s == sub and m == "DELETE"]
            assert sorted(deletes) == [200, 404, 404], (sub, deletes)
            assert control(server, "GET", f"/webhooks/{sub}").status_code == 404
        assert all(r.status_code == 200 for _, s, r in results if s == both)
        final = control(server, "GET", f"/webhooks/{both}").json()
        assert (final["enabled"], final["sign"]) == (False, False), final  # neither update lost the other's

        listed = control(server, "GET", f"/webhooks?partnerId={partner}").json()
        assert sorted(s["id"] for s in listed) == sorted([both, kept])
        # only the one still enabled is sent the next event: a revived deleted one would be too
        fired = fire(server, partner)
        assert fired.status_code == 200 and fired.json()["deliveries"] == 1, fired.text
        (done,) = settled(server, partnerId=partner)
        assert (done["subscriptionId"], done["status"]) == (kept, "DELIVERED")
        time.sleep(0.3)
        assert [d.path for d in receiver.events()] == [f"/webhooks/kept-{trial}"]
        assert_clean(server, partner)
    report("webhook update vs delete", server, trials=TRIALS, detail="4 subs x (3 deletes, 6 updates) + 6 updates on one")


def test_a_delete_racing_redeliveries_leaves_nothing_queued_for_the_deleted_subscription(server, receiver):
    """10 delivered events of one subscription; each is redelivered while the subscription is deleted. An
    accepted redelivery makes exactly one more attempt or is cancelled by the delete; a refused one changes
    nothing; nothing is sent after the delete has cancelled it."""
    accepted_total = 0
    for _ in range(TRIALS):
        receiver.received.clear()
        partner = server.provision()["partnerId"]
        sub = subscribe(server, partner, receiver.url)
        for _ in range(10):
            assert fire(server, partner).status_code == 200
        first = settled(server, partnerId=partner)
        assert len(first) == 10 and {d["status"] for d in first} == {"DELIVERED"}
        calls: list[Callable[[], Any]] = [
            lambda d=d: (d["id"], control(server, "POST", f"/webhooks/deliveries/{d['id']}/redeliver")) for d in first
        ]
        calls.insert(5, lambda: ("delete", control(server, "DELETE", f"/webhooks/{sub}")))
        results = dict(together(calls))
        assert results.pop("delete").status_code == 200
        assert {r.status_code for r in results.values()} <= {200, 409}, [r.text for r in results.values()]
        accepted = {delivery_id for delivery_id, r in results.items() if r.status_code == 200}
        accepted_total += len(accepted)

        done = {d["id"]: d for d in settled(server, partnerId=partner)}
        assert set(done) == set(results)
        for delivery_id, d in done.items():
            log = d["attemptLog"]
            if delivery_id not in accepted:
                assert (d["status"], len(log)) == ("DELIVERED", 1), d
            elif d["status"] == "CANCELLED":  # queued again, then cancelled by the delete before it was sent
                assert (len(log), d["lastError"]) == (1, "subscription deleted"), d
            else:  # sent again before the delete
                assert (d["status"], len(log), successes(d)) == ("DELIVERED", 2, 2), d
        time.sleep(0.3)
        assert received(receiver) == Counter({str(i): successes(d) for i, d in done.items()})
        assert_clean(server, partner)
    report("webhook delete vs redeliver", server, trials=TRIALS, detail=f"{accepted_total} of {10 * TRIALS} accepted")


def test_one_delivery_redelivered_at_once_makes_one_attempt_per_accepted_redelivery(server, receiver):
    """An event for two subscriptions; one of its deliveries is redelivered 20 times at once. Each accepted
    redelivery (200) is exactly one more attempt and one more request at the receiver; a refused one (409: it is
    already queued or being sent) none; the other subscription's delivery is untouched."""
    accepted_total = 0
    for trial in range(TRIALS):
        receiver.received.clear()
        partner = server.provision()["partnerId"]
        target = subscribe(server, partner, f"{receiver.url}/target-{trial}")
        other = subscribe(server, partner, f"{receiver.url}/other-{trial}")
        assert fire(server, partner).json()["deliveries"] == 2
        first = {d["subscriptionId"]: d for d in settled(server, partnerId=partner)}
        delivery = first[target]["id"]
        answers = together([lambda: control(server, "POST", f"/webhooks/deliveries/{delivery}/redeliver")] * 20)
        assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers if a.status_code not in (200, 409)]
        accepted = sum(1 for a in answers if a.status_code == 200)
        assert accepted >= 1
        accepted_total += accepted

        done = {d["subscriptionId"]: d for d in settled(server, partnerId=partner)}
        time.sleep(0.3)
        assert (done[target]["status"], len(done[target]["attemptLog"]), successes(done[target])) == (
            "DELIVERED",
            1 + accepted,
            1 + accepted,
        ), (accepted, done[target]["attemptLog"])
        assert done[other]["attemptLog"] == first[other]["attemptLog"]
        assert received(receiver) == Counter({str(delivery): 1 + accepted, str(done[other]["id"]): 1})
        assert_clean(server, partner)
    report("webhook redeliver x20", server, trials=TRIALS, detail=f"{accepted_total} of {20 * TRIALS} accepted")
