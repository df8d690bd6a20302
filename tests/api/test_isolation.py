"""A tenant never sees another tenant's data: foreign ids answer exactly like unknown ids."""

import pytest
from enkash_sandbox.client import EnKashClient

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture
def victim(sandbox):
    creds = sandbox.provision()
    c = EnKashClient.from_credentials(sandbox.url, creds)
    card = c.create_card(
        companyId=creds["companyId"],
        cardAccountId=creds["cardAccounts"]["RELOADABLE_GPR"],
        mobile="9111100000",
        firstName="Victim",
        loadAmount=1000,
    )
    yield creds, card
    c.close()


def _answers(client, calls):
    return [client.request("POST", path, body, raw=True) for path, body in calls]


def test_foreign_account_card_and_company_behave_as_unknown(client, tenant, victim):
    creds, card = victim
    mine = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["RELOADABLE_GPR"]}
    theirs = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}
    unknown = {"companyId": "CEKUNKNOWN", "cardAccountId": "CAUNKNOWN"}
    for ref in (theirs, unknown):
        status, body = client.request("POST", f"{CARD}/cardAccount/get", ref, raw=True)
        assert status == 404 and body["response_message"] == (
            f"Card account not found for companyId: {ref['companyId']} and cardAccountId: {ref['cardAccountId']}"
        )
    # their card id inside my account, and my account with their company, look like unknown ids too
    s1, b1 = client.request("POST", f"{CARD}/search", {**mine, "enKashCardId": card["enKashCardId"]}, raw=True)
    s2, b2 = client.request("POST", f"{CARD}/search", {**mine, "enKashCardId": "EKCZZZZZZZ"}, raw=True)
    assert s1 == s2 == 404
    assert b1["response_message"].replace(card["enKashCardId"], "X") == b2["response_message"].replace("EKCZZZZZZZ", "X")
    s3, _ = client.request(
        "POST", f"{CARD}/balance", {"enKashCardId": card["enKashCardId"], "amount": 1, "transactionType": "DR"}, raw=True
    )
    assert s3 == 404
    s4, _ = client.request("POST", f"{CARD}/transaction/all", theirs, raw=True)
    assert s4 == 404
    s5, _ = client.request("POST", CARD, {**theirs, "mobile": "9000000009", "loadAmount": 1}, raw=True)
    assert s5 == 404
    s6, _ = client.request(
        "POST",
        f"{CARD}/cardAccount/create",
        {
            "companyId": creds["companyId"],
            "companyName": "x",
            "planMasterId": "PM1",
            "email": "a@b.co",
            "mobile": "9000000000",
            "accountTitle": "t",
            "accountType": "GIFT",
        },
        raw=True,
    )
    assert s6 == 404


def test_nothing_moved_on_the_victim(sandbox, client, victim):
    creds, card = victim
    client.request(
        "POST", f"{CARD}/balance", {"enKashCardId": card["enKashCardId"], "amount": 500, "transactionType": "DR"}, raw=True
    )
    owner = EnKashClient.from_credentials(sandbox.url, creds)
    try:
        seen = owner.search_cards(creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"], card["enKashCardId"])
        assert seen["otbBalance"] == 1000
    finally:
        owner.close()


def test_a_token_works_for_its_own_partner_only(sandbox, tenant, victim):
    creds, _ = victim
    mine = EnKashClient.from_credentials(sandbox.url, tenant)
    try:
        status, body = mine.request(
            "POST",
            f"{CARD}/cardAccount/get",
            {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["GIFT"]},
            headers={"partnerId": creds["partnerId"]},
            raw=True,
        )
        assert status == 401 and body["error"] == "invalid_token"
    finally:
        mine.close()
