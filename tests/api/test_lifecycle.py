"""Card lifecycle through the encrypted envelope: each transition, each failure, and their effects."""

import hashlib
from datetime import datetime

import httpx
import pytest
from enkash_sandbox.client import EnKashBusinessError, EnKashClient
from enkash_sandbox.store.tables import Card

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture
def ref(tenant):
    return {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["RELOADABLE_GPR"]}


@pytest.fixture
def card(client, ref):
    return client.create_card(**ref, mobile="9988776655", firstName="Meera", loadAmount=1000)


def otp_for(client, http, ref, card, action="TRANSACTION_OTP"):
    # the documented string payload (profile otpResponse=string, the default): the OTP request id
    sent = client.payload(f"{CARD}/otp", {**ref, "enKashCardId": card["enKashCardId"], "cardOtpAction": action})
    inbox = http.get("/_sandbox/otps", params={"enKashCardId": card["enKashCardId"]}).json()
    assert isinstance(sent, str) and inbox[0]["otpRequestId"] == sent and inbox[0]["mobile"] == "9988776655"
    return sent, inbox[0]["otp"]


def test_otp_object_form_under_the_profile(sandbox, http):
    creds = sandbox.provision(profile={"otpResponse": "object"})
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        card = client.create_card(**ref, mobile="9988776611", firstName="Obj", loadAmount=10)
        sent = client.otp(ref["cardAccountId"], card["enKashCardId"])
    inbox = http.get("/_sandbox/otps", params={"enKashCardId": card["enKashCardId"]}).json()
    assert sent["otpRequestId"] == inbox[0]["otpRequestId"] and sent["enKashCardId"] == card["enKashCardId"]
    assert sent["cardOtpAction"] == "TRANSACTION_OTP" and sent["expiresInSeconds"] == 300


def block(client, ref, card, code, **proof):
    body = {**ref, "enKashCardId": card["enKashCardId"], "blockCode": code, "otpMedium": "MFA", "mfaCode": "123456"}
    body.update(proof)
    return client.request("POST", f"{CARD}/block", body, raw=True)


def status_of(client, ref, card):
    return client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])["cardStatus"]


def test_otp_goes_to_the_inbox_not_an_sms(client, http, tenant, ref, card):
    request_id, code = otp_for(client, http, ref, card)
    assert code == "123456" and request_id.startswith("EK") and len(request_id) == 10
    by_mobile = http.get("/_sandbox/otps", params={"mobile": "9988776655", "partnerId": tenant["partnerId"]}).json()
    assert [o["otpRequestId"] for o in by_mobile] == [request_id] and by_mobile[0]["status"] == "ACTIVE"
    # tenants share mobile numbers (parallel tests reuse them): a mobile alone could answer another tenant's OTP
    assert http.get("/_sandbox/otps", params={"mobile": "9988776655"}).status_code == 422
    assert http.get("/_sandbox/otps", params={"mobile": ""}).status_code == 422


def test_set_pin_without_otp_stores_only_a_hash(sandbox, client, ref, card):
    status, body = client.request(
        "POST", f"{CARD}/setPin", {**ref, "enKashCardId": card["enKashCardId"], "pinBlock": 9078}, raw=True
    )
    assert status == 200 and body == {"code": 0, "message": "Success", "payload": "Success"}
    with sandbox.container.db.read() as s:
        stored = s.get(Card, card["enKashCardId"]).pin_hash
    assert stored and "9078" not in stored
    assert stored == hashlib.sha256(f"{card['enKashCardId']}:9078".encode()).hexdigest()


