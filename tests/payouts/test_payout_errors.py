"""Every documented payout failure (Payout API Response Codes) through the encrypted envelope as a partner sends
it: the HTTP status is the code, the body `{"response_code": <code>, "response_message": <documented message>}`;
and no input, however malformed, gets a 500."""

from __future__ import annotations

import itertools

import httpx
import pytest
from enkash_sandbox import crypto

from tests.payouts.conftest import BALANCE, BATCH, BENEFICIARY, STATEMENT, TRANSFER, WHITELIST, Payouts

BANK = {"beneficiaryAccountNumber": "50100123456789", "beneficiaryIfsc": "HDFC0000123"}
_ids = itertools.count(1)


def fresh(prefix: str = "B") -> str:
    return f"{prefix}{next(_ids):06d}"


def assert_error(answer: tuple[int, object], status: int, message: str) -> None:
    code, body = answer
    assert (code, body) == (status, {"response_code": status, "response_message": message}), answer


BENEFICIARY_CASES = [
    # (fields, status, documented message)
    (
        {"beneficiaryName": "Asha Rao", "beneficiaryAccountNumber": "50100123456789"},
        412,
        "Bank account and IFSC both are required",
    ),
    ({"beneficiaryName": "Asha Rao", "beneficiaryIfsc": "HDFC0000123"}, 412, "Bank account and IFSC both are required"),
    ({"beneficiaryName": "Asha Rao"}, 412, "Bank account and IFSC both are required"),
    (
        {"beneficiaryName": "Asha Rao", **BANK, "vpaHandle": "asha@okhdfc"},
        412,
        "Bank account and VPA both provided; provide only one to add the beneficiary",
    ),
    ({"beneficiaryName": "Asha Rao", **BANK, "companyId": "CEK0000000"}, 412, "Invalid Company ID"),
    ({"beneficiaryName": "Asha R4o", **BANK}, 422, "Please provide a valid name"),
    ({"beneficiaryName": "A" * 101, **BANK}, 422, "Please provide a valid name"),
    ({"beneficiaryName": "", **BANK}, 422, "Please provide a valid name"),
    ({"beneficiaryName": "Asha Rao", "vpaHandle": "asha-at-bank"}, 422, "Please provide a valid Virtual Payee Address (VPA)"),
    ({"beneficiaryName": "Asha Rao", "vpaHandle": "asha@ok-hdfc"}, 422, "Please provide a valid Virtual Payee Address (VPA)"),
    ({"beneficiaryName": "Asha Rao", **BANK, "beneficiaryEmail": "asha.example.com"}, 422, "Please provide a valid email"),
    ({"beneficiaryName": "Asha Rao", **BANK, "beneficiaryPhone": "12345"}, 422, "Please provide a valid phone number"),
    (
        {"beneficiaryName": "Asha Rao", **BANK, "beneficiaryIfsc": "HDFC1000123"},
        422,
        "Invalid or missing parameter in the request",
    ),
    (
        {"beneficiaryName": "Asha Rao", **BANK, "beneficiaryPincode": "5600011"},
        422,
        "Invalid or missing parameter in the request",
    ),
    ({"beneficiaryName": "Asha Rao", **BANK, "companyId": "XYZ"}, 422, "Invalid or missing parameter in the request"),
    ({"beneficiaryName": ["Asha"], **BANK}, 422, "Invalid request format"),
]


@pytest.mark.parametrize(("fields", "status", "message"), BENEFICIARY_CASES)
def test_beneficiary_field_rules(payouts: Payouts, fields, status, message):
    assert_error(payouts.call("POST", BENEFICIARY, {"beneficiaryId": fresh(), **fields}), status, message)


@pytest.mark.parametrize("beneficiary_id", [None, "", "BEN-01", "B" * 51, "BEN 01"])
def test_beneficiary_id_rule(payouts: Payouts, beneficiary_id):
    body = {"beneficiaryName": "Asha Rao", **BANK}
    if beneficiary_id is not None:
        body["beneficiaryId"] = beneficiary_id
    assert_error(payouts.call("POST", BENEFICIARY, body), 422, "Please provide a valid Beneficiary ID")


def test_duplicate_beneficiary_and_own_company(payouts: Payouts, tenant):
    bid = fresh()
    created = payouts.beneficiary(bid, companyId=tenant["companyId"])
    assert created["beneficiaryId"] == bid and created["status"] == "ACTIVE"
    assert_error(
        payouts.call("POST", BENEFICIARY, {"beneficiaryId": bid, "beneficiaryName": "Other Name", **BANK}),
        409,
        "Beneficiary ID already exists",
    )
    # a deleted beneficiary's id stays taken
    assert payouts.ok("DELETE", f"{BENEFICIARY}/{bid}") == {"beneficiaryId": bid, "status": "DELETED"}
    assert_error(
        payouts.call("POST", BENEFICIARY, {"beneficiaryId": bid, "beneficiaryName": "Other Name", **BANK}),
        409,
        "Beneficiary ID already exists",
    )
    assert_error(payouts.call("DELETE", f"{BENEFICIARY}/{bid}"), 422, "Please provide a valid Beneficiary ID")


