"""The fidelity profile's keys through HTTP, the way a partner meets them (token, partnerId header, AES envelope):
both options of each key. searchById, transactionRows and balanceDebit are in test_cards.py, otpResponse and
replaceCardResponse in test_lifecycle.py, redemptionAuth in test_redemption.py."""

from __future__ import annotations

import httpx
import pytest
from enkash_sandbox import crypto, jsonio
from enkash_sandbox.client import EnKashClient

from tests.conftest import basic, password_form

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture
def partner(sandbox):
    """A fresh tenant with the given profile choices, and its client (encrypting, as encryption is required)."""
    opened: list[EnKashClient] = []

    def make(**choices):
        creds = sandbox.provision(profile=choices) if choices else sandbox.provision()
        client = EnKashClient.from_credentials(sandbox.url, creds)
        opened.append(client)
        return client, creds

    yield make
    for client in opened:
        client.close()


def send(client: EnKashClient, method: str, path: str, body=None, headers=None, params=None) -> tuple[httpx.Response, object]:
    """One call as the partner sends it (sealed body), answered with the raw response and its opened JSON."""
    hdrs = {"Authorization": f"Bearer {client.access_token()}", "partnerId": client.partner_id, **(headers or {})}
    content = None
    if body is not None:
        content = jsonio.dumps(crypto.encrypt_json(body, client.client_secret))
        hdrs["Content-Type"] = "application/json"
    response = client.http.request(method, f"{client.base_url}{path}", content=content, headers=hdrs, params=params)
    data = response.json() if response.content else None
    if isinstance(data, dict) and set(data) == {"request"}:
        data = crypto.decrypt_json(data, client.client_secret)
    return response, data


def gpr(creds: dict) -> dict:
    return {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}


# -- tokenTtlSeconds ------------------------------------------------------------------------------------------
def test_token_lifetime_is_a_profile_key(sandbox, http, partner):
    _, creds = partner(tokenTtlSeconds=300)
    token = http.post("/oauth/token", data=password_form(creds), headers={"Authorization": basic(creds)}).json()
    assert token["expires_in"] == 300
    headers = {"Authorization": f"Bearer {token['access_token']}", "partnerId": creds["partnerId"]}
    # by the sandbox clock: alive at 299 s, dead at 301 s
    http.post("/_sandbox/clock", json={"action": "freeze"})
    try:
        http.post("/_sandbox/clock", json={"action": "advance", "seconds": 299})
        assert http.get("/api/v0/coins/balance", params={"userId": "EK000000"}, headers=headers).status_code != 401
        http.post("/_sandbox/clock", json={"action": "advance", "seconds": 2})
        expired = http.get("/api/v0/coins/balance", params={"userId": "EK000000"}, headers=headers)
        assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    finally:
        http.post("/_sandbox/clock", json={"action": "reset"})
    # the default (the docs' example), and a change reaching the next token
    _, other = partner()
    assert (
        http.post("/oauth/token", data=password_form(other), headers={"Authorization": basic(other)}).json()["expires_in"]
        == 86399
    )
    http.patch(f"/_sandbox/partners/{other['partnerId']}/profile", json={"tokenTtlSeconds": 600})
    assert (
        http.post("/oauth/token", data=password_form(other), headers={"Authorization": basic(other)}).json()["expires_in"] == 600
    )


# -- magicValues ----------------------------------------------------------------------------------------------
def load(client, creds, card, amount):
    body = {**gpr(creds), "enKashCardId": card, "amount": amount, "transactionType": "CR"}
    return send(client, "POST", f"{CARD}/balance", body)


def test_a_magic_value_that_fires_is_announced(partner):
    client, creds = partner()
    card = client.create_card(**gpr(creds), mobile="9400000101", firstName="Magic", loadAmount=100)["enKashCardId"]
    response, body = load(client, creds, card, "1.11")
    assert body["response_message"] == "Insufficient balance in card account"
    assert response.headers["x-sandbox-magic"] == "amount=1.11"
    ordinary, _ = load(client, creds, card, "1.12")
    assert ordinary.status_code == 200 and "x-sandbox-magic" not in ordinary.headers