def test_set_pin_with_otp_checks_it_counts_wrong_tries_and_is_single_use(client, http, ref, card):
    request_id, code = otp_for(client, http, ref, card, "SET_PIN")
    body = {**ref, "enKashCardId": card["enKashCardId"], "pinBlock": "1234", "otpRequired": True, "otpRequestId": request_id}
    with pytest.raises(EnKashBusinessError, match="2 attempt"):
        client.post(f"{CARD}/setPin", {**body, "otp": "000000"})
    assert client.payload(f"{CARD}/setPin", {**body, "otp": code}) == "Success"
    with pytest.raises(EnKashBusinessError, match="already used"):
        client.post(f"{CARD}/setPin", {**body, "otp": code})
    # three wrong tries kill an OTP even for the right code afterwards
    request_id, code = otp_for(client, http, ref, card, "SET_PIN")
    body["otpRequestId"] = request_id
    for _ in range(3):
        with pytest.raises(EnKashBusinessError, match="Invalid OTP"):
            client.post(f"{CARD}/setPin", {**body, "otp": "999999"})
    with pytest.raises(EnKashBusinessError, match="too many wrong attempts"):
        client.post(f"{CARD}/setPin", {**body, "otp": code})
    assert http.get("/_sandbox/otps", params={"enKashCardId": card["enKashCardId"]}).json()[0]["status"] == "LOCKED"


def test_otp_expires_by_the_sandbox_clock(client, http, ref, card):
    request_id, code = otp_for(client, http, ref, card)
    http.post("/_sandbox/clock", json={"action": "advance", "seconds": 301})
    try:
        with pytest.raises(EnKashBusinessError, match="OTP expired"):
            client.post(
                f"{CARD}/block",
                {
                    **ref,
                    "enKashCardId": card["enKashCardId"],
                    "blockCode": "L",
                    "otpMedium": "MOBILE",
                    "otpRequestId": request_id,
                    "otp": code,
                },
            )
    finally:
        http.post("/_sandbox/clock", json={"action": "reset"})
    assert status_of(client, ref, card)["name"] == "UL"


def test_lock_blocks_loads_until_unlocked(client, http, ref, card):
    request_id, code = otp_for(client, http, ref, card)
    status, body = block(client, ref, card, "L", otpMedium="MOBILE", otpRequestId=request_id, otp=code)
    assert status == 200 and body["payload"]["cardStatus"] == {"name": "L", "label": "Locked"}
    with pytest.raises(EnKashBusinessError, match="Card is locked"):
        client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 10)
    assert status_of(client, ref, card)["name"] == "L"
    assert block(client, ref, card, "UL")[1]["payload"]["cardStatus"]["name"] == "UL"
    assert client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 10)["otbBalance"] == 1010


def test_permanent_block_cannot_be_undone(client, ref, card):
    assert block(client, ref, card, "BL")[1]["payload"]["cardStatus"] == {"name": "BL", "label": "Blocked"}
    status, body = block(client, ref, card, "UL")
    assert status == 200 and body["response_code"] == 1 and "blocked permanently" in body["response_message"]
    with pytest.raises(EnKashBusinessError, match="blocked"):
        client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 10)
    assert status_of(client, ref, card)["name"] == "BL"


def test_wrong_mfa_code_changes_nothing(client, ref, card):
    status, body = block(client, ref, card, "L", mfaCode="000000")
    assert body["response_code"] == 1 and body["response_message"] == "Invalid MFA code"
    assert status_of(client, ref, card)["name"] == "UL"


@pytest.mark.parametrize(
    "field, value, allowed",
    [
        ("blockCode", "X", "'UL'"),
        ("otpMedium", "EMAIL", "'MFA'"),
    ],
)
def test_bad_block_enums_are_422_naming_allowed_values(client, ref, card, field, value, allowed):
    status, body = block(client, ref, card, "L", **{field: value})
    assert status == 422 and field in body["response_message"] and allowed in body["response_message"]


def test_bad_otp_action_is_422(client, ref, card):
    status, body = client.request(
        "POST", f"{CARD}/otp", {**ref, "enKashCardId": card["enKashCardId"], "cardOtpAction": "NOPE"}, raw=True
    )
    assert status == 422 and "TRANSACTION_OTP" in body["response_message"]


