"""Fault rules aimed at webhook deliveries (target "webhook"): drop an attempt, delay it, time it out or stand in
for the receiver's answer — counted like request rules, and never applied to partners' calls."""

from __future__ import annotations

import time

from tests.webhooks.conftest import gpr, new_card
from tests.webhooks.test_delivery import advance, wait_until


def rule(control, **body) -> dict:
    response = control.post("/faults", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_dropped_attempt_is_retried_by_the_clock(sandbox, tenant, client, receiver, control):
    control.delete("/faults")
    try:
        receiver.subscribe(client, ["CARD_LOADED"])
        dropped = rule(control, target="webhook", path="CARD_*", partnerId=tenant["partnerId"], times=1, action={"type": "drop"})
        card = new_card(client, tenant)
        # the rule does not touch partners' calls: the load itself is answered normally
        client.load(*gpr(tenant), card, 10, reference="WH-FAULT-DROP")
        first = wait_until(
            lambda: (d := client.webhook_deliveries()[0])["attempts"] == 1 and d["attemptLog"] and d, what="attempt"
        )
        assert first["status"] == "PENDING" and "dropped by fault rule:" + dropped["id"] in first["lastError"]
        assert receiver.received == []
        advance(control, 31)
        receiver.wait_for("CARD_LOADED")
        done = wait_until(lambda: (d := client.webhook_deliveries()[0])["status"] == "DELIVERED" and d, what="DELIVERED")
        assert done["attempts"] == 2
        rules = control.get("/faults").json()
        assert [(r["id"], r["remaining"], r["hits"]) for r in rules] == [(dropped["id"], 0, 1)]
    finally:
        control.delete("/faults")


def test_a_status_rule_stands_in_for_the_receiver_and_latency_delays_the_send(sandbox, tenant, client, receiver, control):
    control.delete("/faults")
    try:
        receiver.subscribe(client, ["PAYOUT_SUCCESS", "PAYOUT_FAILED"])
        rule(control, target="webhook", path="PAYOUT_SUCCESS", times=1, action={"type": "status", "status": 503})
        rule(control, target="webhook", path="PAYOUT_FAILED", times=1, action={"type": "latency", "latencyMs": 400})
        client.fire_webhook("PAYOUT_SUCCESS")
        failed = wait_until(
            lambda: (
                (d := client.webhook_deliveries(event="PAYOUT_SUCCESS")) and d[0]["attempts"] == 1 and d[0]["attemptLog"] and d[0]
            ),
            what="the simulated answer",
        )
        assert failed["lastStatusCode"] == 503 and "simulated" in failed["attemptLog"][0]["error"]
        assert receiver.events("PAYOUT_SUCCESS") == []
        started = time.monotonic()
        client.fire_webhook("PAYOUT_FAILED")
        receiver.wait_for("PAYOUT_FAILED")
        assert time.monotonic() - started >= 0.4
    finally:
        control.delete("/faults")


def test_webhook_rules_are_validated(control):
    for body in (
        {"target": "webhook", "method": "POST", "action": {"type": "drop"}},
        {"target": "webhook", "action": {"type": "business_failure"}},
        {"target": "somewhere", "action": {"type": "drop"}},
    ):
        response = control.post("/faults", json=body)
        assert response.status_code == 422, (body, response.text)
    assert control.get("/faults").json() == []


def test_a_replacement_is_a_status_change_of_the_old_card(sandbox, tenant, client, receiver):
    receiver.subscribe(client, ["CARD_STATUS_CHANGED"])
    card = new_card(client, tenant, mobile="9876500077")
    replacement = client.replace_card(card, otp_medium="MFA", mfaCode="123456")
    event = receiver.wait_for("CARD_STATUS_CHANGED")
    assert event["enKashCardId"] == card and event["status"] == "BL" and event["previousStatus"] == "UL"
    assert replacement