def test_magic_values_off_or_only_on_request(partner):
    client, creds = partner(magicValues="off")
    card = client.create_card(**gpr(creds), mobile="9400000102", firstName="Plain", loadAmount=100)["enKashCardId"]
    response, body = load(client, creds, card, "4.04")
    assert response.status_code == 200 and body["code"] == 0 and body["payload"]["otbBalance"] == 104.04
    assert "x-sandbox-magic" not in response.headers
    client, creds = partner(magicValues="header")
    card = client.create_card(**gpr(creds), mobile="9400000103", firstName="Asked", loadAmount=100)["enKashCardId"]
    quiet, _ = load(client, creds, card, "4.04")
    assert quiet.status_code == 200
    body = {**gpr(creds), "enKashCardId": card, "amount": "4.04", "transactionType": "CR"}
    asked, _ = send(client, "POST", f"{CARD}/balance", body, headers={"X-Sandbox-Magic": "on"})
    assert asked.status_code == 404 and asked.headers["x-sandbox-magic"] == "amount=4.04"


# -- getEncryption --------------------------------------------------------------------------------------------
def coin_balance(client, user_id):
    return send(client, "GET", "/api/v0/coins/balance", params={"userId": user_id})


def test_get_answers_are_sealed_for_a_required_partner(partner):
    client, creds = partner()
    user = client.create_card(**gpr(creds), mobile="9400000104", firstName="Sealed")["userId"]
    response, body = coin_balance(client, user)
    assert response.status_code == 200 and set(response.json()) == {"request"}
    assert body["response_code"] == 0 and body["payload"] == 0
    # a failure is sealed the same way (the partner is known); an unknown token is not (no key to seal with)
    missing, body = send(client, "GET", "/api/v0/coins/balance")
    assert missing.status_code == 400 and set(missing.json()) == {"request"} and body["response_code"] == 1
    unknown = client.http.get(
        f"{client.base_url}/api/v0/coins/balance", params={"userId": user}, headers={"Authorization": "Bearer nope"}
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_token"
    # the older GET form of order details, too
    response, body = send(client, "GET", "/api/v0/partner/fetch-order-details/NOPE-1")
    assert response.status_code == 404 and set(response.json()) == {"request"} and body["response_code"] == 1


def test_get_answers_stay_plain_under_the_profile_or_in_other_modes(sandbox, partner, http):
    client, creds = partner(getEncryption="plain")
    user = client.create_card(**gpr(creds), mobile="9400000105", firstName="Plain")["userId"]
    response, _ = coin_balance(client, user)
    assert response.status_code == 200 and response.json()["payload"] == 0
    # optional mode mirrors the request, and a GET sends no body: plain
    _, creds = partner()
    http.put(f"/_sandbox/partners/{creds['partnerId']}/encryption", json={"encryption": "optional"})
    with EnKashClient.from_credentials(sandbox.url, creds) as optional:
        response, _ = coin_balance(optional, "EK000000")
    assert response.status_code == 404 and response.json()["response_code"] == 1  # an unknown user, in plain JSON


# -- duplicateReference -----------------------------------------------------------------------------------------
def test_a_duplicate_reference_is_refused_and_says_the_rule_is_inferred(partner):
    client, creds = partner()
    card = client.create_card(**gpr(creds), mobile="9400000106", firstName="Dup", loadAmount=10)["enKashCardId"]
    body = {**gpr(creds), "enKashCardId": card, "amount": 5, "transactionType": "CR", "uniqueReferenceNumber": "D-1"}
    first, _ = send(client, "POST", f"{CARD}/balance", body)
    assert first.status_code == 200 and "x-sandbox-inferred" not in first.headers
    again, answer = send(client, "POST", f"{CARD}/balance", body)
    assert (
        again.status_code == 200
        and answer["response_code"] == 1
        and "Duplicate uniqueReferenceNumber" in answer["response_message"]
    )
    assert again.headers["x-sandbox-inferred"] == "duplicate-reference"
    assert client.search_cards(*gpr(creds).values(), card)["otbBalance"] == 15


def test_a_duplicate_reference_replays_under_the_profile(partner):
    client, creds = partner(duplicateReference="replay")
    card = client.create_card(**gpr(creds), mobile="9400000107", firstName="Rep", loadAmount=10)["enKashCardId"]
    body = {**gpr(creds), "enKashCardId": card, "amount": 5, "transactionType": "CR", "uniqueReferenceNumber": "D-1"}
    first_response, first = send(client, "POST", f"{CARD}/balance", body)
    again_response, again = send(client, "POST", f"{CARD}/balance", body)
    assert again == first and client.search_cards(*gpr(creds).values(), card)["otbBalance"] == 15
    # the replay is the sandbox's rule (EnKash documents none): the replayed answer says so, the first does not
    assert "x-sandbox-inferred" not in first_response.headers
    assert again_response.headers["x-sandbox-inferred"] == "duplicate-reference-replay"
    # the same for an allocation and a card created with a load
    rewards = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["EMPLOYEE_REWARDS"]}
    allocation = {**rewards, "mobile": "9400000115", "firstName": "Rep", "loadAmount": 7, "uniqueReferenceNum": "D-2"}
    first_response, first = send(client, "POST", f"{CARD}/create-allocate-points", allocation)
    again_response, again = send(client, "POST", f"{CARD}/create-allocate-points", allocation)
    assert again == first and again["payload"]["otbBalance"] == 7 and "x-sandbox-inferred" not in first_response.headers
    assert again_response.headers["x-sandbox-inferred"] == "duplicate-reference-replay"
    create = {**gpr(creds), "mobile": "9400000116", "loadAmount": 3, "uniqueReferenceNumber": "D-3"}
    first_response, first = send(client, "POST", CARD, create)
    again_response, again = send(client, "POST", CARD, create)
    assert again == first and again_response.headers["x-sandbox-inferred"] == "duplicate-reference-replay"