def test_unknown_or_foreign_card_is_404(sandbox, client, ref):
    other = sandbox.provision()
    from enkash_sandbox.client import EnKashClient

    with EnKashClient.from_credentials(sandbox.url, other) as theirs:
        foreign = theirs.create_card(
            companyId=other["companyId"],
            cardAccountId=other["cardAccounts"]["RELOADABLE_GPR"],
            mobile="9000000077",
            firstName="Foreign",
        )
    for card_id in (foreign["enKashCardId"], "EKC0000000"):
        status, _ = client.request(
            "POST",
            f"{CARD}/block",
            {**ref, "enKashCardId": card_id, "blockCode": "L", "otpMedium": "MFA", "mfaCode": "123456"},
            raw=True,
        )
        assert status == 404


def test_replace_card_moves_the_balance_through_the_ledger(sandbox, client, http, ref, card):
    request_id, code = otp_for(client, http, ref, card, "REPLACE_CARD")
    status, body = client.request(
        "POST",
        f"{CARD}/replaceCard",
        {
            "enKashCardId": card["enKashCardId"],
            "cardAccountId": ref["cardAccountId"],
            "otpMedium": "MOBILE",
            "otpRequestId": request_id,
            "otp": code,
        },
        raw=True,
    )
    # the documented string payload (profile replaceCardResponse=string, the default): the new card's id
    assert status == 200 and body["code"] == 0 and isinstance(body["payload"], str)
    new = client.search_cards(ref["companyId"], ref["cardAccountId"], body["payload"])
    assert new["enKashCardId"] != card["enKashCardId"]
    assert new["userId"] == card["userId"] and new["otbBalance"] == 1000
    assert new["maskedNumber"] != card["maskedNumber"] or new["token"] != card["token"]
    old = client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])
    assert old["otbBalance"] == 0 and old["cardStatus"]["name"] == "BL"
    moves = client.transactions(
        ref["companyId"], ref["cardAccountId"], pgReferenceNumbers=None, enKashTransactionIds=None, cardHolderName="Meera"
    )["data"]
    kinds = [(m["enkashCardId"], m["cardTransactionType"], m["type"], m["principalAmount"]) for m in moves[:2]]
    assert (new["enKashCardId"], "CR", "CARD_REPLACEMENT", 1000) in kinds
    assert (card["enKashCardId"], "DR", "CARD_REPLACEMENT", 1000) in kinds
    account = client.card_account(ref["companyId"], ref["cardAccountId"])
    assert account["availableCardBalance"] == 1000 and account["totalAllocationPoint"] == 1000
    with pytest.raises(EnKashBusinessError, match="replaced"):
        client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 5)
    assert client.load(ref["companyId"], ref["cardAccountId"], new["enKashCardId"], 5)["otbBalance"] == 1005


def test_replace_card_object_form_under_the_profile(sandbox):
    creds = sandbox.provision(profile={"replaceCardResponse": "object"})
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        card = client.create_card(**ref, mobile="9988776612", firstName="Obj", loadAmount=100)
        new = client.replace_card(card["enKashCardId"], mfaCode="123456")
    assert new["enKashCardId"] != card["enKashCardId"] and new["oldEnKashCardId"] == card["enKashCardId"]
    assert new["userId"] == card["userId"] and new["otbBalance"] == 100


def test_velocity_rules_accept_all_documented_shapes_and_read_back(client, ref, card):
    other = client.create_card(**ref, mobile="9988776600", firstName="Second")
    updated = client.payload(
        f"{CARD}/velocity/rule",
        {
            **ref,
            "enKashCardIds": [card["enKashCardId"], other["enKashCardId"]],
            "posAllowed": True,
            "onlineAllowed": True,
            "internationalAllowed": False,
            "atmAllowed": False,
            "adminUser": True,
            "perTxnLimit": {"present": True, "value": 5000},
            "dtd": "20000",
            "mtd": 100000,
            "dtdCount": "5",
            "posDailyLimit": "1220",
            "posDailyLimitCount": "1",
        },
    )
    assert updated["updatedCards"] == 2
    client.payload(f"{CARD}/velocity/rule", {**ref, "enKashCardIds": card["enKashCardId"], "mtd": {"present": False}})
    rules = client.payload(f"{CARD}/velocity/rule/get", {**ref, "enKashCardId": card["enKashCardId"]})
    assert rules["posAllowed"] is True and rules["posAllowedAdmin"] is True and rules["atmAllowed"] is False
    assert rules["perTxnLimit"] == 5000 and rules["dtd"] == 20000 and rules["mtd"] is None
    assert rules["dtdCount"] == 5 and rules["posDailyLimit"] == 1220
    datetime.strptime(rules["createdOn"], "%b %d, %Y %I:%M:%S %p")
    view = client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])
    assert view["posAllowed"] is True and view["onlineAllowed"] is True and view["internationalAllowed"] is False
    status, body = client.request(
        "POST", f"{CARD}/velocity/rule", {**ref, "enKashCardIds": [card["enKashCardId"]], "dtd": "lots"}, raw=True
    )
    assert status == 422 and "dtd" in body["response_message"]
    status, _ = client.request("POST", f"{CARD}/velocity/rule", {**ref, "enKashCardIds": ["EKC0000000"]}, raw=True)
    assert status == 404