def test_transfer_shape_failures(payouts: Payouts):
    assert_error(
        payouts.call("POST", TRANSFER, {"transactionId": fresh("T"), "transferAmount": 10}), 422, "No beneficiary details present"
    )
    for bad_id in (None, "", "T 1", "T" * 51, ["T1"]):
        body = {"beneficiaryId": "BENBANK001", "transferAmount": 10}
        if bad_id is not None:
            body["transactionId"] = bad_id
        assert_error(payouts.call("POST", TRANSFER, body), 422, "Invalid or missing parameter in the request")
    for bad in (
        {"transferAmount": {"value": 1}},
        {"transferAmount": "ten"},
        {"transferAmount": True},
        {"transferMode": ["IMPS"]},
        {"beneficiaryDetail": "x"},
    ):
        body = {"transactionId": fresh("T"), "beneficiaryId": "BENBANK001", "transferAmount": 10, **bad}
        assert_error(payouts.call("POST", TRANSFER, body), 422, "Invalid request format")
    assert_error(payouts.call("POST", TRANSFER, [1, 2]), 422, "Invalid request format")


def test_duplicate_transaction_and_batch_ids(payouts: Payouts):
    txn = fresh("T")
    assert payouts.transfer(txn, "10.00")["payoutStatus"] == "PROCESSING"
    assert_error(
        payouts.call("POST", TRANSFER, {"transactionId": txn, "beneficiaryId": "BENBANK001", "transferAmount": 10}),
        409,
        "Transaction ID already exists",
    )
    batch = {
        "batchTransactionId": fresh("BT"),
        "transfers": [{"transactionId": fresh("T"), "beneficiaryId": "BENBANK001", "transferAmount": 5}],
    }
    assert payouts.ok("POST", BATCH, batch)["batchTransactionId"] == batch["batchTransactionId"]
    assert_error(
        payouts.call(
            "POST",
            BATCH,
            {**batch, "transfers": [{"transactionId": fresh("T"), "transferAmount": 5, "beneficiaryId": "BENBANK001"}]},
        ),
        409,
        "Batch Transaction ID already exists",
    )
    assert_error(
        payouts.call("POST", BATCH, {"batchTransactionId": fresh("BT"), "transfers": []}),
        422,
        "Invalid or missing parameter in the request",
    )
    assert_error(payouts.call("POST", BATCH, {"batchTransactionId": fresh("BT"), "transfers": {}}), 422, "Invalid request format")


def test_balance_statement_and_whitelist_parameters(payouts: Payouts):
    assert_error(
        payouts.call("GET", BALANCE, params={"fundSourceId": "EKNOSUCH00"}), 422, "Invalid or missing parameter in the request"
    )
    assert_error(payouts.call("GET", BALANCE), 422, "Invalid or missing parameter in the request")
    assert_error(
        payouts.call(
            "POST",
            STATEMENT,
            {
                "fundSourceId": payouts.fund_source,
                "debitAccountNumber": "",
                "fromDate": "yesterday",
                "toDate": "2100-01-01T00:00:00Z",
            },
        ),
        422,
        "Invalid or missing parameter in the request",
    )
    assert_error(
        payouts.call("POST", STATEMENT, {"fundSourceId": payouts.fund_source}), 422, "Invalid or missing parameter in the request"
    )
    assert_error(
        payouts.call("POST", WHITELIST, {"accountNumber": "12345", "ifsc": "HDFC0000123"}),
        422,
        "Invalid or missing parameter in the request",
    )
    assert_error(
        payouts.call("POST", WHITELIST, {"accountNumber": "123456789012", "ifsc": "HDFC0000123", "companyId": "CEK0000000"}),
        412,
        "Invalid Company ID",
    )


def test_a_foreign_partners_company_is_invalid(sandbox, payouts: Payouts):
    other = sandbox.provision()
    body = {"beneficiaryId": fresh(), "beneficiaryName": "Asha Rao", **BANK, "companyId": other["companyId"]}
    assert_error(payouts.call("POST", BENEFICIARY, body), 412, "Invalid Company ID")