# -- numericStrings -------------------------------------------------------------------------------------------
def test_numbers_sent_as_strings_are_read_or_refused(partner):
    client, creds = partner()
    card = client.create_card(**gpr(creds), mobile="9400000111", firstName="Str", loadAmount="10")["enKashCardId"]
    body = {**gpr(creds), "enKashCardId": card, "amount": "2.50", "transactionType": "CR"}
    response, answer = send(client, "POST", f"{CARD}/balance", body)
    assert response.status_code == 200 and answer["payload"]["otbBalance"] == 12.5
    client, creds = partner(numericStrings="refuse")
    card = client.create_card(**gpr(creds), mobile="9400000112", firstName="Num", loadAmount=10)["enKashCardId"]
    response, answer = send(client, "POST", f"{CARD}/balance", {**body, **gpr(creds), "enKashCardId": card})
    assert response.status_code == 422 and answer["errors"][0]["field"] == "amount"
    assert "numericStrings=refuse" in answer["response_message"]
    # the velocity limits G3 documents as strings stay accepted
    velocity = {**gpr(creds), "enKashCardIds": card, "posDailyLimit": "1220", "posDailyLimitCount": "1"}
    response, answer = send(client, "POST", f"{CARD}/velocity/rule", velocity)
    assert response.status_code == 200 and answer["code"] == 0
    assert client.search_cards(*gpr(creds).values(), card)["otbBalance"] == 10


# -- envelopeStyle ----------------------------------------------------------------------------------------------
def test_a_tenant_may_force_one_envelope_style(partner):
    client, creds = partner(envelopeStyle="code")
    _, account = send(client, "POST", f"{CARD}/cardAccount/get", gpr(creds))  # documented style B
    assert account["code"] == 0 and "response_code" not in account
    _, failure = send(client, "POST", f"{CARD}/cardAccount/get", {**gpr(creds), "cardAccountId": "CANOPE00"})
    assert failure["code"] == 1 and failure["message"] == failure["payload"]
    client, creds = partner()
    _, account = send(client, "POST", f"{CARD}/cardAccount/get", gpr(creds))
    assert account["response_code"] == 0


# -- idKeyCasing: both spellings on every card endpoint, or a clear refusal --------------------------------------
def casing_calls(creds: dict, card: str, key: str) -> list[tuple[str, dict]]:
    ref = gpr(creds)
    return [
        ("/balance", {**ref, key: card, "amount": 1, "transactionType": "CR"}),
        ("/search", {**ref, key: card}),
        ("/transaction/all", {**ref, key: card}),
        ("/otp", {"cardAccountId": ref["cardAccountId"], key: card, "cardOtpAction": "TRANSACTION_OTP"}),
        ("/setPin", {**ref, key: card, "pinBlock": "1234", "otpRequired": False}),
        ("/velocity/rule", {**ref, key + "s": [card], "posAllowed": True}),
        ("/velocity/rule/get", {**ref, key: card}),
        ("/wallet-details", {**ref, key: card}),
        ("/block", {**ref, key: card, "blockCode": "L", "otpMedium": "MFA", "mfaCode": "123456"}),
        ("/block", {**ref, key: card, "blockCode": "UL", "otpMedium": "MFA", "mfaCode": "123456"}),
        ("/replaceCard", {key: card, "otpMedium": "MFA", "mfaCode": "123456"}),
    ]


