"""Races on the webhook control writes, with two worker processes on one store (SQLite, and PostgreSQL when a
server is given): registrations of one tenant made at once through EnKash's Webhook Data API and the control
plane, updates racing deletes of the same subscription, a delete racing redeliveries of its deliveries, and one
delivery redelivered many times at once.

Each is checked against the test's own expectations — how many subscriptions exist, which write won, how many
attempts each accepted redelivery made — and against what reached a local receiver, counted by delivery id;
then the audit must be clean. Each failure they guard against was seen before the fix, the first three on
PostgreSQL: an update racing a delete enabled the deleted subscription again (so it was sent events; the audit
now names that), a redelivery racing a delete queued a delivery of the deleted subscription, two deletes of one
subscription both answered 200, and, on both stores, concurrent redeliveries of one delivery were all accepted
but coalesced into fewer attempts. One burst per test: the server starts dominate the run time.
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

EVENT = "PAYOUT_SUCCESS"
# subscriptions deleted while updates race the deletes
DOOMED = 12


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory) -> Iterator[ServerProcess]:
    # a receiver on a loaded CI machine may take seconds to answer: a timed-out attempt is retried, and the
    # receiver would rightly count two arrivals of one delivery, which is not the race these tests look for
    env = {"ENKASH_SANDBOX_WEBHOOK_TIMEOUT_SECONDS": "10"}
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


def subscribe(server: ServerProcess, partner: str, url: str, *, enabled: bool = True) -> str:
    body = {"partnerId": partner, "webhookUrl": url, "events": [EVENT], "enabled": enabled}
    answer = control(server, "POST", "/webhooks", body)
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
    try:
        return list(
            wait_until(
                lambda: (
                    (found := deliveries(server, **filters))
                    and all(d["status"] not in ("PENDING", "DELIVERING") for d in found)
                    and found
                ),
                "the deliveries to settle",
                timeout=30.0,
            )
        )
    except AssertionError as exc:  # say which ones did not, and what their attempts met
        unsettled = [
            (d.get("status"), d.get("attempts"), (d.get("attemptLog") or [])[-1:])
            for d in deliveries(server, **filters)
            if d["status"] in ("PENDING", "DELIVERING")
        ]
        raise AssertionError(f"{exc}: {unsettled}") from None


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
    creds = server.provision()
    partner = creds["partnerId"]
    same = f"{receiver.url}/same"
    partners = [EnKashClient.from_credentials(server.url, creds) for _ in range(5)]
    try:
        for c in partners:
            c.access_token()
        calls: list[Callable[[], Any]] = []
        for i in range(20):
            url = same if i % 2 == 0 else f"{receiver.url}/own-{i}"
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
    time.sleep(0.2)  # both workers poll again: a duplicate would arrive now
    assert received(receiver) == Counter({str(d["id"]): 1 for d in done})
    paths = Counter(d.path for d in receiver.events())
    assert paths["/webhooks/same"] == 10 and len(paths) == 11
    assert_clean(server, partner)
    report("webhook registrations", server, trials=1, detail="20 concurrent registrations, 2 surfaces")


def test_updates_racing_deletes_never_revive_a_deleted_subscription(server, receiver):
    """On each of 12 disabled subscriptions, 2 deletes race an "enable" and an "unsign" update; on a 13th,
    "disable" and "unsign" race each other. Exactly one delete of each wins, the deleted ones stay deleted (never
    listed, never enabled again, never sent an event), and the 13th ends with both of its updates applied."""
    partner = server.provision()["partnerId"]
    # disabled to begin with, so that an "enable" racing the delete writes enabled = true over its false
    made = [lambda k=k: subscribe(server, partner, f"{receiver.url}/doomed-{k}", enabled=False) for k in range(DOOMED)]
    *doomed, both, kept = together(
        [
            *made,
            lambda: subscribe(server, partner, f"{receiver.url}/both"),
            lambda: subscribe(server, partner, f"{receiver.url}/kept"),
        ]
    )
    calls: list[Callable[[], Any]] = []
    for k, sub in enumerate(doomed):
        # one "enable" per subscription: of several, only the first to read enabled = false would write it
        mine = [("DELETE", sub, None)] * 2 + [("PATCH", sub, {"enabled": True}), ("PATCH", sub, {"sign": False})]
        calls.extend(
            lambda m=m, s=s, b=b: (m, s, control(server, m, f"/webhooks/{s}", b)) for m, s, b in mine[k % 4 :] + mine[: k % 4]
        )
    for body in ({"enabled": False}, {"sign": False}) * 2:
        calls.append(lambda b=body: ("PATCH", both, control(server, "PATCH", f"/webhooks/{both}", b)))
    results = together(calls)
    assert {r.status_code for _, _, r in results} <= {200, 404}, [r.text for _, _, r in results if r.status_code >= 500]
    for sub in doomed:
        deletes = [r.status_code for m, s, r in results if s == sub and m == "DELETE"]
        assert sorted(deletes) == [200, 404], (sub, deletes)
    assert all(r.status_code == 200 for _, s, r in results if s == both)
    final = control(server, "GET", f"/webhooks/{both}").json()
    assert (final["enabled"], final["sign"]) == (False, False), final  # neither update lost the other's

    listed = control(server, "GET", f"/webhooks?partnerId={partner}").json()
    assert sorted(s["id"] for s in listed) == sorted([both, kept])
    assert_clean(server, partner)  # a deleted subscription enabled again is corruption the audit names
    # only the one still enabled is sent the next event: a revived deleted one would be too
    fired = fire(server, partner)
    assert fired.status_code == 200 and fired.json()["deliveries"] == 1, fired.text
    (done,) = settled(server, partnerId=partner)
    assert (done["subscriptionId"], done["status"]) == (kept, "DELIVERED")
    time.sleep(0.2)
    assert [d.path for d in receiver.events()] == ["/webhooks/kept"]
    assert_clean(server, partner)
    report("webhook update vs delete", server, trials=1, detail=f"{DOOMED} subs x (2 deletes, 2 updates) + 4 updates on one")


def test_a_delete_racing_redeliveries_leaves_nothing_queued_for_the_deleted_subscription(server, receiver):
    """10 delivered events of one subscription; each is redelivered while the subscription is deleted. An
    accepted redelivery makes exactly one more attempt or is cancelled by the delete; a refused one changes
    nothing; nothing is sent after the delete has cancelled it."""
    partner = server.provision()["partnerId"]
    sub = subscribe(server, partner, receiver.url)
    assert {r.status_code for r in together([lambda: fire(server, partner)] * 10)} == {200}
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
    time.sleep(0.2)
    assert received(receiver) == Counter({str(i): successes(d) for i, d in done.items()})
    assert_clean(server, partner)
    report("webhook delete vs redeliver", server, trials=1, detail=f"{len(accepted)} of 10 redeliveries accepted")


def test_one_delivery_redelivered_at_once_makes_one_attempt_per_accepted_redelivery(server, receiver):
    """An event for two subscriptions; one of its deliveries is redelivered 20 times at once. Each accepted
    redelivery (200) is exactly one more attempt and one more request at the receiver; a refused one (409: it is
    already queued or being sent) none; the other subscription's delivery is untouched."""
    partner = server.provision()["partnerId"]
    target = subscribe(server, partner, f"{receiver.url}/target")
    other = subscribe(server, partner, f"{receiver.url}/other")
    assert fire(server, partner).json()["deliveries"] == 2
    first = {d["subscriptionId"]: d for d in settled(server, partnerId=partner)}
    delivery = first[target]["id"]
    answers = together([lambda: control(server, "POST", f"/webhooks/deliveries/{delivery}/redeliver")] * 20)
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers if a.status_code not in (200, 409)]
    accepted = sum(1 for a in answers if a.status_code == 200)
    assert accepted >= 1

    done = {d["subscriptionId"]: d for d in settled(server, partnerId=partner)}
    time.sleep(0.2)
    assert (done[target]["status"], len(done[target]["attemptLog"]), successes(done[target])) == (
        "DELIVERED",
        1 + accepted,
        1 + accepted,
    ), (accepted, done[target]["attemptLog"])
    assert done[other]["attemptLog"] == first[other]["attemptLog"]
    assert received(receiver) == Counter({str(delivery): 1 + accepted, str(done[other]["id"]): 1})
    assert_clean(server, partner)
    report("webhook redeliver x20", server, trials=1, detail=f"{accepted} of 20 redeliveries accepted")
