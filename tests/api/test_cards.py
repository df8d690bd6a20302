"""Card accounts, cards, loads and search through the encrypted envelope, as a partner sees them."""

import pytest
from enkash_sandbox.client import EnKashBusinessError, EnKashClient

from tests.conftest import account_ref

CARD = "/api/v0/partner/enKashCard"


def create(client, creds, kind="RELOADABLE_GPR", **fields):
    body = {**account_ref(creds, kind), "mobile": "9876500001", "firstName": "Asha", **fields}
    return client.request("POST", CARD, body, raw=True)


@pytest.fixture
def unloading(sandbox):
    """A tenant whose profile lets /balance take DR (balanceDebit=allow) and lists rows in the sandbox's earlier
    shape (transactionRows=sandbox): the non-default options, kept reachable."""
    creds = sandbox.provision(profile={"balanceDebit": "allow", "transactionRows": "sandbox"})
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        yield c, creds


def account(client, creds, kind="RELOADABLE_GPR"):
    return client.card_account(creds["companyId"], creds["cardAccounts"][kind])


def test_create_card_account_then_get_it(client, tenant):
    status, body = client.request(
        "POST",
        f"{CARD}/cardAccount/create",
        {
            "companyId": tenant["companyId"],
            "companyName": tenant["companyName"],
            "planMasterId": "PMGAZ7L5A",
            "email": "admin@example.com",
            "mobile": "9000012345",
            "accountTitle": "Meal wallet",
            "accountType": "MEAL",
        },
        raw=True,
    )
    assert status == 200 and body["response_code"] == 0
    created = body["payload"]
    assert created["cardAccountId"].startswith("CA") and created["accountType"] == "MEAL"
    assert created["availableBalance"] == 0 and created["totalCards"] == 0
    fetched = client.card_account(tenant["companyId"], created["cardAccountId"])
    assert fetched["cardAccountId"] == created["cardAccountId"]


def test_card_account_create_validates_enum_and_patterns(client, tenant):
    status, body = client.request(
        "POST",
        f"{CARD}/cardAccount/create",
        {
            "companyId": tenant["companyId"],
            "companyName": "x",
            "planMasterId": "PM1",
            "email": "bad",
            "mobile": "12",
            "accountTitle": "t",
            "accountType": "SPACESHIP",
        },
        raw=True,
    )
    assert status == 422
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"email", "mobile", "accountType"}
    assert "EMPLOYEE_REWARDS" in body["response_message"]


def test_get_card_account_has_documented_fields(client, tenant):
    payload = account(client, tenant, "EMPLOYEE_REWARDS")
    for key in (
        "cardAccountId",
        "companyId",
        "companyName",
        "creditLimit",
        "dynamicLimit",
        "usedCreditLimit",
        "availableBalance",
        "availableCardBalance",
        "primaryEnKashCard",
        "totalCards",
        "activeCards",
        "totalAllocationPoint",
        "totalRedemptionPoint",
        "currentMonthAllocationPoint",
        "currentMonthRedemptionPoint",
    ):
        assert key in payload, key
    assert payload["availableBalance"] == 100000
    assert payload["primaryEnKashCard"]["primaryCard"] is True


def test_create_card_with_load_moves_money_and_returns_the_documented_card(client, tenant):
    status, body = create(
        client,
        tenant,
        loadAmount=500,
        email="asha@example.com",
        title="Ms",
        gender="F",
        lastName="Rao",
        specialDate="02-09-2001",
        pincode="323307",
        documents=[{"docType": "PAN", "docNo": "CPNPN9977R"}],
        uniqueReferenceNum="REF-C1",
    )
    assert status == 200 and body["code"] == 0 and body["message"] == "Success"
    card = body["payload"]
    assert card["enKashCardId"].startswith("EKC") and len(card["enKashCardId"]) == 10
    assert card["userId"].startswith("EK") and len(card["userId"]) == 8
    assert card["maskedNumber"].startswith("XXXX XXXX XXXX ")
    assert card["otbBalance"] == 500 and card["loadAmount"] == 500
    assert card["cardStatus"] == {"name": "UL", "label": "UnLocked"}
    assert card["kycStatus"]["name"] == "MIN_KYC_VERIFIED" and card["pan"] == "CPNPN9977R"
    assert card["accountType"] == {"name": "RELOADABLE_GPR", "label": "Reloadable GPR", "description": "Reloadable GPR"}
    assert card["binType"]["name"] == "GPR_CARD" and card["kitType"] == {"name": "RUPAY", "label": "Rupay"}
    assert card["enkashCardTxnId"].startswith("ECT") and card["pgReferenceNumber"] == "REF-C1"
    assert card["accountBalance"] == 100000 - 500
    assert card["email"] == "asha@example.com" and card["lastName"] == "Rao" and card["pincode"] == "323307"
    acct = account(client, tenant)
    assert acct["availableBalance"] == 99500 and acct["availableCardBalance"] == 500