def test_invalid_encrypted_request_and_user_agent(sandbox, payouts: Payouts):
    token = payouts.client.access_token()
    headers = {"Authorization": f"Bearer {token}", "User-Agent": "partner-app/1.0", "Content-Type": "application/json"}
    answer = httpx.post(f"{sandbox.url}{TRANSFER}", json={"request": "bm90IGEgY2lwaGVydGV4dA=="}, headers=headers, timeout=30)
    assert answer.status_code == 422 and answer.json()["response_message"].startswith("Invalid encrypted request")
    # no User-Agent: the payout pages list it as required
    sealed = crypto.encrypt_json(
        {"transactionId": fresh("T"), "beneficiaryId": "BENBANK001", "transferAmount": 10}, payouts.creds["clientSecret"]
    )
    bare = httpx.Client(headers={"User-Agent": ""})
    try:
        answer = bare.post(f"{sandbox.url}{TRANSFER}", json=sealed, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    finally:
        bare.close()
    assert answer.status_code == 422
    body = answer.json()
    if set(body) == {"request"}:
        body = crypto.decrypt_json(body, payouts.creds["clientSecret"])
    assert body == {"response_code": 422, "response_message": "Invalid or missing parameter in the request"}
    assert "User-Agent" in answer.headers.get("x-sandbox-explain", "")


def test_double_encoded_plaintext_is_read(sandbox, payouts: Payouts):
    """The Node sample's quirk: JSON.stringify of an already serialised body (a JSON string holding the JSON)."""
    import json

    inner = json.dumps({"transactionId": fresh("T"), "beneficiaryId": "BENBANK001", "transferAmount": "12.00"})
    sealed = {"request": crypto.encrypt(json.dumps(inner).encode(), payouts.creds["clientSecret"])}
    token = payouts.client.access_token()
    answer = httpx.post(f"{sandbox.url}{TRANSFER}", json=sealed, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200
    assert crypto.decrypt_json(answer.json(), payouts.creds["clientSecret"])["payoutStatus"] == "PROCESSING"


def test_payouts_switched_off_answer_403(sandbox, tenant, payouts: Payouts, control):
    assert control.post(f"/partners/{tenant['partnerId']}/payouts", json={"enabled": False}).status_code == 200
    try:
        assert_error(
            payouts.call("POST", TRANSFER, {"transactionId": fresh("T"), "beneficiaryId": "BENBANK001", "transferAmount": 10}),
            403,
            "APIs not enabled",
        )
        assert_error(payouts.call("GET", BALANCE, params={"fundSourceId": payouts.fund_source}), 403, "APIs not enabled")
    finally:
        control.post(f"/partners/{tenant['partnerId']}/payouts", json={"enabled": True})
    assert payouts.transfer(fresh("T"), "10.00")["payoutStatus"] == "PROCESSING"


GARBAGE = [
    None,
    {},
    [],
    "text",
    12,
    {"transactionId": 1e308, "transferAmount": 1e308, "beneficiaryId": "BENBANK001"},
    {"transactionId": "T1x", "transferAmount": "1e400", "beneficiaryId": "BENBANK001"},
    {"transactionId": "T2x", "transferAmount": "NaN", "beneficiaryId": "BENBANK001"},
    {"transactionId": "T3x", "transferAmount": -5, "beneficiaryDetail": {"beneficiaryName": None}},
    {"transactionId": "T4x", "transferAmount": 10, "beneficiaryDetail": {"beneficiaryName": "X", "vpaHandle": 5}},
    {"transactionId": "T5x", "transferAmount": 10, "beneficiaryId": "\u0000\u202e"},
    {"batchTransactionId": "B", "transfers": [None, 1, "x", {"transactionId": None}, {"transactionId": "T6x"}]},
    {"fundSourceId": {}, "debitAccountNumber": [], "fromDate": 1, "toDate": None},
    {"page": -1, "size": 10**9},
    {"page": "0", "size": True},
    {"accountNumber": "1" * 10_000, "ifsc": None},
]


@pytest.mark.parametrize(
    "path", [BENEFICIARY, f"{BENEFICIARY}/search", TRANSFER, f"{TRANSFER}/search", BATCH, STATEMENT, WHITELIST]
)
def test_no_500_on_bad_input(payouts: Payouts, path):
    for body in GARBAGE:
        status, data = payouts.call("POST", path, body)
        assert status < 500, (path, body, status, data)
    for weird in ("%00", "x" * 500, "..%2f..%2f", "T%20T"):
        assert payouts.call("GET", f"{TRANSFER}/{weird}")[0] < 500
        assert payouts.call("DELETE", f"{BENEFICIARY}/{weird}")[0] < 500
        assert payouts.call("GET", BALANCE, params={"fundSourceId": weird})[0] < 500


def test_faults_apply_to_payout_calls(payouts: Payouts):
    """X-Sandbox-Fault answers for the sandbox before the route runs: nothing is recorded, so the same
    transactionId goes through afterwards."""
    txn = fresh("T")
    body = {"transactionId": txn, "beneficiaryId": "BENBANK001", "transferAmount": 10}
    status, _ = payouts.call("POST", TRANSFER, body, headers={"X-Sandbox-Fault": "503"})
    assert status == 503
    assert payouts.ok("POST", TRANSFER, body)["payoutStatus"] == "PROCESSING"