def test_vkyc_link_page_and_completion(sandbox, client, http, ref, card):
    link = client.request("GET", f"{CARD}/vkyc/link", params={**ref, "enKashCardId": card["enKashCardId"]})["payload"]
    assert link["vkycLink"].startswith(sandbox.url + "/_sandbox/vkyc/") and link["kycStatus"] == "NOT_UPLOADED"
    page = httpx.get(link["vkycLink"])
    assert page.status_code == 200 and "Complete video KYC" in page.text and "Meera" in page.text
    done = httpx.post(link["vkycLink"] + "/complete")
    assert done.status_code == 200 and done.json()["kycStatus"] == "VERIFIED"
    view = client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])
    assert view["kycStatus"] == {"name": "VERIFIED", "label": "Verified"}
    assert httpx.post(link["vkycLink"] + "/complete").status_code == 409
    status, body = client.request("GET", f"{CARD}/vkyc/link", params={**ref, "enKashCardId": card["enKashCardId"]}, raw=True)
    assert body["response_code"] == 1 and "already verified" in body["response_message"]


def test_vkyc_working_hours_rule_when_enabled(sandbox, client, http, ref, card):
    sandbox.container.settings.vkyc_working_hours = True
    try:
        http.post("/_sandbox/clock", json={"action": "freeze", "at": "2026-11-15T06:00:00Z"})  # a past Sunday
        status, body = client.request("GET", f"{CARD}/vkyc/link", params={"enKashCardId": card["enKashCardId"]}, raw=True)
        assert body["response_code"] == 1 and "working days" in body["response_message"]
        http.post("/_sandbox/clock", json={"action": "set", "at": "2026-11-20T06:00:00Z"})  # a Friday, 11:30 IST
        assert client.request("GET", f"{CARD}/vkyc/link", params={"enKashCardId": card["enKashCardId"]})["code"] == 0
    finally:
        sandbox.container.settings.vkyc_working_hours = False
        http.post("/_sandbox/clock", json={"action": "reset"})


def test_wallet_details_gives_the_card_its_status_and_limits(client, ref, card):
    client.velocity(ref["companyId"], ref["cardAccountId"], [card["enKashCardId"]], posAllowed=True, posDailyLimit="1220")
    body = {**ref, "enKashCardId": card["enKashCardId"], "clientReferenceId": "CLIENT-1"}
    details = client.payload(f"{CARD}/wallet-details", body)
    assert details["enKashCardId"] == card["enKashCardId"] and details["otbBalance"] == 1000
    assert details["kycStatus"]["name"] and details["cardStatus"]["name"] == "UL" and "cardActivated" in details
    assert details["clientReferenceId"] == "CLIENT-1" and details["limits"]["posAllowed"] is True
    status, missing = client.request("POST", f"{CARD}/wallet-details", {**ref, "enKashCardId": "EKCNOPE000"}, raw=True)
    assert status == 404 and missing["response_code"] == 1
    status, bad = client.request(
        "POST", f"{CARD}/wallet-details", {"cardAccountId": ref["cardAccountId"], "enKashCardId": "X"}, raw=True
    )
    assert status == 400 and "companyId" in bad["response_message"]