def test_gift_card_without_load_amount_as_the_g1_page_allows(client, tenant):
    # profile giftLoadAmount=optional (the default): the G1 page's body has no loadAmount
    status, body = create(client, tenant, "GIFT")
    assert status == 200 and body["payload"]["otbBalance"] == 0 and body["payload"]["enkashCardTxnId"] is None
    status, body = create(client, tenant, "GIFT", mobile="9876500003", loadAmount=250)
    assert status == 200 and body["payload"]["binType"]["name"] == "GIFT_CARD"


def test_gift_card_needs_load_amount_under_the_profile(sandbox):
    creds = sandbox.provision(profile={"giftLoadAmount": "required"})
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        status, body = create(client, creds, "GIFT")
        assert status == 400 and "loadAmount" in body["response_message"]
        status, body = create(client, creds, "GIFT", loadAmount=250)
        assert status == 200 and body["payload"]["binType"]["name"] == "GIFT_CARD"


@pytest.mark.parametrize(
    "field, value",
    [
        ("mobile", "98765"),
        ("mobile", "98765432100"),
        ("email", "not-an-email"),
        ("gender", "X"),
        ("title", "Dr"),
        ("loadAmount", -5),
        ("loadAmount", 0),
        ("loadAmount", "12.345"),
        ("loadAmount", "ten"),
        ("specialDate", "2001/09/02"),
        ("documents", [{"docType": "PAN", "docNo": ""}]),
    ],
)
def test_create_card_rejects_invalid_values_with_422_naming_the_field(client, tenant, field, value):
    status, body = create(client, tenant, **{field: value})
    assert status == 422, body
    assert body["response_code"] == 1 and field in body["response_message"]
    assert account(client, tenant)["totalCards"] == 1  # only the primary card


def test_create_card_missing_mandatory_field_is_400(client, tenant):
    status, body = client.request("POST", CARD, {"cardAccountId": tenant["cardAccounts"]["GIFT"]}, raw=True)
    assert status == 400 and "companyId" in body["response_message"]


def test_create_card_insufficient_account_balance_is_business_failure_and_creates_nothing(client, tenant):
    status, body = create(client, tenant, loadAmount=100001)
    assert status == 200
    assert body == {
        "response_code": 1,
        "response_message": "Insufficient balance in card account",
        "payload": "Insufficient balance in card account",
    }
    acct = account(client, tenant)
    assert acct["availableBalance"] == 100000 and acct["totalCards"] == 1


def test_one_card_per_holder_per_account(client, tenant):
    assert create(client, tenant)[0] == 200
    status, body = create(client, tenant)
    assert status == 422 and "already exists" in body["response_message"]


def test_load_and_unload_balance(client, tenant):
    card = create(client, tenant, loadAmount=100)[1]["payload"]
    ref = account_ref(tenant)
    loaded = client.load(
        ref["companyId"],
        ref["cardAccountId"],
        card["enKashCardId"],
        "250.50",
        reference="L-1",
        type="LOAD_MONEY",
        transactionCode="PRINCIPLE",
    )
    assert loaded["otbBalance"] == 350.5 and loaded["pgReferenceNumber"] == "L-1"
    assert loaded["enkashCardTxnId"].startswith("ECT") and loaded["accountBalance"] == 100000 - 350.5
    # the load page: "DR not allowed on this card" (profile balanceDebit=refuse, the default); nothing moves
    status, body = client.request(
        "POST", f"{CARD}/balance", {**ref, "enKashCardId": card["enKashCardId"], "amount": 50, "transactionType": "DR"}, raw=True
    )
    assert status == 200 and body["response_code"] == 1 and body["response_message"] == "DR not allowed on this card"
    after = client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])
    assert after["otbBalance"] == 350.5 and after["accountBalance"] == 100000 - 350.5
    # an unknown card is still a 404, not the DR rule
    status, _ = client.request(
        "POST", f"{CARD}/balance", {**ref, "enKashCardId": "EKC0000000", "amount": 5, "transactionType": "DR"}, raw=True
    )
    assert status == 404


