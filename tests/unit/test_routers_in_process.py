"""The vendor routers and the control plane driven in process (no socket): token, a card's life in one round trip,
EnKash's failure shape for bad input, and the control plane's refusals. One app for the whole module."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from enkash_sandbox import crypto
from enkash_sandbox.client import EnKashBusinessError, EnKashClient, EnKashHTTPError

from tests.unit.conftest import in_process

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture(scope="module")
def http():
    with in_process(seed=5) as client:
        yield client


@pytest.fixture(scope="module")
def tenant(http) -> dict:
    response = http.post("/_sandbox/partners", json={"encryption": "off", "fundBalance": "5000"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def partner(http, tenant) -> EnKashClient:
    # the partner's own client, on the in-process transport; no encryption (the tenant is "off")
    return EnKashClient.from_credentials("http://testserver", tenant, http=http, encrypt=False)


def basic(creds: dict) -> str:
    return "Basic " + base64.b64encode(f"{creds['clientId']}:{creds['clientSecret']}".encode()).decode()


def token_form(creds: dict, **over) -> dict:
    return {
        "username": creds["username"],
        "password": creds["password"],
        "grant_type": "password",
        "clientId": creds["clientId"],
        **over,
    }


def ref(creds: dict, kind: str = "RELOADABLE_GPR") -> dict:
    return {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"][kind]}


def vendor_headers(partner: EnKashClient) -> dict:
    return {"Authorization": f"Bearer {partner.access_token()}", "partnerId": partner.partner_id}


# -- token ----------------------------------------------------------------------------------------------
def test_the_password_grant_issues_a_spring_oauth_token(http, tenant):
    response = http.post("/oauth/token", data=token_form(tenant), headers={"Authorization": basic(tenant)})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "refresh_token", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 86399 and len(body["access_token"]) == 27
    assert response.headers["cache-control"] == "no-store"


def test_the_token_answers_for_bad_credentials(http, tenant):
    missing = http.post("/oauth/token", data=token_form(tenant))
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    wrong_client = http.post(
        "/oauth/token", data=token_form(tenant), headers={"Authorization": basic({**tenant, "clientSecret": "x"})}
    )
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"
    # one wrong password (not three: that would lock the module's tenant)
    wrong = http.post("/oauth/token", data=token_form(tenant, password="not-it"), headers={"Authorization": basic(tenant)})
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_grant", "error_description": "Bad credentials"}


def test_a_vendor_call_without_a_token_is_refused(http, tenant):
    response = http.post(f"{CARD}/search", json=ref(tenant), headers={"partnerId": tenant["partnerId"]})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


# -- a card's round trip --------------------------------------------------------------------------------
def test_create_load_and_search_a_card(partner, tenant):
    account = ref(tenant)
    before = partner.card_account(*account.values())["availableBalance"]
    card = partner.create_card(**account, mobile="9876500011", firstName="Asha")
    assert card["enKashCardId"].startswith("EKC") and card["otbBalance"] == 0
    assert card["mobile"] == "9876500011" and card["cardStatus"]["name"] == "UL"

    loaded = partner.load(*account.values(), card["enKashCardId"], "250.50", reference="UNIT-LOAD-1")
    assert loaded["status"] == "SUCCESS" and loaded["amount"] == 250.5 and loaded["pgReferenceNumber"] == "UNIT-LOAD-1"
    assert loaded["otbBalance"] == 250.5
    # the client reads money as the answer wrote it: Decimal (or int for a whole number), never through float
    assert isinstance(loaded["otbBalance"], Decimal) and isinstance(before, int | Decimal)
    assert loaded["accountBalance"] == before - Decimal("250.50")

    found = partner.search_cards(*account.values(), card["enKashCardId"])
    assert found["enKashCardId"] == card["enKashCardId"] and found["otbBalance"] == 250.5
    assert partner.card_account(*account.values())["availableBalance"] == loaded["accountBalance"]

    # the same reference again moves nothing: a business failure in HTTP 200
    with pytest.raises(EnKashBusinessError, match="Duplicate uniqueReferenceNumber"):
        partner.load(*account.values(), card["enKashCardId"], "1", reference="UNIT-LOAD-1")
    assert partner.search_cards(*account.values(), card["enKashCardId"])["otbBalance"] == 250.5


def test_an_overdraw_is_a_business_failure_and_moves_nothing(partner, tenant):
    account = ref(tenant, "GIFT")
    card = partner.create_card(**account, mobile="9876500012", firstName="Ravi", loadAmount=10)
    status, body = partner.request(
        "POST",
        f"{CARD}/balance",
        {**account, "enKashCardId": card["enKashCardId"], "amount": 50, "transactionType": "DR"},
        raw=True,
    )
    assert status == 200 and body["response_code"] == 1 and body["payload"] == body["response_message"]
    assert partner.search_cards(*account.values(), card["enKashCardId"])["otbBalance"] == 10


# -- EnKash's failure shape for bad input ---------------------------------------------------------------
def test_a_missing_mandatory_field_is_400_in_enkashs_envelope(http, partner, tenant):
    response = http.post(f"{CARD}/search", json={"companyId": tenant["companyId"]}, headers=vendor_headers(partner))
    assert response.status_code == 400
    assert response.json() == {
        "response_code": 1,
        "response_message": "Mandatory parameter missing: cardAccountId",
        "payload": "Mandatory parameter missing: cardAccountId",
        "errors": [{"field": "cardAccountId", "message": "is required"}],
    }


def test_an_invalid_value_is_422_naming_the_field(http, partner, tenant):
    body = {**ref(tenant), "mobile": "12", "firstName": "Bad"}
    response = http.post(CARD, json=body, headers=vendor_headers(partner))
    assert response.status_code == 422
    data = response.json()
    assert data["response_code"] == 1 and data["payload"] == data["response_message"]
    assert [e["field"] for e in data["errors"]] == ["mobile"]
    assert "mobile" in data["response_message"]


@pytest.mark.parametrize("amount", ["-5", 0, "0.001", "NaN"])
def test_amounts_money_cannot_be_are_422(http, partner, tenant, amount):
    body = {**ref(tenant), "enKashCardId": "EKC0000000", "amount": amount, "transactionType": "CR"}
    response = http.post(f"{CARD}/balance", json=body, headers=vendor_headers(partner))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "amount"


def test_json_with_nan_is_refused_as_jackson_would(http, partner, tenant):
    raw = b'{"companyId": "%s", "cardAccountId": "%s", "x": NaN}' % (
        tenant["companyId"].encode(),
        ref(tenant)["cardAccountId"].encode(),
    )
    response = http.post(f"{CARD}/search", content=raw, headers={**vendor_headers(partner), "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["response_code"] == 1


def test_another_tenants_account_answers_like_an_unknown_one(http, partner, tenant):
    other = http.post("/_sandbox/partners", json={"encryption": "off"}).json()
    mine = {"companyId": tenant["companyId"], "cardAccountId": other["cardAccounts"]["GIFT"]}
    with pytest.raises(EnKashHTTPError) as caught:
        partner.card_account(*mine.values())
    assert caught.value.status == 404
    assert caught.value.body["response_message"] == (
        f"Card account not found for companyId: {tenant['companyId']} and cardAccountId: {other['cardAccounts']['GIFT']}"
    )


def test_a_magic_amount_answers_its_documented_status_and_moves_nothing(partner, tenant):
    account = ref(tenant)
    card = partner.create_card(**account, mobile="9876500013", firstName="Magic")
    status, body = partner.request(
        "POST",
        f"{CARD}/balance",
        {**account, "enKashCardId": card["enKashCardId"], "amount": "4.22", "transactionType": "CR"},
        raw=True,
    )
    assert status == 422 and body["response_code"] == 1
    assert partner.search_cards(*account.values(), card["enKashCardId"])["otbBalance"] == 0


def test_a_required_encryption_tenant_refuses_plain_json(http):
    creds = http.post("/_sandbox/partners", json={"encryption": "required"}).json()
    token = http.post("/oauth/token", data=token_form(creds), headers={"Authorization": basic(creds)}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "partnerId": creds["partnerId"]}
    plain = http.post(f"{CARD}/cardAccount/get", json=ref(creds), headers=headers)
    assert plain.status_code == 422 and plain.json()["response_message"].startswith("Invalid encrypted request")
    sealed = http.post(f"{CARD}/cardAccount/get", json=crypto.encrypt_json(ref(creds), creds["clientSecret"]), headers=headers)
    assert sealed.status_code == 200 and set(sealed.json()) == {"request"}
    assert crypto.decrypt_json(sealed.json(), creds["clientSecret"])["payload"]["cardAccountId"] == ref(creds)["cardAccountId"]


def test_a_foreign_host_is_refused(http):
    response = http.get("/_sandbox/health", headers={"Host": "evil.example"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_host"
    assert http.get("/_sandbox/health").json()["status"] == "UP"


# -- the control plane ----------------------------------------------------------------------------------
def test_the_control_plane_refuses_bad_specs_with_422(http, tenant):
    fault = http.post("/_sandbox/faults", json={"action": {"type": "status", "status": 0}})
    assert fault.status_code == 422 and "action.status" in fault.json()["error"]
    fund = http.post(f"/_sandbox/card-accounts/{ref(tenant)['cardAccountId']}/fund", json={"amount": "-1"})
    assert fund.status_code == 422 and "amount" in fund.json()["error"]
    assert http.get("/_sandbox/faults").json() == []


def test_the_clock_refuses_to_leave_its_range_and_stays_put(http):
    before = http.get("/_sandbox/clock").json()
    response = http.post("/_sandbox/clock", json={"action": "set", "at": "1999-12-31T00:00:00Z"})
    assert response.status_code == 422 and "between 2000-01-01 and 2099-12-31" in response.json()["error"]
    after = http.get("/_sandbox/clock").json()
    assert after["frozen"] == before["frozen"] and after["offset_seconds"] == before["offset_seconds"]


def test_the_clock_freezes_and_comes_back(http):
    try:
        frozen = http.post("/_sandbox/clock", json={"action": "freeze", "at": "2031-02-03T04:05:06Z"}).json()
        assert frozen["frozen"] is True and frozen["now"] == "2031-02-03T04:05:06.000Z"
        moved = http.post("/_sandbox/clock", json={"action": "advance", "seconds": 60}).json()
        assert moved["now"] == "2031-02-03T04:06:06.000Z"
    finally:
        assert http.post("/_sandbox/clock", json={"action": "reset"}).json()["frozen"] is False


def test_a_fault_rule_applies_once_then_is_spent(http, partner, tenant):
    rule = http.post("/_sandbox/faults", json={"action": {"type": "status", "status": 503}, "path": f"{CARD}/search", "times": 1})
    assert rule.status_code == 201 and rule.json()["remaining"] == 1
    first = http.post(f"{CARD}/search", json=ref(tenant), headers=vendor_headers(partner))
    assert first.status_code == 503 and first.json()["response_code"] == 1
    second = http.post(f"{CARD}/search", json=ref(tenant), headers=vendor_headers(partner))
    assert second.status_code == 200
    assert http.delete("/_sandbox/faults").json() == {"deleted": 1}


def test_a_dashboard_form_without_its_csrf_token_is_refused(http):
    assert http.post("/_sandbox/ui/faults", data={"type": "drop"}, follow_redirects=False).status_code == 403
    assert http.post("/_sandbox/ui/faults", data={"type": "drop", "csrf": "0" * 64}, follow_redirects=False).status_code == 403
    assert http.get("/_sandbox/faults").json() == []
