"""Delivery end to end: signed, exact bodies, retries on the sandbox clock, giving up, redelivery, fire, and a
receiver that hangs never slowing a request down."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest
from enkash_sandbox.client import EnKashClient, EnKashHTTPError, verify_signature
from enkash_sandbox.ledger.audit import webhook_findings
from enkash_sandbox.store.tables import WebhookDelivery, WebhookEvent
from sqlmodel import select

from tests.webhooks.conftest import TIMEOUT_SECONDS, gpr, new_card


def wait_until(check, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def delivery_of(client, event_id: str) -> dict:
    found = client.webhook_deliveries(eventId=event_id)
    assert len(found) == 1, found
    return found[0]


def advance(control, seconds: float) -> None:
    assert control.post("/clock", json={"action": "advance", "seconds": seconds}).status_code == 200


def test_a_load_is_delivered_signed_with_its_exact_body(sandbox, tenant, client, receiver):
    sub = receiver.subscribe(client, ["CARD_LOADED"], headers={"X-Partner-Auth": "static-token"})
    card = new_card(client, tenant)
    company, account = gpr(tenant)
    loaded = client.load(company, account, card, "12345.67", reference="WH-LOAD-1")
    event = receiver.wait_for("CARD_LOADED")
    assert event["amount"] == Decimal("12345.67") and event["balance"] == Decimal("12345.67")
    assert (event["enKashCardId"], event["cardAccountId"], event["companyId"]) == (card, account, company)
    assert event["transactionId"] == loaded["enkashCardTxnId"] and event["pgReferenceNumber"] == "WH-LOAD-1"
    assert event["eventType"] == "CARD_LOADED" and event["eventId"].startswith("EV")

    got = receiver.events("CARD_LOADED")[0]
    # the money went over the wire as exact decimal text, never through a float
    assert b'"amount":12345.67' in got.body and b'"balance":12345.67' in got.body
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-partner-auth"] == "static-token"  # EnKash's documented mechanism: static headers
    assert got.event_id == event["eventId"]
    signature = got.headers["x-enkash-sandbox-signature"]
    assert verify_signature(got.body, signature, sub["secret"])
    assert not verify_signature(got.body + b" ", signature, sub["secret"])
    assert not verify_signature(got.body, signature, "whsec_wrong")

    record = wait_until(lambda: (d := delivery_of(client, event["eventId"]))["status"] == "DELIVERED" and d, what="DELIVERED")
    assert record["attempts"] == 1 and record["lastStatusCode"] == 200
    (attempt,) = record["attemptLog"]
    assert attempt["statusCode"] == 200 and attempt["latencyMs"] >= 0 and attempt["responseBody"] == '{"received": true}'
    assert record["payload"] == json.loads(got.body, parse_float=Decimal)


def test_no_subscription_means_no_event(sandbox, tenant, client, control):
    card = new_card(client, tenant)
    client.load(*gpr(tenant), card, 10, reference="WH-NOSUB")
    client.subscribe_webhook("http://127.0.0.1:9/never", ["PAYOUT_SUCCESS"])  # another event: still nothing
    client.load(*gpr(tenant), card, 10, reference="WH-NOSUB-2")
    assert client.webhook_deliveries() == []
    with sandbox.container.db.read() as s:
        assert s.exec(select(WebhookEvent).where(WebhookEvent.partner_id == tenant["partnerId"])).all() == []


def test_retries_wait_for_the_sandbox_clock(sandbox, tenant, client, receiver, control):
    receiver.answer_with(500)
    receiver.subscribe(client, ["CARD_LOADED"])
    card = new_card(client, tenant)
    client.load(*gpr(tenant), card, 99, reference="WH-RETRY")
    wait_until(lambda: len(receiver.received) == 1, what="the first attempt")
    first = wait_until(
        lambda: (d := client.webhook_deliveries()[0])["status"] == "PENDING" and d["attemptLog"] and d, what="a retry queued"
    )
    assert first["attempts"] == 1 and first["lastStatusCode"] == 500 and first["lastError"] == "receiver answered HTTP 500"
    assert first["attemptLog"][0]["statusCode"] == 500 and first["nextAttemptAt"]
    time.sleep(0.6)  # several polls: nothing is sent before the sandbox clock says so
    assert len(receiver.received) == 1
    advance(control, 31)  # the first wait is 30 s
    event = receiver.wait_for("CARD_LOADED")
    record = wait_until(lambda: (d := client.webhook_deliveries()[0])["status"] == "DELIVERED" and d, what="DELIVERED")
    assert record["attempts"] == 2 and [a["statusCode"] for a in record["attemptLog"]] == [500, 200]
    assert receiver.events("CARD_LOADED")[0].event_id == event["eventId"]


def test_giving_up_marks_the_subscription_failing_until_a_delivery_succeeds(sandbox, tenant, client, receiver, control):
    receiver.answer_with(500, 500, 503, 404, 500)
    sub = receiver.subscribe(client, ["CARD_STATUS_CHANGED", "CARD_LOADED"])
    card = new_card(client, tenant)
    client.load(*gpr(tenant), card, 5, reference="WH-GIVEUP")
    for n, wait in enumerate((30, 120, 600, 3600), start=1):
        wait_until(lambda n=n: len(receiver.received) == n, what=f"attempt {n}")
        wait_until(
            lambda n=n: client.webhook_deliveries()[0]["attempts"] == n and client.webhook_deliveries()[0]["status"] == "PENDING"
        )
        advance(control, wait + 1)
    wait_until(lambda: client.webhook_deliveries()[0]["status"] == "FAILED", what="FAILED")
    record = client.webhook_deliveries()[0]
    assert record["attempts"] == 5 and [a["statusCode"] for a in record["attemptLog"]] == [500, 500, 503, 404, 500]
    assert client.sandbox_call("GET", f"/webhooks/{sub['id']}")["failing"] is True
    advance(control, 86400)
    time.sleep(0.5)
    assert len(receiver.received) == 5  # given up: no sixth attempt, however late it gets

    # the next successful delivery to the subscription clears the mark
    client.fire_webhook("CARD_STATUS_CHANGED", card)
    receiver.wait_for("CARD_STATUS_CHANGED")
    wait_until(lambda: client.sandbox_call("GET", f"/webhooks/{sub['id']}")["failing"] is False, what="failing cleared")


def test_redeliver_sends_the_same_event_again(sandbox, tenant, client, receiver, control):
    receiver.subscribe(client, ["CARD_LOADED"])
    card = new_card(client, tenant)
    client.load(*gpr(tenant), card, 7, reference="WH-REDELIVER")
    event = receiver.wait_for("CARD_LOADED")
    record = wait_until(lambda: (d := delivery_of(client, event["eventId"]))["status"] == "DELIVERED" and d)
    assert client.redeliver_webhook(record["id"]) == {"redelivered": record["id"], "status": "PENDING"}
    again = receiver.wait_for("CARD_LOADED", count=2)
    assert again == event
    first, second = receiver.events("CARD_LOADED")
    assert first.body == second.body and first.event_id == second.event_id
    done = wait_until(lambda: (d := delivery_of(client, event["eventId"]))["status"] == "DELIVERED" and d)
    assert len(done["attemptLog"]) == 2
    with pytest.raises(EnKashHTTPError) as missing:
        client.redeliver_webhook(10**9)
    assert missing.value.status == 404


def test_fire_documented_and_card_events(sandbox, tenant, client, receiver, control):
    receiver.subscribe(client, ["PAYOUT_SUCCESS", "CARD_STATUS_CHANGED", "CARD_LOADED"])
    fired = client.fire_webhook("PAYOUT_SUCCESS")
    assert fired["deliveries"] == 1
    payout = receiver.wait_for("PAYOUT_SUCCESS")
    assert payout["simulated"] is True and payout["status"] == "SUCCESS" and payout["eventId"] == fired["eventId"]

    card = new_card(client, tenant)
    client.fire_webhook("CARD_LOADED", card)
    assert receiver.wait_for("CARD_LOADED")["enKashCardId"] == card

    # a card transaction event is built by the spending slice, from the card's latest authorization
    receiver.subscribe(client, ["CARD_TRANSACTION_AUTHORIZED", "CARD_TRANSACTION_DECLINED"])
    client.fire_webhook("CARD_TRANSACTION_AUTHORIZED", card)
    fired_txn = receiver.wait_for("CARD_TRANSACTION_AUTHORIZED")
    assert fired_txn["enkashCardId"] == card and fired_txn["txnDetails"]["merchantName"]
    declined = client.authorize(card, "10.00", channel="ECOM")  # no money on the card: declined, and told
    event = receiver.wait_for("CARD_TRANSACTION_DECLINED")
    assert event["enKashCardTransactionId"] == declined["transactionId"] and "INSUFFICIENT_BALANCE" in event["declineReasons"]

    for body, status in (
        ({"partnerId": tenant["partnerId"], "event": "CARD_TRANSACTION_CLEARED", "enKashCardId": card}, 422),  # not subscribed
        ({"partnerId": tenant["partnerId"], "event": "CARD_LOADED"}, 422),  # a card event needs the card
        ({"partnerId": tenant["partnerId"], "event": "CARD_LOADED", "enKashCardId": "EKC0000000"}, 404),
        ({"partnerId": "CR0000000", "event": "PAYOUT_SUCCESS"}, 404),
        ({"partnerId": tenant["partnerId"], "event": "PAYOUT_EXPLODED"}, 422),
    ):
        answer = control.post("/webhooks/fire", json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]


def test_card_status_changes_are_events(sandbox, tenant, client, receiver):
    receiver.subscribe(client, ["CARD_STATUS_CHANGED"])
    card = new_card(client, tenant)
    company, account = gpr(tenant)
    client.post(
        "/api/v0/partner/enKashCard/block",
        {
            "companyId": company,
            "cardAccountId": account,
            "enKashCardId": card,
            "blockCode": "L",
            "reason": "lost wallet",
            "otpMedium": "MFA",
            "mfaCode": "123456",
        },
    )
    event = receiver.wait_for("CARD_STATUS_CHANGED")
    assert (event["previousStatus"], event["status"], event["reason"], event["enKashCardId"]) == ("UL", "L", "lost wallet", card)


def test_signing_can_be_switched_off_per_subscription_and_per_tenant(sandbox, tenant, client, receiver, control):
    sub = receiver.subscribe(client, ["PAYOUT_FAILED"])
    assert control.patch(f"/webhooks/{sub['id']}", json={"sign": False}).json()["sign"] is False
    receiver.secret = None  # nothing to verify: the receiver takes unsigned deliveries
    client.fire_webhook("PAYOUT_FAILED")
    receiver.wait_for("PAYOUT_FAILED")
    assert "x-enkash-sandbox-signature" not in receiver.events()[0].headers
    receiver.secret = sub["secret"]
    switched = control.post("/webhooks/signing", json={"partnerId": tenant["partnerId"], "sign": True}).json()
    assert switched == {"partnerId": tenant["partnerId"], "sign": True, "subscriptions": 1}
    client.fire_webhook("PAYOUT_FAILED")
    receiver.wait_for("PAYOUT_FAILED", count=2)
    assert receiver.events()[1].verified is True


def test_a_hanging_receiver_never_slows_requests(sandbox, tenant, client, receiver):
    receiver.hang_for(3 * TIMEOUT_SECONDS)
    receiver.subscribe(client, ["CARD_LOADED"])
    card = new_card(client, tenant)
    client.load(*gpr(tenant), card, 1, reference="WH-HANG-0")
    latencies = []
    for i in range(1, 16):
        started = time.perf_counter()
        client.load(*gpr(tenant), card, 1, reference=f"WH-HANG-{i}")
        latencies.append(time.perf_counter() - started)
    assert max(latencies) < 0.5, latencies  # each well under the receiver's hang
    started = time.perf_counter()
    assert httpx.get(f"{sandbox.url}/_sandbox/health").status_code == 200
    assert time.perf_counter() - started < 0.5
    timed_out = wait_until(
        lambda: [d for d in client.webhook_deliveries() if d["attemptLog"] and d["attemptLog"][0]["error"]],
        timeout=10,
        what="a timeout",
    )
    assert "timeout" in timed_out[0]["attemptLog"][0]["error"]
    assert timed_out[0]["status"] == "PENDING"  # retried later, on the sandbox clock
    receiver.hang_for(0)


def test_deleting_a_subscription_cancels_what_it_had_queued(sandbox, tenant, client, receiver, control):
    receiver.answer_with(500)
    sub = receiver.subscribe(client, ["CARD_LOADED"])
    card = new_card(client, tenant)
    client.load(*gpr(tenant), card, 3, reference="WH-DELETE")
    # one read per look: two reads could see PENDING before the first attempt and attempts == 1 during it
    wait_until(lambda: (d := client.webhook_deliveries()[0])["status"] == "PENDING" and d["attempts"] == 1)
    assert client.delete_webhook(sub["id"]) == {"deleted": sub["id"], "cancelledDeliveries": 1}
    assert client.webhook_deliveries()[0]["status"] == "CANCELLED"
    advance(control, 3600)
    client.load(*gpr(tenant), card, 3, reference="WH-DELETE-2")
    time.sleep(0.5)
    assert len(receiver.received) == 1 and len(client.webhook_deliveries()) == 1
    with pytest.raises(EnKashHTTPError) as gone:
        client.redeliver_webhook(client.webhook_deliveries()[0]["id"])
    assert gone.value.status == 409


def test_deliveries_filters_and_the_outbox_findings(sandbox, tenant, client, receiver, control):
    receiver.subscribe(client, ["PAYOUT_SUCCESS", "PAYOUT_PENDING"])
    client.fire_webhook("PAYOUT_SUCCESS")
    client.fire_webhook("PAYOUT_PENDING")
    receiver.wait_for("PAYOUT_PENDING")
    receiver.wait_for("PAYOUT_SUCCESS")
    assert [d["eventType"] for d in client.webhook_deliveries(event="PAYOUT_SUCCESS")] == ["PAYOUT_SUCCESS"]
    wait_until(lambda: len(client.webhook_deliveries(status="DELIVERED")) == 2, what="both delivered")
    assert client.webhook_deliveries(status="FAILED") == []
    assert control.get("/webhooks/deliveries", params={"status": "LOST"}).status_code == 422
    assert control.get("/webhooks/deliveries", params={"event": "NOPE"}).status_code == 422
    with sandbox.container.db.read() as s:
        assert webhook_findings(s) == []


def test_a_reset_while_deliveries_are_in_flight(sandbox, tenant, client, receiver, control):
    """Deliveries being sent when the whole state is replaced: the reset waits for no receiver, the late outcomes
    write nothing into the new state, and the deliverer goes on serving the tenants made afterwards."""
    receiver.hang_for(0.5)
    receiver.subscribe(client, ["PAYOUT_SUCCESS"])
    for _ in range(4):
        client.fire_webhook("PAYOUT_SUCCESS")
    wait_until(lambda: client.webhook_deliveries(status="DELIVERING"), what="a delivery in flight")
    started = time.perf_counter()
    assert control.post("/reset").status_code == 200
    assert time.perf_counter() - started < 5
    time.sleep(1.5)  # the hanging sends finish and try to record their outcome
    with sandbox.container.db.read() as s:
        assert webhook_findings(s) == []
        assert s.exec(select(WebhookDelivery)).all() == []
    assert sandbox.container.deliverer.running
    receiver.hang_for(0)
    fresh = sandbox.provision()
    with EnKashClient.from_credentials(sandbox.url, fresh) as again:
        receiver.subscribe(again, ["PAYOUT_PENDING"])
        again.fire_webhook("PAYOUT_PENDING")
        assert receiver.wait_for("PAYOUT_PENDING")["eventType"] == "PAYOUT_PENDING"