def test_the_getting_started_spelling_works_on_every_card_endpoint(partner):
    client, creds = partner()
    card = client.create_card(**gpr(creds), mobile="9400000108", firstName="Case", loadAmount=10)["enKashCardId"]
    other = client.create_card(**gpr(creds), mobile="9400000109", firstName="Other", loadAmount=20)["enKashCardId"]
    for path, body in casing_calls(creds, card, "enkashCardId"):
        response, answer = send(client, "POST", f"{CARD}{path}", body)
        assert response.status_code == 200 and answer.get("code", answer.get("response_code")) == 0, (path, answer)
        payload = answer["payload"]
        if path == "/search":
            assert [c["enKashCardId"] for c in payload["data"]] == [card]  # never the whole account
        if path == "/transaction/all":
            assert {row["enkashCardId"] for row in payload["data"]} == {card} and other != card
        if path == "/balance":
            assert payload["enKashCardId"] == card
    # the same card named twice, differently: refused, naming both
    body = {**gpr(creds), "enKashCardId": other, "enkashCardId": card}
    response, answer = send(client, "POST", f"{CARD}/search", body)
    assert response.status_code == 422 and answer["errors"][0]["field"] == "enkashCardId"


def test_strict_casing_refuses_the_other_spelling_clearly(partner):
    client, creds = partner(idKeyCasing="strict")
    card = client.create_card(**gpr(creds), mobile="9400000110", firstName="Strict", loadAmount=10)["enKashCardId"]
    for path, body in casing_calls(creds, card, "enkashCardId"):
        response, answer = send(client, "POST", f"{CARD}{path}", body)
        assert response.status_code == 422, (path, answer)
        assert (
            answer["errors"][0]["field"] in ("enkashCardId", "enkashCardIds")
            and "spell it enKashCard" in answer["response_message"]
        )
    assert client.search_cards(*gpr(creds).values(), card)["otbBalance"] == 10  # nothing moved
    response, answer = send(client, "POST", f"{CARD}/search", {**gpr(creds), "enKashCardId": card})
    assert response.status_code == 200 and answer["payload"]["recordsCount"] == 1


# -- errorBodies ----------------------------------------------------------------------------------------------
def test_failures_to_an_encrypted_request_are_sealed_by_default(partner):
    client, creds = partner()
    card = client.create_card(**gpr(creds), mobile="9400000113", firstName="Seal", loadAmount=10)["enKashCardId"]
    # a wrong partnerId header: 401, sealed like every answer to an encrypted request, explained in the header
    wrong, answer = send(client, "POST", f"{CARD}/search", gpr(creds), headers={"partnerId": "CR0000000"})
    assert wrong.status_code == 401 and set(wrong.json()) == {"request"} and answer["error"] == "invalid_token"
    assert "does not match" in wrong.headers["x-sandbox-explain"]
    # a business failure too
    body = {**gpr(creds), "enKashCardId": card, "amount": 1, "transactionType": "DR"}
    refused, answer = send(client, "POST", f"{CARD}/balance", body)
    assert refused.status_code == 200 and set(refused.json()) == {"request"} and answer["response_code"] == 1


