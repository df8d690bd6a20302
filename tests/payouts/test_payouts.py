"""Payouts through HTTP as a partner calls them: beneficiaries, transfers and their lifecycle on the sandbox clock,
rejections with their reason codes, batches, balance, whitelist, statement, webhooks, profile choices, and the
control plane's funding and forcing — each checked against the test's own sums and the audit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from enkash_sandbox.testing.webhooks import WebhookReceiver

from tests.conftest import basic, password_form
from tests.payouts.conftest import BATCH, BENEFICIARY, TRANSFER, WHITELIST, Payouts, audit_ok

_ids = itertools.count(1)
# Tuesday 1 December 2026, 10:00 IST: a NEFT working day, inside every window
TUESDAY_10_IST = datetime(2026, 12, 1, 4, 30, tzinfo=UTC)


def tid(prefix: str = "T") -> str:
    return f"{prefix}{next(_ids):06d}"


def freeze(control: httpx.Client, at: datetime = TUESDAY_10_IST) -> None:
    assert control.post("/clock", json={"action": "freeze", "at": at.isoformat()}).status_code == 200


def advance(control: httpx.Client, seconds: float) -> None:
    assert control.post("/clock", json={"action": "advance", "seconds": seconds}).status_code == 200


def dec(value) -> Decimal:
    return Decimal(str(value))


def test_seeded_tenant_has_a_funded_fund_source_and_two_beneficiaries(payouts: Payouts):
    assert dec(payouts.balance()) == Decimal("1000000.00")
    found = payouts.ok("POST", f"{BENEFICIARY}/search", {})
    assert {b["beneficiaryId"] for b in found["content"]} == {"BENBANK001", "BENUPI001"}
    assert found["totalElements"] == 2 and found["page"] == 0 and found["size"] == 20
    upi = payouts.ok("POST", f"{BENEFICIARY}/search", {"beneficiaryName": "ravi"})["content"]
    assert [b["vpaHandle"] for b in upi] == ["ravi.kumar@okaxis"]


def test_beneficiary_echoes_its_fields(payouts: Payouts):
    created = payouts.beneficiary(
        "BENFULL01",
        "Priya Sharma",
        beneficiaryEmail="priya@example.com",
        beneficiaryPhone="+919876543210",
        beneficiaryAddress="12 MG Road",
        beneficiaryCity="Pune",
        beneficiaryState="MH",
        beneficiaryPincode="411001",
    )
    assert created["beneficiaryAccountNumber"] == "50100123456789" and created["beneficiaryIfsc"] == "HDFC0000123"
    assert created["beneficiaryPincode"] == "411001" and created["vpaHandle"] is None
    assert created["createdOn"].endswith("+05:30")


def test_imps_transfer_settles_five_seconds_later(payouts: Payouts, control, tenant):
    freeze(control)
    before = dec(payouts.balance())
    sent = payouts.transfer(tid(), "250.75", transferMode="IMPS", transferRemark="Invoice 42")
    assert set(sent) == {"transactionId", "enkashTransactionId", "payoutStatus", "transferAmount", "transferMode", "reasonCode"}
    assert sent["payoutStatus"] == "PROCESSING" and sent["reasonCode"] is None and sent["enkashTransactionId"].startswith("EKPT")
    assert dec(sent["transferAmount"]) == Decimal("250.75")
    assert dec(payouts.balance()) == before - Decimal("250.75")
    advance(control, 4)
    assert payouts.get(sent["transactionId"])["payoutStatus"] == "PROCESSING"
    advance(control, 1)
    assert payouts.get(sent["transactionId"])["payoutStatus"] == "SUCCESS"
    found = payouts.ok("POST", f"{TRANSFER}/search", {"transactionId": sent["transactionId"]})["content"][0]
    assert len(found["utr"]) == 12 and found["utr"].isdigit()
    assert dec(payouts.balance()) == before - Decimal("250.75")
    audit_ok(payouts_sandbox(control), tenant["partnerId"])


def payouts_sandbox(control: httpx.Client):
    """The sandbox behind a control client (for the audit helper)."""

    class _Url:
        url = str(control.base_url).removesuffix("/_sandbox").removesuffix("/_sandbox/")

    return _Url


def test_neft_waits_for_the_next_working_window(payouts: Payouts, control):
    # Sunday 6 December 2026, 10:00 IST: no NEFT; the first batch is Monday 01:00 IST, settled at 01:30
    freeze(control, datetime(2026, 12, 6, 4, 30, tzinfo=UTC))
    sent = payouts.transfer(tid(), "5000.00", transferMode="NEFT")
    detail = control.get(f"/payouts/transfers/{sent['enkashTransactionId']}").json()
    assert detail["settleAt"] == "2026-12-07T01:30:00+05:30"
    monday_0129 = datetime(2026, 12, 6, 19, 59, tzinfo=UTC)
    freeze(control, monday_0129)
    assert payouts.get(sent["transactionId"])["payoutStatus"] == "PROCESSING"
    advance(control, 60)
    assert payouts.get(sent["transactionId"])["payoutStatus"] == "SUCCESS"


def test_rtgs_minimum_and_hours(payouts: Payouts, control):
    freeze(control)
    small = payouts.transfer(tid(), "150000.00", transferMode="RTGS")
    assert (small["payoutStatus"], small["reasonCode"]) == ("REJECTED", "REJECT_TRF_AMT")
    big = payouts.transfer(tid(), "250000.00", transferMode="RTGS")
    detail = control.get(f"/payouts/transfers/{big['enkashTransactionId']}").json()
    assert detail["settleAt"] == "2026-12-01T10:30:00+05:30"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"beneficiaryId": "NOSUCHBEN"}, "REJECT_BENEF_ID"),
        ({"transferAmount": "0.99"}, "REJECT_TRF_AMT"),
        ({"transferAmount": "10.005"}, "REJECT_TRF_AMT"),
        ({"transferAmount": "100000000.01", "transferMode": "NEFT"}, "REJECT_TRF_AMT"),
        ({"transferAmount": -10}, "REJECT_TRF_AMT"),
        ({"transferMode": "SWIFT"}, "REJECT_TRF_MODE"),
        ({"transferMode": "imps"}, "REJECT_TRF_MODE"),
        ({"transferAmount": "200000.01", "transferMode": "IMPS"}, "REJECT_TRF_MODE"),
        ({"transferMode": "UPI"}, "REJECT_TRF_MODE"),
        ({"beneficiaryId": "BENUPI001", "transferMode": "IMPS"}, "REJECT_TRF_MODE"),
        ({"beneficiaryId": "BENUPI001", "transferMode": "UPI", "transferAmount": "100000.01"}, "REJECT_TRF_MODE"),
        ({"transferRemark": "Rent: Dec"}, "REJECT_TRF_RMK"),
        ({"transferRemark": "x" * 51}, "REJECT_TRF_RMK"),
        ({"fundSourceId": "EKNOSUCH00"}, "REJECT_FND_SRC_ID"),
        (
            {
                "beneficiaryId": None,
                "beneficiaryDetail": {
                    "beneficiaryName": "R2D2",
                    "beneficiaryAccountNumber": "50100123456789",
                    "beneficiaryIfsc": "HDFC0000123",
                },
            },
            "REJECT_BENEF_NAME",
        ),
        (
            {
                "beneficiaryId": None,
                "beneficiaryDetail": {
                    "beneficiaryName": "Ravi",
                    "beneficiaryAccountNumber": "50100123456789",
                    "beneficiaryIfsc": "HDFC1000123",
                },
            },
            "REJECT_BENEF_IFSC",
        ),
        (
            {
                "beneficiaryId": None,
                "beneficiaryDetail": {
                    "beneficiaryName": "Ravi",
                    "beneficiaryAccountNumber": "12",
                    "beneficiaryIfsc": "HDFC0000123",
                },
            },
            "REJECT_BENEF_ACC",
        ),
        (
            {
                "beneficiaryId": None,
                "beneficiaryDetail": {"beneficiaryName": "Ravi", "vpaHandle": "ravi@upi", "beneficiaryEmail": "nope"},
            },
            "REJECT_BENEF_EMAIL",
        ),
    ],
)
def test_rejections_carry_their_reason_and_move_no_money(payouts: Payouts, fields, reason):
    before = dec(payouts.balance())
    body = {"transactionId": tid(), "beneficiaryId": "BENBANK001", "transferAmount": "100.00", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    answer = payouts.ok("POST", TRANSFER, body)
    assert (answer["payoutStatus"], answer["reasonCode"]) == ("REJECTED", reason), answer
    assert dec(payouts.balance()) == before


def test_a_rejected_transfer_is_retried_with_the_same_id(payouts: Payouts, control, tenant):
    txn = tid()
    first = payouts.transfer(txn, "1500000.00", transferMode="NEFT")
    assert (first["payoutStatus"], first["reasonCode"]) == ("REJECTED", "INSUFFICIENT_BALANCE")
    funded = control.post(f"/payouts/accounts/{payouts.fund_source}/fund", json={"amount": "600000.00"})
    assert funded.status_code == 200 and dec(funded.json()["balance"]) == Decimal("1600000.00")
    second = payouts.transfer(txn, "1500000.00", transferMode="NEFT")
    assert second["payoutStatus"] == "PROCESSING" and second["enkashTransactionId"] != first["enkashTransactionId"]
    assert payouts.get(txn)["enkashTransactionId"] == second["enkashTransactionId"]
    assert dec(payouts.balance()) == Decimal("100000.00")
    attempts = payouts.ok("POST", f"{TRANSFER}/search", {"transactionId": txn})
    assert [a["payoutStatus"] for a in attempts["content"]] == ["PROCESSING", "REJECTED"]


def test_inline_beneficiary_detail(payouts: Payouts):
    detail = {"beneficiaryName": "Kiran Das", "vpaHandle": "kiran.das@okicici"}
    sent = payouts.ok(
        "POST", TRANSFER, {"transactionId": tid(), "transferAmount": 99, "transferMode": "UPI", "beneficiaryDetail": detail}
    )
    assert sent["payoutStatus"] == "PROCESSING" and sent["transferMode"] == "UPI"


def test_magic_failure_refunds_and_reversal_returns_the_money(payouts: Payouts, control, tenant):
    freeze(control)
    start = dec(payouts.balance())
    failed = payouts.transfer(tid(), "1.11")
    by_name = payouts.beneficiary("BENFAIL01", "FAIL Kumar")
    failed_by_name = payouts.transfer(tid(), "40.00", beneficiary=by_name["beneficiaryId"])
    reversed_ = payouts.transfer(tid(), "2.22")
    by_remark = payouts.transfer(tid(), "30.00", transferRemark="REVERSE me")
    assert dec(payouts.balance()) == start - Decimal("73.33")
    advance(control, 5)
    assert payouts.get(failed["transactionId"])["reasonCode"] == "BENEFICIARY_BANK_DECLINED"
    assert payouts.get(failed_by_name["transactionId"])["payoutStatus"] == "FAILED"
    assert payouts.get(reversed_["transactionId"])["payoutStatus"] == "SUCCESS"
    assert dec(payouts.balance()) == start - Decimal("32.22")
    advance(control, 3600)
    again = payouts.get(reversed_["transactionId"])
    assert (again["payoutStatus"], again["reasonCode"]) == ("REVERSED", "RETURNED_BY_BENEFICIARY_BANK")
    assert payouts.get(by_remark["transactionId"])["payoutStatus"] == "REVERSED"
    assert dec(payouts.balance()) == start
    rows = payouts.statement()
    # every row's running balance follows from the previous one and its own amount
    running = Decimal(0)
    for row in rows:
        amount = dec(row["transactionAmount"])
        running += amount if row["transactionType"] == "CREDIT" else -amount
        assert dec(row["runningBalance"]) == running, row
    kinds = [(r["transactionId"], r["transactionType"]) for r in rows]
    assert kinds.count((failed["transactionId"], "DEBIT")) == 1 and kinds.count((failed["transactionId"], "CREDIT")) == 1
    assert kinds.count((reversed_["transactionId"], "CREDIT")) == 1
    assert rows[0]["transactionMode"] == "FUND_IN" and running == start
    audit_ok(payouts_sandbox(control), tenant["partnerId"])


def test_pending_magic_waits_until_forced(payouts: Payouts, control, tenant):
    freeze(control)
    held = payouts.transfer(tid(), "20.00", transferRemark="PENDING approval")
    advance(control, 6 * 3600)  # (less than the token's lifetime of a day)
    assert payouts.get(held["transactionId"])["payoutStatus"] == "PROCESSING"
    path = f"/payouts/transfers/{held['enkashTransactionId']}/advance"
    assert control.post(path, json={"to": "REVERSED"}).status_code == 409
    done = control.post(path, json={"to": "SUCCESS"})
    assert done.status_code == 200 and done.json()["payoutStatus"] == "SUCCESS"
    assert control.post(path, json={"to": "SUCCESS"}).status_code == 409
    back = control.post(path, json={"to": "REVERSED", "reasonCode": "ACCOUNT_CLOSED"}).json()
    assert back["payoutStatus"] == "REVERSED" and back["reasonCode"] == "ACCOUNT_CLOSED"
    assert [t["status"] for t in back["timeline"]] == ["PROCESSING", "SUCCESS", "REVERSED"]
    assert [r["type"] for r in back["ledger"]] == ["PAYOUT_DEBIT", "PAYOUT_DEBIT", "PAYOUT_SETTLED", "PAYOUT_REVERSAL"]
    assert control.post("/payouts/transfers/EKPTNOSUCH0000/advance", json={"to": "SUCCESS"}).status_code == 404
    audit_ok(payouts_sandbox(control), tenant["partnerId"])


def test_batch_items_wait_pending_then_settle(payouts: Payouts, control, tenant):
    freeze(control)
    batch_id = tid("BT")
    ok_ids = [tid() for _ in range(3)]
    transfers = [{"transactionId": t, "beneficiaryId": "BENBANK001", "transferAmount": "10.00"} for t in ok_ids]
    transfers += [
        {"transactionId": ok_ids[0], "beneficiaryId": "BENBANK001", "transferAmount": "10.00"},
        {"transactionId": tid(), "beneficiaryId": "NOSUCH", "transferAmount": "10.00"},
        {"transactionId": "bad id", "beneficiaryId": "BENBANK001", "transferAmount": "10.00"},
    ]
    answer = payouts.ok("POST", BATCH, {"batchTransactionId": batch_id, "transfers": transfers})
    assert [t["transactionId"] for t in answer["successfulPayoutTransactionCreateResponses"]] == ok_ids
    assert {t["payoutStatus"] for t in answer["successfulPayoutTransactionCreateResponses"]} == {"PENDING"}
    assert [t["reasonCode"] for t in answer["failedPayoutTransactionCreateResponses"]] == [
        "REJECT_TXN_ID",
        "REJECT_BENEF_ID",
        "REJECT_TXN_ID",
    ]
    advance(control, 2)
    assert payouts.get(ok_ids[1])["payoutStatus"] == "PROCESSING"
    advance(control, 5)
    listed = payouts.ok("POST", f"{TRANSFER}/search", {"batchTransactionId": batch_id, "payoutStatus": "SUCCESS"})
    assert listed["totalElements"] == 3
    audit_ok(payouts_sandbox(control), tenant["partnerId"])


def test_whitelist_keeps_one_active_source_account(payouts: Payouts, control, tenant):
    first = payouts.ok("POST", WHITELIST, {"accountNumber": "111122223333", "ifsc": "ICIC0000001"})
    assert first["response_code"] == 0 and first["payload"]["status"] == "ACTIVE"
    payouts.ok("POST", WHITELIST, {"accountNumber": "444455556666", "ifsc": "icic0000002", "companyId": tenant["companyId"]})
    details = payouts.ok("GET", "/api/v0/bankDetail")["payload"]
    assert details["active"]["accountNumber"] == "444455556666"
    assert [h["status"] for h in details["history"]] == ["ACTIVE", "INACTIVE"]
    refused = control.post(
        f"/payouts/accounts/{payouts.fund_source}/fund", json={"amount": "10.00", "fromAccountNumber": "111122223333"}
    )
    assert refused.status_code == 409
    funded = control.post(
        f"/payouts/accounts/{payouts.fund_source}/fund", json={"amount": "10.00", "fromAccountNumber": "444455556666"}
    )
    assert funded.status_code == 200 and funded.json()["fromAccountNumber"] == "444455556666"
    assert payouts.statement()[-1]["remarks"] == "Fund in from 444455556666"


def test_balance_is_plain_json(sandbox, payouts: Payouts):
    token = payouts.client.access_token()
    answer = httpx.get(
        f"{sandbox.url}/api/v0/payout-account/balance",
        params={"fundSourceId": payouts.fund_source, "debitAccountNumber": ""},
        headers={"Authorization": f"Bearer {token}", "User-Agent": "partner/1"},
    )
    assert answer.status_code == 200 and set(answer.json()) in ({"totalBalance"}, {"request"})


def test_webhooks_for_each_state_change(sandbox, payouts: Payouts, control):
    freeze(control)
    with WebhookReceiver() as receiver:
        registered = payouts.ok(
            "POST",
            "/api/v0/webhook-data",
            {
                "webhookUrl": receiver.url,
                "events": ["PAYOUT_SUCCESS", "PAYOUT_PENDING", "PAYOUT_FAILED"],
                "headers": {"X-Partner-Key": "k1"},
            },
        )
        assert registered["response_code"] == 0
        ok = payouts.transfer(tid(), "77.00")
        bad = payouts.transfer(tid(), "1.11")
        pending = receiver.wait_for("PAYOUT_PENDING", timeout=10, count=2)
        assert pending["payoutStatus"] == "PROCESSING"
        # nobody reads: the background sweeper settles them (and the outbox delivers)
        advance(control, 5)
        success = receiver.wait_for("PAYOUT_SUCCESS", timeout=10)
        failed = receiver.wait_for("PAYOUT_FAILED", timeout=10)
        assert success["transactionId"] == ok["transactionId"] and dec(success["transferAmount"]) == Decimal("77.00")
        assert len(success["utr"]) == 12 and success["fundSourceId"] == payouts.fund_source
        assert failed["transactionId"] == bad["transactionId"] and failed["reasonCode"] == "BENEFICIARY_BANK_DECLINED"
        assert receiver.events("PAYOUT_SUCCESS")[0].headers.get("x-partner-key") == "k1"
        assert len(receiver.events("PAYOUT_SUCCESS")) == 1


def test_profile_choices(sandbox, payouts: Payouts, control, tenant):
    partner = tenant["partnerId"]
    changed = control.patch(
        f"/partners/{partner}/profile",
        json={"inFlightStatus": "CALL_MADE", "defaultTransferMode": "NEFT", "statementAmount": "paise", "tokenCasing": "camel"},
    )
    assert changed.status_code == 200, changed.text
    fresh = Payouts(sandbox.url, tenant)
    try:
        sent = fresh.ok("POST", TRANSFER, {"transactionId": tid(), "beneficiaryId": "BENBANK001", "transferAmount": "12.34"})
        assert (sent["transferMode"], sent["payoutStatus"]) == ("NEFT", "NEFT_CALL_MADE")
        rows = fresh.statement()
        assert rows[-1]["transactionAmount"] == 1234 and isinstance(rows[-1]["transactionAmount"], int)
    except KeyError:
        pytest.fail("the client could not read a camelCase token")
    finally:
        fresh.close()
    token = httpx.post(f"{sandbox.url}/oauth/token", data=password_form(tenant), headers={"Authorization": basic(tenant)}).json()
    assert set(token) == {"accessToken", "tokenType", "expiresIn", "refreshToken"}
    control.patch(f"/partners/{partner}/profile", json={"tokenCasing": None})


def test_control_plane_lists(payouts: Payouts, control, tenant):
    sent = payouts.transfer(tid(), "5.00")
    accounts = control.get("/payouts/accounts", params={"partner": tenant["partnerId"]}).json()
    assert [a["fundSourceId"] for a in accounts] == [payouts.fund_source] and accounts[0]["payoutsEnabled"] is True
    listed = control.get("/payouts/transfers", params={"partner": tenant["partnerId"], "limit": 5}).json()
    assert listed[0]["enkashTransactionId"] == sent["enkashTransactionId"]
    assert control.get("/payouts/transfers", params={"status": "NOPE"}).status_code == 422
    statement = control.get(f"/payouts/accounts/{payouts.fund_source}/statement").json()
    assert statement["data"][-1]["transactionId"] == sent["transactionId"]
    assert control.get("/payouts/accounts/EKNOSUCH00/statement").status_code == 404
    assert control.post("/payouts/accounts/EKNOSUCH00/fund", json={"amount": "1.00"}).status_code == 404
    assert control.post(f"/payouts/accounts/{payouts.fund_source}/fund", json={"amount": "-1"}).status_code == 422
    assert control.post("/partners/CRNOSUCH/payouts", json={"enabled": False}).status_code == 404
    for weird in ("%00", "a%2Fb", "x" * 300):
        assert control.get(f"/payouts/transfers/{weird}").status_code == 404
        assert control.get(f"/payouts/accounts/{weird}/statement").status_code == 404
    assert control.get("/payouts/transfers", params={"partner": "\x00"}).status_code == 404


def test_a_tenant_reset_puts_payouts_back(sandbox, payouts: Payouts, control, tenant):
    payouts.beneficiary("BENRESET1")
    payouts.transfer(tid(), "500.00")
    assert dec(payouts.balance()) == Decimal("999500.00")
    assert control.post(f"/partners/{tenant['partnerId']}/reset").status_code == 200
    assert dec(payouts.balance()) == Decimal("1000000.00")
    assert payouts.ok("POST", f"{TRANSFER}/search", {})["totalElements"] == 0
    assert payouts.ok("POST", f"{BENEFICIARY}/search", {"beneficiaryId": "BENRESET1"})["totalElements"] == 0
    audit_ok(sandbox, tenant["partnerId"])


def test_a_magic_value_says_so(sandbox, payouts: Payouts):
    from enkash_sandbox import crypto

    token = payouts.client.access_token()
    secret = payouts.creds["clientSecret"]

    def send(**fields) -> httpx.Response:
        body = {"transactionId": tid(), "beneficiaryId": "BENBANK001", "transferAmount": "10.00", **fields}
        return httpx.post(
            f"{sandbox.url}{TRANSFER}", json=crypto.encrypt_json(body, secret), headers={"Authorization": f"Bearer {token}"}
        )

    assert send(transferAmount="1.11").headers["x-sandbox-magic"] == "transferAmount=1.11"
    assert send(transferRemark="REVERSE this").headers["x-sandbox-magic"] == "transferRemark=REVERSE"
    ordinary = send(transferRemark="Rent December")
    assert ordinary.status_code == 200 and "x-sandbox-magic" not in ordinary.headers
