"""EnKash's Webhook Data API as a partner calls it (token, AES envelope, envelope B), and the control plane's
registrations: what is accepted, what is refused with a clear 4xx, and that a refusal stores nothing."""

from __future__ import annotations

import httpx
import pytest
from enkash_sandbox.client import EnKashClient

WEBHOOK_DATA = "/api/v0/webhook-data"


def test_register_and_list_through_the_vendor_api_encrypted(sandbox, tenant, client):
    assert client.encrypt  # the tenant's default: bodies go in EnKash's AES envelope both ways
    status, body = client.request(
        "POST",
        WEBHOOK_DATA,
        {
            "webhookUrl": "http://localhost:9000/hooks",
            "events": ["PAYOUT_SUCCESS", "CARD_LOADED", "CARD_LOADED"],
            "headers": {"X-Partner-Auth": "static-secret"},
            "enabled": True,
            "companyId": tenant["companyId"],
        },
        raw=True,
    )
    assert status == 200, body
    assert (body["response_code"], body["response_message"]) == (0, "Success")
    payload = body["payload"]
    assert payload["webhookUrl"] == "http://localhost:9000/hooks"
    assert payload["events"] == ["PAYOUT_SUCCESS", "CARD_LOADED"]  # a repeated event is registered once
    assert payload["headers"] == {"X-Partner-Auth": "static-secret"}
    assert payload["companyId"] == tenant["companyId"] and payload["enabled"] is True and payload["sslCertificate"] is None
    assert payload["webhookId"].startswith("WH") and payload["signingSecret"].startswith("whsec_")

    listed = client.webhook_registrations()
    assert [r["webhookId"] for r in listed] == [payload["webhookId"]]
    # the control plane sees the same registration, with the sandbox's own fields
    sub = httpx.get(f"{sandbox.url}/_sandbox/webhooks/{payload['webhookId']}").json()
    assert (sub["partnerId"], sub["sign"], sub["failing"], sub["secret"]) == (
        tenant["partnerId"],
        True,
        False,
        payload["signingSecret"],
    )


def test_registrations_are_per_tenant(sandbox, tenant, client):
    client.register_webhook("http://127.0.0.1:9/a", ["CARD_LOADED"], company_id=tenant["companyId"])
    other = sandbox.provision()
    with EnKashClient.from_credentials(sandbox.url, other) as stranger:
        assert stranger.webhook_registrations() == []
        # another tenant's company is answered like an unknown one
        body = {"webhookUrl": "http://127.0.0.1:9/a", "events": ["CARD_LOADED"], "companyId": tenant["companyId"]}
        status, answer = stranger.request("POST", WEBHOOK_DATA, body, raw=True)
        assert status == 404 and answer["response_code"] == 1, answer
        assert stranger.webhook_registrations() == []


BAD_BODIES = [
    ({"webhookUrl": "ftp://example.com/hook", "events": ["CARD_LOADED"]}, 422, "webhookUrl: must be an http(s) URL"),
    ({"webhookUrl": "http:///nohost", "events": ["CARD_LOADED"]}, 422, "webhookUrl: must be an http(s) URL"),
    ({"webhookUrl": "javascript:alert(1)", "events": ["CARD_LOADED"]}, 422, "webhookUrl"),
    ({"webhookUrl": "http://localhost:99999/x", "events": ["CARD_LOADED"]}, 422, "webhookUrl"),
    ({"webhookUrl": "http://local host/x", "events": ["CARD_LOADED"]}, 422, "webhookUrl"),
    ({"webhookUrl": "http://localhost/x", "events": ["CARD_EXPLODED"]}, 422, "events.0"),
    ({"webhookUrl": "http://localhost/x", "events": []}, 422, "events"),
    ({"webhookUrl": "http://localhost/x", "events": "CARD_LOADED"}, 422, "events"),
    ({"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "headers": {"X-A": 1}}, 422, "headers.X-A"),
    ({"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "headers": ["X-A"]}, 422, "headers"),
    (
        {"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "headers": {"Bad Name": "v"}},
        422,
        "not a valid HTTP header",
    ),
    (
        {"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "headers": {"X-A": "line\r\nX-Injected: 1"}},
        422,
        "printable",
    ),
    (
        {"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "headers": {"X-Enkash-Sandbox-Signature": "forged"}},
        422,
        "set by the sandbox itself",
    ),
    ({"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "enabled": "yes"}, 422, "enabled"),
    ({"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "companyId": "nope"}, 422, "companyId"),
    ({"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "companyId": "CEK0000000"}, 404, ""),
    ({"events": ["CARD_LOADED"]}, 400, "Mandatory parameter missing: webhookUrl"),
    ({"webhookUrl": "http://localhost/x"}, 400, "Mandatory parameter missing: events"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES, ids=[f"{i}-{b[1]}" for i, b in enumerate(BAD_BODIES)])
def test_bad_registrations_are_refused_and_change_nothing(client, body, status, message):
    got, answer = client.request("POST", WEBHOOK_DATA, body, raw=True)
    assert got == status, answer
    assert answer["response_code"] == 1 and message in answer["response_message"], answer
    assert client.webhook_registrations() == []


def test_the_vendor_api_needs_a_partner_token(sandbox):
    answer = httpx.post(f"{sandbox.url}{WEBHOOK_DATA}", json={"webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"]})
    assert answer.status_code == 401
    assert httpx.get(f"{sandbox.url}{WEBHOOK_DATA}").status_code == 401


def test_control_plane_registration_and_its_refusals(sandbox, tenant, control):
    made = control.post(
        "/webhooks",
        json={
            "partnerId": tenant["partnerId"],
            "webhookUrl": "https://hooks.example.test/x",
            "events": ["CARD_LOADED"],
            "sign": False,
        },
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["sign"] is False and sub["enabled"] is True and sub["secret"].startswith("whsec_")
    listed = control.get("/webhooks", params={"partnerId": tenant["partnerId"]}).json()
    assert [s["id"] for s in listed] == [sub["id"]]

    for body, status in (
        ({"partnerId": tenant["partnerId"], "webhookUrl": "file:///etc/passwd", "events": ["CARD_LOADED"]}, 422),
        ({"partnerId": tenant["partnerId"], "webhookUrl": "http://localhost/x", "events": ["NOT_AN_EVENT"]}, 422),
        ({"partnerId": tenant["partnerId"], "webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"], "extra": 1}, 422),
        ({"partnerId": "CR0000000", "webhookUrl": "http://localhost/x", "events": ["CARD_LOADED"]}, 404),
    ):
        answer = control.post("/webhooks", json=body)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]
    assert [s["id"] for s in control.get("/webhooks", params={"partnerId": tenant["partnerId"]}).json()] == [sub["id"]]

    assert control.delete(f"/webhooks/{sub['id']}").json()["deleted"] == sub["id"]
    assert control.get(f"/webhooks/{sub['id']}").status_code == 404
    assert control.delete(f"/webhooks/{sub['id']}").status_code == 404
    assert control.get("/webhooks", params={"partnerId": tenant["partnerId"]}).json() == []