@pytest.mark.parametrize(
    "codes, field",
    [
        ({"type": "LOAD_MONEY", "transactionCode": "FOO"}, "transactionCode"),
        ({"type": "SALE", "transactionCode": "PRINCIPLE"}, "type"),
        ({"type": "LOAD_MONEY", "transactionCode": "ALLOCATION"}, "transactionCode"),
        ({"transactionCode": "FOO"}, "transactionCode"),
    ],
)
def test_load_codes_must_be_a_documented_pair(client, tenant, codes, field):
    card = create(client, tenant, loadAmount=10)[1]["payload"]
    ref = account_ref(tenant)
    body = {**ref, "enKashCardId": card["enKashCardId"], "amount": 5, "transactionType": "CR", **codes}
    status, answer = client.request("POST", f"{CARD}/balance", body, raw=True)
    assert status == 422 and answer["errors"][0]["field"] == field
    assert client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])["otbBalance"] == 10
    for good in ({"type": "ALLOCATE_FUND", "transactionCode": "ALLOCATION"}, {"type": "LOAD_MONEY"}, {}):
        assert client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 1, **good)["status"] == "SUCCESS"


def test_dr_unloads_and_any_codes_pass_under_the_profile(unloading):
    client, creds = unloading
    card = create(client, creds, loadAmount=100)[1]["payload"]
    ref = account_ref(creds)
    unloaded = client.load(
        ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 50, transaction_type="DR", reference="L-2"
    )
    assert unloaded["otbBalance"] == 50 and unloaded["accountBalance"] == 100000 - 50
    odd = client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 1, transactionCode="FOO")
    assert odd["transactionCode"] == "FOO"


def test_load_with_insufficient_funds_moves_nothing(client, tenant, unloading):
    card = create(client, tenant, loadAmount=10)[1]["payload"]
    ref = account_ref(tenant)
    with pytest.raises(EnKashBusinessError, match="Insufficient balance in card account"):
        client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 100000)
    after = client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])
    assert after["otbBalance"] == 10 and after["accountBalance"] == 99990
    # an unload larger than the card's balance (only where the profile allows DR)
    partner, creds = unloading
    card = create(partner, creds, loadAmount=10)[1]["payload"]
    ref = account_ref(creds)
    with pytest.raises(EnKashBusinessError, match="Insufficient balance"):
        partner.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 11, transaction_type="DR")
    assert partner.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])["otbBalance"] == 10


def test_gift_cards_cannot_be_loaded(client, tenant):
    card = create(client, tenant, "GIFT", loadAmount=100)[1]["payload"]
    ref = account_ref(tenant, "GIFT")
    with pytest.raises(EnKashBusinessError, match="not allowed on GIFT"):
        client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 10)


def test_same_reference_twice_moves_money_once(client, tenant):
    card = create(client, tenant, loadAmount=10)[1]["payload"]
    ref = account_ref(tenant)
    client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 40, reference="DUP-1")
    with pytest.raises(EnKashBusinessError, match="Duplicate uniqueReferenceNumber"):
        client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 40, reference="DUP-1")
    assert client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])["otbBalance"] == 50
    txns = client.transactions(ref["companyId"], ref["cardAccountId"], pgReferenceNumber="DUP-1")
    assert txns["recordsCount"] == 1


def test_load_validation(client, tenant):
    card = create(client, tenant, loadAmount=10)[1]["payload"]
    base = {**account_ref(tenant), "enKashCardId": card["enKashCardId"]}
    status, body = client.request("POST", f"{CARD}/balance", {**base, "transactionType": "CR"}, raw=True)
    assert status == 400 and "amount" in body["response_message"]
    status, body = client.request("POST", f"{CARD}/balance", {**base, "amount": 5, "transactionType": "XX"}, raw=True)
    assert status == 422 and "transactionType" in body["response_message"] and "'CR'" in body["response_message"]
    status, body = client.request(
        "POST", f"{CARD}/balance", {**base, "amount": 5, "transactionType": "CR", "enKashCardId": "EKC0000000"}, raw=True
    )
    assert status == 404 and body["response_code"] == 1


def test_search_one_card_and_all_cards(client, tenant):
    first = create(client, tenant, loadAmount=10)[1]["payload"]
    create(client, tenant, mobile="9876500002", loadAmount=20)
    ref = account_ref(tenant)
    # the docs' id-matched example (profile searchById=list, the default): envelope A, {recordsCount, data}
    status, one = client.request("POST", f"{CARD}/search", {**ref, "enKashCardId": first["enKashCardId"]}, raw=True)
    assert status == 200 and one["code"] == 0 and one["payload"]["recordsCount"] == 1
    assert one["payload"]["data"][0]["enKashCardId"] == first["enKashCardId"] and one["payload"]["data"][0]["otbBalance"] == 10
    status, everything = client.request("POST", f"{CARD}/search", ref, raw=True)
    assert everything["code"] == 0
    assert everything["payload"]["recordsCount"] == 3 == len(everything["payload"]["data"])
    status, missing = client.request("POST", f"{CARD}/search", {**ref, "enKashCardId": "EKCNOPE000"}, raw=True)
    assert status == 404


