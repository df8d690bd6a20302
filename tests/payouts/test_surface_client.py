"""The client library's payout helpers (EnKashClient.create_beneficiary, transfer, batch_transfer, transfer_status,
payout_balance, statement, whitelist, …) against the real payout routes, in both encryption modes: what goes over
the wire is what a partner sends (Bearer token, User-Agent, the AES envelope, no partnerId), and what comes back is
exact (Decimal) and raises EnKashHTTPError with the documented code and message."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from enkash_sandbox import crypto
from enkash_sandbox.client import EnKashClient, EnKashHTTPError, transfer_body

from tests.payouts.conftest import EVERYTHING


class Wire:
    """What the client put on the wire, request by request."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def hook(self, request: httpx.Request) -> None:
        request.read()
        self.sent.append(request)

    def last(self, path: str) -> httpx.Request:
        return next(r for r in reversed(self.sent) if r.url.path == path)


@pytest.fixture(params=["required", "off"])
def wired(request, sandbox):
    """A fresh tenant in the given encryption mode, its client (encrypting exactly when the mode says so) and the
    requests that client sent."""
    creds = sandbox.provision(encryption=request.param)
    wire = Wire()
    http = httpx.Client(timeout=30, event_hooks={"request": [wire.hook]})
    client = EnKashClient.from_credentials(sandbox.url, creds, encrypt=request.param == "required", http=http)
    yield creds, client, wire
    client.close()


def test_every_helper_through_the_envelope_with_exact_money(wired):
    creds, client, wire = wired
    fund_source = creds["payoutFundSourceId"]
    start = client.payout_balance(fund_source)
    assert start == Decimal("1000000") and isinstance(start, Decimal)

    made = client.create_beneficiary("SURFACE01", "Kavya Iyer", account_number="50100099887766", ifsc="icic0001234")
    assert (made["beneficiaryId"], made["beneficiaryIfsc"], made["vpaHandle"], made["status"]) == (
        "SURFACE01",
        "ICIC0001234",
        None,
        "ACTIVE",
    )
    assert made["createdOn"].endswith("+05:30")
    upi = client.create_beneficiary("SURFACE02", "Kavya Iyer", vpa="kavya@okicici", email="kavya@example.com")
    assert (upi["vpaHandle"], upi["beneficiaryAccountNumber"], upi["beneficiaryEmail"]) == (
        "kavya@okicici",
        None,
        "kavya@example.com",
    )

    sent = client.transfer(
        "SURF-T1", Decimal("250.75"), beneficiary_id="SURFACE01", fund_source_id=fund_source, remark="Invoice 42"
    )
    assert sent["payoutStatus"] == "PROCESSING" and sent["reasonCode"] is None
    assert sent["transferAmount"] == Decimal("250.75") and isinstance(sent["transferAmount"], Decimal)
    assert sent["transferMode"] == "IMPS"  # the profile's defaultTransferMode
    assert sent["enkashTransactionId"].startswith("EKPT")
    assert client.transfer_status("SURF-T1") == sent
    upi_sent = client.transfer("SURF-T2", "99.99", beneficiary_id="SURFACE02", mode="UPI")
    assert (upi_sent["payoutStatus"], upi_sent["transferMode"]) == ("PROCESSING", "UPI")

    # the request on the wire: Bearer, the client's User-Agent, no partnerId, the body sealed exactly in required mode
    request = wire.last("/api/v0/payout-transaction")
    assert request.headers["authorization"].startswith("Bearer ")
    assert request.headers["user-agent"] == EnKashClient.user_agent
    assert "partnerid" not in request.headers
    body = json.loads(request.content)
    if client.encrypt:
        assert list(body) == ["request"]
        assert crypto.decrypt_json(body, creds["clientSecret"])["transactionId"] == "SURF-T2"
    else:
        assert body["transactionId"] == "SURF-T2" and body["transferAmount"] == "99.99"

    batch = client.batch_transfer(
        "SURF-B1",
        [
            transfer_body("SURF-B1-1", 10, beneficiary_id="SURFACE01"),
            transfer_body("SURF-B1-2", "0.50", beneficiary_id="SURFACE01"),
            transfer_body(
                "SURF-B1-3", 20, beneficiary={"beneficiaryName": "Inline Payee", "vpaHandle": "inline@okaxis"}, mode="UPI"
            ),
        ],
    )
    ok = {r["transactionId"]: r for r in batch["successfulPayoutTransactionCreateResponses"]}
    failed = {r["transactionId"]: r for r in batch["failedPayoutTransactionCreateResponses"]}
    assert set(ok) == {"SURF-B1-1", "SURF-B1-3"} and {r["payoutStatus"] for r in ok.values()} == {"PENDING"}
    assert (failed["SURF-B1-2"]["payoutStatus"], failed["SURF-B1-2"]["reasonCode"]) == ("REJECTED", "REJECT_TRF_AMT")

    spent = Decimal("250.75") + Decimal("99.99") + 10 + 20
    assert client.payout_balance(fund_source) == start - spent

    statement = client.statement(fund_source, EVERYTHING["fromDate"], EVERYTHING["toDate"])
    assert (statement["response_code"], statement["response_message"]) == ("0", "Success")
    rows = statement["data"]
    assert [(r["transactionId"], r["transactionType"]) for r in rows] == [
        (None, "CREDIT"),
        ("SURF-T1", "DEBIT"),
        ("SURF-T2", "DEBIT"),
        ("SURF-B1-1", "DEBIT"),
        ("SURF-B1-3", "DEBIT"),
    ]
    running = Decimal(0)
    for row in rows:
        running += row["transactionAmount"] if row["transactionType"] == "CREDIT" else -row["transactionAmount"]
        assert row["runningBalance"] == running, row
    assert running == start - spent

    found = client.search_transfers(batchTransactionId="SURF-B1")
    assert found["totalElements"] == 3 and {r["transactionId"] for r in found["content"]} == {
        "SURF-B1-1",
        "SURF-B1-2",
        "SURF-B1-3",
    }
    named = client.search_beneficiaries(beneficiaryName="kavya")
    assert {b["beneficiaryId"] for b in named["content"]} == {"SURFACE01", "SURFACE02"}

    source = client.whitelist("001122334455", "HDFC0000001", company_id=creds["companyId"])
    assert (source["accountNumber"], source["status"], source["companyId"]) == ("001122334455", "ACTIVE", creds["companyId"])
    client.whitelist("001122334466", "HDFC0000001")
    accounts = client.source_accounts()
    assert accounts["active"]["accountNumber"] == "001122334466"
    assert [a["status"] for a in accounts["history"]] == ["ACTIVE", "INACTIVE"]

    assert client.delete_beneficiary("SURFACE02") == {"beneficiaryId": "SURFACE02", "status": "DELETED"}
    after = client.transfer("SURF-T3", 5, beneficiary_id="SURFACE02", mode="UPI")
    assert (after["payoutStatus"], after["reasonCode"]) == ("REJECTED", "REJECT_BENEF_ID")


