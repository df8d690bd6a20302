"""The AES envelope on the wire: modes, failures, and that a refused request changes nothing."""

import json

import pytest
from enkash_sandbox import crypto

from tests.conftest import account_ref, token_for

CARD = "/api/v0/partner/enKashCard"


def headers(token, creds):
    return {"Authorization": f"Bearer {token}", "partnerId": creds["partnerId"], "Content-Type": "application/json"}


def balance(http, token, creds, kind="RELOADABLE_GPR"):
    r = http.post(
        f"{CARD}/cardAccount/get",
        content=json.dumps(crypto.encrypt_json(account_ref(creds, kind), creds["clientSecret"])),
        headers=headers(token, creds),
    )
    return crypto.decrypt_json(r.json(), creds["clientSecret"])["payload"]["availableBalance"]


def test_encrypted_request_gets_an_encrypted_response(http, tenant):
    token = token_for(http, tenant)
    r = http.post(
        f"{CARD}/cardAccount/get",
        json=crypto.encrypt_json(account_ref(tenant), tenant["clientSecret"]),
        headers=headers(token, tenant),
    )
    assert r.status_code == 200
    assert set(r.json()) == {"request"}
    body = crypto.decrypt_json(r.json(), tenant["clientSecret"])
    assert body["response_code"] == 0 and body["payload"]["cardAccountId"] == tenant["cardAccounts"]["RELOADABLE_GPR"]


def test_errors_of_an_encrypted_request_are_encrypted_too(http, tenant):
    token = token_for(http, tenant)
    r = http.post(
        f"{CARD}/cardAccount/get",
        json=crypto.encrypt_json({"companyId": tenant["companyId"]}, tenant["clientSecret"]),
        headers=headers(token, tenant),
    )
    assert r.status_code == 400
    body = crypto.decrypt_json(r.json(), tenant["clientSecret"])
    assert body["response_code"] == 1 and "cardAccountId" in body["response_message"]


def _create_card_body(creds):
    return {**account_ref(creds), "mobile": "9123456780", "firstName": "Plain", "loadAmount": 100}


@pytest.mark.parametrize(
    "make_body, reason",
    [
        (lambda c: json.dumps(_create_card_body(c)), "encryption is mandatory"),
        (lambda c: json.dumps({"request": "@@not-base64@@"}), "Base64"),
        # wrong key, truncated ciphertext, bad padding and non-JSON plaintext get one answer (no padding oracle)
        (lambda c: json.dumps(crypto.encrypt_json(_create_card_body(c), "another-secret")), "does not decrypt"),
        (
            lambda c: json.dumps({"request": crypto.encrypt_json(_create_card_body(c), c["clientSecret"])["request"][:-24]}),
            "does not decrypt",
        ),
        (lambda c: json.dumps({"request": crypto.encrypt("not json at all", c["clientSecret"])}), "does not decrypt"),
        (lambda c: json.dumps({"request": 12345}), "Base64"),
        (lambda c: json.dumps({"payload": "x"}), "encryption is mandatory"),
    ],
)
def test_bad_envelopes_are_clear_422s_and_move_nothing(http, tenant, make_body, reason):
    token = token_for(http, tenant)
    before = balance(http, token, tenant)
    r = http.post(CARD, content=make_body(tenant), headers=headers(token, tenant))
    assert r.status_code == 422
    body = r.json()
    assert body["response_code"] == 1 and reason in body["response_message"]
    assert body["payload"] == body["response_message"]
    assert balance(http, token, tenant) == before


def test_optional_mode_accepts_plain_json_and_answers_plain(http, sandbox):
    creds = sandbox.provision(encryption="optional")
    token = token_for(http, creds)
    r = http.post(f"{CARD}/cardAccount/get", json=account_ref(creds), headers=headers(token, creds))
    assert r.status_code == 200 and r.json()["response_code"] == 0
    enc = http.post(
        f"{CARD}/cardAccount/get",
        json=crypto.encrypt_json(account_ref(creds), creds["clientSecret"]),
        headers=headers(token, creds),
    )
    assert set(enc.json()) == {"request"}


def test_off_mode_never_decrypts(http, sandbox):
    creds = sandbox.provision(encryption="off")
    token = token_for(http, creds)
    r = http.post(f"{CARD}/cardAccount/get", json=account_ref(creds), headers=headers(token, creds))
    assert r.status_code == 200 and r.json()["payload"]["companyId"] == creds["companyId"]
    enc = http.post(
        f"{CARD}/cardAccount/get",
        json=crypto.encrypt_json(account_ref(creds), creds["clientSecret"]),
        headers=headers(token, creds),
    )
    assert enc.status_code == 400 and "encryption is off" in enc.json()["response_message"]


def test_malformed_json_inside_optional_mode_is_400(http, sandbox):
    creds = sandbox.provision(encryption="optional")
    token = token_for(http, creds)
    for raw in ('{"companyId": ', "[1,2]", '"text"', '{"a": NaN}'):
        r = http.post(f"{CARD}/cardAccount/get", content=raw, headers=headers(token, creds))
        assert r.status_code == 400, raw
        assert r.json()["response_code"] == 1


def test_body_over_one_mebibyte_is_413(http, tenant):
    token = token_for(http, tenant)
    r = http.post(CARD, content=b'{"x":"' + b"a" * (1024 * 1024) + b'"}', headers=headers(token, tenant))
    assert r.status_code == 413 and r.json()["response_code"] == 1