def test_search_by_id_answers_the_bare_card_under_the_profile(sandbox):
    creds = sandbox.provision(profile={"searchById": "card"})
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        first = create(client, creds, loadAmount=10)[1]["payload"]
        status, one = client.request(
            "POST", f"{CARD}/search", {**account_ref(creds), "enKashCardId": first["enKashCardId"]}, raw=True
        )
    assert status == 200 and one["response_code"] == 0
    assert one["payload"]["enKashCardId"] == first["enKashCardId"] and one["payload"]["otbBalance"] == 10


def test_transaction_rows_in_the_real_world_field_set(client, tenant):
    card = create(client, tenant, loadAmount=10, uniqueReferenceNumber="W-0", lastName="Rao")[1]["payload"]
    ref = account_ref(tenant)
    client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], "5.50", reference="W-1")

    def txns(**filters):
        return client.transactions(ref["companyId"], ref["cardAccountId"], **filters)

    row = txns(pgReferenceNumber="W-1")["data"][0]
    assert row["enKashCardTransactionId"].startswith("ECT") and row["enkashCardId"] == card["enKashCardId"]
    assert row["principalAmount"] == 5.5 and row["balance"] == 15.5 and row["maskedCard"] == card["maskedNumber"]
    assert row["status"] == "CREATED" and row["currency"] == "INR" and row["companyName"] == tenant["companyName"]
    assert row["cardKitNumber"].startswith("KIT") and row["txnDetails"]["txnRefNo"] == row["enKashCardTransactionId"]
    assert {"fcyAmount", "fcyCurrency", "modifiedOn", "createdOn", "txnDate"} <= set(row)
    assert not {"enkashCardTxnId", "amount", "otbBalance", "maskedNumber", "enKashCardId"} & set(row)
    # the docs' own full filter example: status CREATED, amountFrom/amountTo 0 (0 = not given)
    assert txns(status="CREATED", amountFrom=0, amountTo=0)["recordsCount"] == 2
    assert txns(amountFrom=0, amountTo=6)["recordsCount"] == 1
    # the full name the rows show finds them; so do its parts
    assert row["cardHolderName"] == "Asha Rao"
    assert txns(cardHolderName="Asha Rao")["recordsCount"] == 2 == txns(cardHolderName="rao")["recordsCount"]
    assert txns(cardHolderName="Asha Someone")["recordsCount"] == 0


def test_transactions_filters(unloading):
    # the sandbox's earlier row shape (transactionRows=sandbox) and DR unloads (balanceDebit=allow)
    client, tenant = unloading
    card = create(client, tenant, loadAmount=10, uniqueReferenceNumber="T-0")[1]["payload"]
    ref = account_ref(tenant)

    def txns(**filters):
        return client.transactions(ref["companyId"], ref["cardAccountId"], **filters)

    for i, amount in enumerate((5, 50, 500), start=1):
        client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], amount, reference=f"T-{i}")
    client.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 1, transaction_type="DR", reference="T-4")
    everything = txns(enKashCardId=card["enKashCardId"])
    assert everything["recordsCount"] == 5
    newest = everything["data"][0]
    assert newest["pgReferenceNumber"] == "T-4" and newest["cardTransactionType"] == "DR"
    assert newest["otbBalance"] == 564 and newest["enkashCardTxnId"].startswith("ECT")
    assert txns(pgReferenceNumber="T-2")["data"][0]["amount"] == 50
    assert txns(amountFrom=40, amountTo=60)["recordsCount"] == 1
    assert txns(cardTransactionType="DR")["recordsCount"] == 1
    assert txns(pgReferenceNumbers=["T-1", "T-3"])["recordsCount"] == 2
    # CREATED (the documented status) and SUCCESS (the ledger's word) both find settled rows
    assert txns(status="CREATED")["recordsCount"] == 5 == txns(status="SUCCESS")["recordsCount"]
    assert txns(status="FAILED")["recordsCount"] == 0
    assert txns(txnDateFrom="2000-01-01T00:00:00.000Z")["recordsCount"] == 5
    assert txns(txnDateTo="2000-01-01T00:00:00.000Z")["recordsCount"] == 0
    status, body = client.request("POST", f"{CARD}/transaction/all", {**ref, "txnDateFrom": "yesterday"}, raw=True)
    assert status == 422 and "txnDateFrom" in body["response_message"]