def test_documented_failures_raise_with_their_code_and_message(wired):
    creds, client, _ = wired
    client.create_beneficiary("SURFDUP01", "Nisha Rao", account_number="50100099887766", ifsc="HDFC0000001")
    cases = [
        (lambda: client.create_beneficiary("SURFDUP01", "Nisha Rao", vpa="nisha@okaxis"), 409, "Beneficiary ID already exists"),
        (
            lambda: client.create_beneficiary("SURFDUP02", "Nisha Rao", account_number="50100099887766"),
            412,
            "Bank account and IFSC both are required",
        ),
        (lambda: client.create_beneficiary("SURFDUP03", "Nisha R4o", vpa="nisha@okaxis"), 422, "Please provide a valid name"),
        (lambda: client.transfer("SURF-NOBODY", 10), 422, "No beneficiary details present"),
        (lambda: client.payout_balance("EKNOSUCH00"), 422, "Invalid or missing parameter in the request"),
        (lambda: client.transfer_status("NEVER-SENT"), 422, "Invalid or missing parameter in the request"),
    ]
    for call, status, message in cases:
        with pytest.raises(EnKashHTTPError) as raised:
            call()
        assert (raised.value.status, raised.value.body) == (status, {"response_code": status, "response_message": message})
        assert message in str(raised.value)
    client.transfer("SURF-DUP", 10, beneficiary_id="SURFDUP01")
    with pytest.raises(EnKashHTTPError) as raised:
        client.transfer("SURF-DUP", 10, beneficiary_id="SURFDUP01")
    assert raised.value.body == {"response_code": 409, "response_message": "Transaction ID already exists"}
    # a REJECTED transfer is an answer, and its transactionId may be sent again
    rejected = client.transfer("SURF-RETRY", 10, beneficiary_id="SURFDUP01", mode="CHEQUE")
    assert (rejected["payoutStatus"], rejected["reasonCode"]) == ("REJECTED", "REJECT_TRF_MODE")
    retried = client.transfer("SURF-RETRY", 10, beneficiary_id="SURFDUP01", mode="NEFT")
    assert retried["payoutStatus"] == "PROCESSING" and retried["enkashTransactionId"] != rejected["enkashTransactionId"]