def test_failures_can_be_answered_in_plain_json(partner):
    client, creds = partner(errorBodies="plain")
    card = client.create_card(**gpr(creds), mobile="9400000114", firstName="Open", loadAmount=10)["enKashCardId"]
    wrong, _ = send(client, "POST", f"{CARD}/search", gpr(creds), headers={"partnerId": "CR0000000"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_token"
    assert "does not match" in wrong.headers["x-sandbox-explain"]
    # a missing header (400), a bad field (422) and a business failure (200, response_code 1): plain, readable
    missing = client.http.post(
        f"{client.base_url}{CARD}/search",
        content=jsonio.dumps(crypto.encrypt_json(gpr(creds), client.client_secret)),
        headers={"Authorization": f"Bearer {client.access_token()}", "Content-Type": "application/json"},
    )
    assert missing.status_code == 400 and missing.json()["response_message"] == "Mandatory header missing: partnerId"
    bad, _ = send(client, "POST", f"{CARD}/balance", {**gpr(creds), "enKashCardId": card, "amount": -1, "transactionType": "CR"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "amount"
    refused, _ = send(
        client, "POST", f"{CARD}/balance", {**gpr(creds), "enKashCardId": card, "amount": 1, "transactionType": "DR"}
    )
    assert refused.status_code == 200 and refused.json()["response_message"] == "DR not allowed on this card"
    # a sealed GET's failure as well; successes stay sealed
    unknown, _ = coin_balance(client, "EK000000")
    assert unknown.status_code == 404 and unknown.json()["response_code"] == 1
    fine, answer = send(
        client, "POST", f"{CARD}/balance", {**gpr(creds), "enKashCardId": card, "amount": 1, "transactionType": "CR"}
    )
    assert fine.status_code == 200 and set(fine.json()) == {"request"} and answer["payload"]["otbBalance"] == 11
    # an injected fault is a failure like any other
    faulted, _ = send(client, "POST", f"{CARD}/search", gpr(creds), headers={"X-Sandbox-Fault": "500"})
    assert faulted.status_code == 500 and faulted.json()["response_code"] == 1


# -- requiredFields ---------------------------------------------------------------------------------------------
def test_required_fields_lenient_takes_the_guides_shorter_bodies(partner):
    client, creds = partner()
    card = client.create_card(**gpr(creds), mobile="9400000117", firstName="Short", loadAmount=10)["enKashCardId"]
    # setPin as its own example sends it: no otpRequired
    response, answer = send(client, "POST", f"{CARD}/setPin", {**gpr(creds), "enKashCardId": card, "pinBlock": 9078})
    assert response.status_code == 200 and answer["payload"] == "Success"
    # a card create that names no holder
    response, answer = send(client, "POST", CARD, {**gpr(creds), "firstName": "Nobody"})
    assert response.status_code == 200 and answer["payload"]["mobile"] is None
    # the guide's top-up: the card id and the amount
    response, answer = send(client, "POST", f"{CARD}/create-allocate-points", {"enkashCardId": card, "loadAmount": 5})
    assert response.status_code == 200 and answer["payload"]["otbBalance"] == 15


def test_required_fields_strict_wants_every_field_a_page_marks_required(partner):
    client, creds = partner(requiredFields="strict")
    card = client.create_card(**gpr(creds), mobile="9400000118", firstName="Strict", loadAmount=10)["enKashCardId"]
    response, answer = send(client, "POST", f"{CARD}/setPin", {**gpr(creds), "enKashCardId": card, "pinBlock": 9078})
    assert response.status_code == 400 and answer["errors"] == [{"field": "otpRequired", "message": "is required"}]
    assert "requiredFields=strict" in answer["response_message"]
    body = {**gpr(creds), "enKashCardId": card, "pinBlock": 9078, "otpRequired": False}
    assert send(client, "POST", f"{CARD}/setPin", body)[0].status_code == 200
    response, answer = send(client, "POST", CARD, {**gpr(creds), "firstName": "Nobody"})
    assert response.status_code == 400 and answer["errors"][0]["field"] == "userId or mobile or email"
    # the guide's top-up misses eleven of the allocation page's twelve fields; nothing moves
    response, answer = send(client, "POST", f"{CARD}/create-allocate-points", {"enkashCardId": card, "loadAmount": 5})
    assert response.status_code == 400
    assert [e["field"] for e in answer["errors"]] == [
        "companyId",
        "cardAccountId",
        "transactionCode",
        "transactionType",
        "type",
        "email",
        "mobile",
        "title",
        "firstName",
        "gender",
        "uniqueReferenceNumber or uniqueReferenceNum",
    ]
    assert client.search_cards(*gpr(creds).values(), card)["otbBalance"] == 10
    # the page's own example, all twelve: accepted
    rewards = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["EMPLOYEE_REWARDS"]}
    full = {
        **rewards,
        "transactionCode": "ALLOCATION",
        "transactionType": "CR",
        "type": "ALLOCATE_POINT",
        "email": "xyz2@example.com",
        "mobile": "9400000119",
        "title": "Mr",
        "firstName": "hedfdfg",
        "gender": "M",
        "loadAmount": 11,
        "uniqueReferenceNum": "TEST234236",
    }
    response, answer = send(client, "POST", f"{CARD}/create-allocate-points", full)
    assert response.status_code == 200 and answer["payload"]["otbBalance"] == 11