def test_a_transfer_settles_on_the_sandbox_clock_as_the_client_polls_it(sandbox, payouts, control):
    client = payouts.client
    sent = client.transfer("SURF-CLOCK", "1500.50", beneficiary_id="BENBANK001")
    assert client.transfer_status("SURF-CLOCK")["payoutStatus"] == "PROCESSING"
    assert control.post("/clock", json={"action": "advance", "seconds": 6}).status_code == 200
    done = client.transfer_status("SURF-CLOCK")
    assert done == {**sent, "payoutStatus": "SUCCESS"}
    row = client.search_transfers(transactionId="SURF-CLOCK")["content"][0]
    assert row["utr"] is not None and len(row["utr"]) == 12 and row["utr"].isdigit()


def test_the_camel_case_token_of_the_v3_payout_page_works_for_the_client(sandbox):
    creds = sandbox.provision(profile={"tokenCasing": "camel"})
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        answer = client.fetch_token()
        assert {"accessToken", "tokenType", "expiresIn", "refreshToken"} <= set(answer) and "access_token" not in answer
        normalised = EnKashClient.token_fields(answer)
        assert normalised["access_token"] == answer["accessToken"] and normalised["expires_in"] == answer["expiresIn"]
        # the client reads either casing: its payout (and card) calls carry the token
        assert client.payout_balance(creds["payoutFundSourceId"]) == Decimal("1000000")


def test_payout_webhooks_registered_by_the_partner_match_the_contracts_payload(sandbox, payouts, control):
    """A registration through EnKash's Webhook Data API (the documented static headers included) receives the
    PAYOUT_* events of a real transfer, each body valid against openapi/enkash.yaml's PayoutWebhookPayload."""
    from enkash_sandbox import contract
    from enkash_sandbox.testing.webhooks import WebhookReceiver

    # schemathesis' own JSON Schema engine (installed with it), the one the contract suite validates answers with
    from jsonschema_rs import Draft202012Validator

    spec = contract.spec()
    validator = Draft202012Validator({**spec["components"]["schemas"]["PayoutWebhookPayload"], "components": spec["components"]})
    client = payouts.client
    with WebhookReceiver() as receiver:
        registered = client.register_webhook(
            receiver.url, ["PAYOUT_PENDING", "PAYOUT_SUCCESS", "PAYOUT_FAILED"], headers={"X-Partner-Key": "static-secret"}
        )
        receiver.secret = registered["signingSecret"]
        sent = client.transfer("SURF-HOOK", "42.42", beneficiary_id="BENUPI001", mode="UPI")
        pending = receiver.wait_for("PAYOUT_PENDING", timeout=10)
        assert control.post("/clock", json={"action": "advance", "seconds": 6}).status_code == 200
        client.transfer_status("SURF-HOOK")
        success = receiver.wait_for("PAYOUT_SUCCESS", timeout=10)
        deliveries = receiver.events()
        assert [d.event_type for d in deliveries] == ["PAYOUT_PENDING", "PAYOUT_SUCCESS"]
        for delivery in deliveries:
            # the body exactly as sent (the validator reads plain JSON numbers)
            errors = sorted(str(e) for e in validator.iter_errors(json.loads(delivery.body)))
            assert errors == [], errors
            assert delivery.headers.get("x-partner-key") == "static-secret"
            assert delivery.verified is True
        for body in (pending, success):
            assert (body["transactionId"], body["enkashTransactionId"]) == ("SURF-HOOK", sent["enkashTransactionId"])
        assert (pending["payoutStatus"], success["payoutStatus"]) == ("PROCESSING", "SUCCESS")
        assert success["utr"] is not None and success["transferAmount"] == Decimal("42.42")
