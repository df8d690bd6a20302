"""Rewards & incentives through the encrypted envelope: allocation, bulk, account stats, SSO, coins."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from enkash_sandbox.client import EnKashBusinessError, EnKashClient

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture
def ref(tenant):
    return {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["EMPLOYEE_REWARDS"]}


def allocate(client, ref, path="create-allocate-points", **fields):
    body = {**ref, "transactionCode": "ALLOCATION", "transactionType": "CR", "type": "ALLOCATE_POINT", **fields}
    return client.request("POST", f"{CARD}/{path}", body, raw=True)


def test_seed_page_flow_token_account_allocate_sso(sandbox, client, ref):
    """Rewards integration guide: token -> Get Reward Account Details -> Create and Allocate -> SSO."""
    account = client.card_account(ref["companyId"], ref["cardAccountId"])
    assert account["availableBalance"] == 100000
    status, body = allocate(
        client,
        ref,
        email="xyz2@gmail.com",
        mobile="9600098867",
        title="Mr",
        firstName="hedfdfg",
        gender="M",
        loadAmount=11,
        uniqueReferenceNum="TEST234236",
    )
    assert status == 200 and body["code"] == 0 and body["message"] == "Success"
    p = body["payload"]
    assert p["pgReferenceNumber"] == "TEST234236" and p["otbBalance"] == 11
    assert p["enKashCardId"].startswith("EKC") and p["enkashCardTxnId"].startswith("ECT")
    assert p["maskedNumber"].startswith("XXXX XXXX XXXX ") and len(p["token"]) == 20
    assert (p["email"], p["mobile"], p["title"], p["firstName"], p["gender"]) == (
        "xyz2@gmail.com",
        "9600098867",
        "Mr",
        "hedfdfg",
        "M",
    )
    assert p["cardAccountId"] == ref["cardAccountId"] and p["userId"].startswith("EK")
    after = client.card_account(ref["companyId"], ref["cardAccountId"])
    assert after["availableBalance"] == 100000 - 11
    assert after["totalAllocationPoint"] == 11 and after["currentMonthAllocationPoint"] == 11
    assert after["totalCards"] == 2 and after["activeCards"] == 2
    txn = client.transactions(ref["companyId"], ref["cardAccountId"], pgReferenceNumber="TEST234236")["data"][0]
    assert txn["enKashCardTransactionId"] == p["enkashCardTxnId"] and txn["principalAmount"] == 11
    sso = client.payload(f"{CARD}/sso-token", {**ref, "enkashCardId": p["enKashCardId"]})
    page = httpx.get(f"{sandbox.url}/sso/{sso['token']}/employee_rewards/hrms")
    assert page.status_code == 200 and "hedfdfg" in page.text and "₹11.00" in page.text
    assert "TEST234236" in page.text


def test_top_up_by_card_id_or_by_holder_and_unallocate(client, ref):
    first = allocate(client, ref, mobile="9600000001", email="a1@example.com", firstName="A", loadAmount=100)[1]["payload"]
    by_id = allocate(client, ref, enkashCardId=first["enKashCardId"], loadAmount=50)[1]["payload"]
    assert by_id["enKashCardId"] == first["enKashCardId"] and by_id["otbBalance"] == 150
    by_email = allocate(client, ref, path="points/allocate", email="a1@example.com", loadAmount=25)[1]["payload"]
    assert by_email["enKashCardId"] == first["enKashCardId"] and by_email["otbBalance"] == 175
    back = client.payload(
        f"{CARD}/create-allocate-points",
        {**ref, "transactionType": "DR", "type": "UNALLOCATE_POINT", "enKashCardId": first["enKashCardId"], "loadAmount": 75},
    )
    assert back["otbBalance"] == 100 and back["availableBalance"] == 100000 - 100
    with pytest.raises(EnKashBusinessError, match="Insufficient balance on card"):
        client.post(
            f"{CARD}/create-allocate-points",
            {
                **ref,
                "transactionType": "DR",
                "type": "UNALLOCATE_POINT",
                "enKashCardId": first["enKashCardId"],
                "loadAmount": 100.01,
            },
        )
    stats = client.card_account(ref["companyId"], ref["cardAccountId"])
    assert stats["availableCardBalance"] == 100 and stats["totalAllocationPoint"] == 175


def test_email_given_for_validation_must_match(client, ref):
    card = allocate(client, ref, mobile="9600000002", firstName="B", loadAmount=1)[1]["payload"]
    status, body = allocate(client, ref, enkashCardId=card["enKashCardId"], email="other@example.com", loadAmount=1)
    assert status == 422 and "email" in body["response_message"]


def test_insufficient_account_balance_is_the_documented_failure(client, ref):
    status, body = allocate(client, ref, mobile="9600000003", firstName="C", loadAmount=100000.01)
    assert status == 200 and body == {
        "response_code": 1,
        "response_message": "Insufficient balance in card account",
        "payload": "Insufficient balance in card account",
    }
    assert client.card_account(ref["companyId"], ref["cardAccountId"])["totalCards"] == 1


@pytest.mark.parametrize("direction, kind", [("CR", "UNALLOCATE_POINT"), ("DR", "ALLOCATE_POINT")])
def test_wrong_combinations_are_422_naming_both_fields(client, ref, direction, kind):
    status, body = allocate(client, ref, transactionType=direction, type=kind, mobile="9600000004", loadAmount=1)
    assert status == 422
    assert {e["field"] for e in body["errors"]} == {"transactionType", "type"}


def test_unallocate_of_unknown_holder_is_404(client, ref):
    status, _ = allocate(client, ref, transactionType="DR", type="UNALLOCATE_POINT", mobile="9600000999", loadAmount=1)
    assert status == 404


def test_bulk_allocation_reports_each_row(client, ref):
    existing = allocate(client, ref, mobile="9600000010", email="old@example.com", firstName="Old", loadAmount=5)[1]["payload"]
    rows = [
        {
            "title": "Mr",
            "name": "John Dee",
            "email": "john@example.com",
            "mobile": "6776543210",
            "loadAmount": 10,
            "remarks": "good",
            "uniqueReferenceNumber": "B-1",
        },
        {
            "title": "Ms",
            "name": "Old Holder",
            "email": "old@example.com",
            "mobile": "9600000010",
            "loadAmount": 20,
            "uniqueReferenceNumber": "B-2",
        },
        {
            "title": "Mr",
            "name": "Bad Mobile",
            "email": "bad@example.com",
            "mobile": "123",
            "loadAmount": 10,
            "uniqueReferenceNumber": "B-3",
        },
        {
            "title": "Mr",
            "name": "Too Big",
            "email": "big@example.com",
            "mobile": "6776543211",
            "loadAmount": 200000,
            "uniqueReferenceNumber": "B-4",
        },
        {
            "title": "Mr",
            "name": "Dup Ref",
            "email": "dup@example.com",
            "mobile": "6776543212",
            "loadAmount": 1,
            "uniqueReferenceNumber": "B-1",
        },
        "not an object",
    ]
    params = {**ref, "isPointsAllocation": "true"}
    result = client.payload(f"{CARD}/bulk-create-allocate-points-json", rows, params=params)
    assert (result["successCount"], result["failureCount"], result["totalCount"]) == (2, 4, 6)
    ok = {r["uniqueReferenceNumber"]: r for r in result["successBulkEnKashCardCreateDTOs"]}
    assert ok["B-1"]["name"] == "John Dee" and ok["B-1"]["otbBalance"] == 10
    assert ok["B-2"]["enKashCardId"] == existing["enKashCardId"] and ok["B-2"]["otbBalance"] == 25
    assert ok["B-2"]["accountBalance"] == 100000 - 5 - 10 - 20
    reasons = {f["row"]: f for f in result["failedBulkEnKashCardCreateDTOs"]}
    assert reasons[2]["httpStatus"] == 422 and "mobile" in reasons[2]["failureReason"]
    assert reasons[3]["failureReason"] == "Insufficient balance in card account"
    assert "Duplicate uniqueReferenceNumber" in reasons[4]["failureReason"]
    assert reasons[5]["failureReason"] == "Each row must be a JSON object"
    stats = client.card_account(ref["companyId"], ref["cardAccountId"])
    assert stats["availableBalance"] == 100000 - 35 and stats["totalCards"] == 3


def test_bulk_without_points_allocation_only_creates_new_users(client, ref):
    allocate(client, ref, mobile="9600000020", email="known@example.com", firstName="Known", loadAmount=5)
    rows = [
        {
            "title": "Mr",
            "name": "Known",
            "email": "known@example.com",
            "mobile": "9600000020",
            "loadAmount": 7,
            "uniqueReferenceNumber": "N-1",
        },
        {
            "title": "Mrs",
            "name": "New Person",
            "email": "new@example.com",
            "mobile": "9600000021",
            "loadAmount": 7,
            "uniqueReferenceNumber": "N-2",
        },
    ]
    result = client.payload(f"{CARD}/bulk-create-allocate-points-json", rows, params={**ref, "isPointsAllocation": "false"})
    assert result["successCount"] == 1 and result["successBulkEnKashCardCreateDTOs"][0]["mobile"] == "9600000021"
    assert "isPointsAllocation=false" in result["failedBulkEnKashCardCreateDTOs"][0]["failureReason"]


def test_bulk_query_and_account_errors(client, tenant, ref):
    status, body = client.request("POST", f"{CARD}/bulk-create-allocate-points-json", [], params=ref, raw=True)
    assert status == 400 and "isPointsAllocation" in body["response_message"]
    status, body = client.request(
        "POST",
        f"{CARD}/bulk-create-allocate-points-json",
        [],
        params={**ref, "cardAccountId": "CANOPE", "isPointsAllocation": "true"},
        raw=True,
    )
    assert status == 404 and body["response_message"] == (
        f"Card account not found for companyId: {ref['companyId']} and cardAccountId: CANOPE"
    )
    # a MEAL account's primary card has no KYC yet: the documented per-row refusal
    meal = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["MEAL"], "isPointsAllocation": "true"}
    rows = [
        {
            "title": "Mr",
            "name": "X",
            "email": "x@example.com",
            "mobile": "9600000030",
            "loadAmount": 1,
            "uniqueReferenceNumber": "M-1",
        }
    ]
    result = client.payload(f"{CARD}/bulk-create-allocate-points-json", rows, params=meal)
    assert result["failedBulkEnKashCardCreateDTOs"][0]["failureReason"].startswith("KYC is not uploaded")


def test_sso_pages_employee_admin_and_errors(sandbox, client, ref):
    holder = allocate(client, ref, mobile="9600000040", firstName="Priya", loadAmount=300)[1]["payload"]
    account = client.card_account(ref["companyId"], ref["cardAccountId"])
    admin_card = account["primaryEnKashCard"]["enKashCardId"]
    emp = client.payload(f"{CARD}/sso-token", {**ref, "enkashCardId": holder["enKashCardId"]})
    assert len(emp["token"]) == 26 and emp["employeeRewardsUrl"].endswith(f"/sso/{emp['token']}/employee_rewards/hrms")
    page = httpx.get(emp["employeeRewardsUrl"])
    assert page.status_code == 200 and "Priya" in page.text and "₹300.00" in page.text
    assert httpx.get(emp["employeeRewardsUrl"]).status_code == 200  # reusable until it expires
    # the holder's rewardAccountUrl opens the holder's own reward account: their balance, what was allocated to
    # them and their movements, never the company's balance or another holder's card
    other = allocate(client, ref, mobile="9600000041", firstName="Kabir", loadAmount=50)[1]["payload"]
    own = httpx.get(emp["rewardAccountUrl"])
    assert own.status_code == 200 and "Priya" in own.text and "Kabir" not in own.text
    assert 'id="otb-balance">₹300.00' in own.text and 'id="received-total">₹300.00' in own.text
    assert 'id="redeemed-total">₹0.00' in own.text and other["enKashCardId"] not in own.text
    assert "99,7" not in own.text and f"/sso/{emp['token']}/employee_rewards/hrms" in own.text
    adm = client.payload(f"{CARD}/sso-token", {**ref, "enKashCardId": admin_card})
    admin_page = httpx.get(f"{sandbox.url}/sso/{adm['token']}/reward_account/hrms")
    assert admin_page.status_code == 200 and "Priya" in admin_page.text and "99,650.00" in admin_page.text
    bad = httpx.get(f"{sandbox.url}/sso/not-a-token/employee_rewards/hrms")
    assert bad.status_code == 401 and "invalid or has expired" in bad.text
    with httpx.Client(base_url=sandbox.url) as http:
        http.post("/_sandbox/clock", json={"action": "advance", "seconds": 901})
        try:
            assert httpx.get(emp["employeeRewardsUrl"]).status_code == 401
        finally:
            http.post("/_sandbox/clock", json={"action": "reset"})


def test_sso_token_validation(client, ref):
    status, body = client.request("POST", f"{CARD}/sso-token", ref, raw=True)
    assert status == 400 and "enkashCardId" in body["response_message"]
    status, _ = client.request("POST", f"{CARD}/sso-token", {**ref, "enkashCardId": "EKCNOPE123"}, raw=True)
    assert status == 404


def test_coins_configure_allocate_idempotently_and_read_balance(client, tenant, ref):
    user = allocate(client, ref, mobile="9600000050", firstName="Coin", loadAmount=1)[1]["payload"]["userId"]
    status, body = client.request(
        "POST",
        "/api/v0/enkash-coins/create-coins-config",
        {"configuration": "DEFAULT", "companyId": tenant["companyId"], "event": "REFERRAL_EVENT", "amount": 6},
        raw=True,
    )
    assert status == 200 and body["response_code"] == 0
    config = body["payload"]
    assert config["coinConfigId"].startswith("WCC") and config["amount"] == 6
    got = client.request("GET", f"/api/v0/enkash-coins/{config['coinConfigId']}")
    assert got == {"response_code": 0, "response_message": "Success", "payload": config}
    patched = client.request(
        "PATCH", f"/api/v0/enkash-coins/{config['coinConfigId']}", {"amount": 10, "configuration": "CUSTOM"}
    )["payload"]
    assert patched == {**config, "amount": 10, "configuration": "CUSTOM"}
    allocation = {"companyId": tenant["companyId"], "event": "REFERRAL_EVENT", "requestId": "COIN_REQ1", "userId": user}
    first = client.post("/api/v0/enkash-coins/allocate-coin", allocation)
    assert first == {"payload": "Successfully allocated enkash Coins", "response_code": 0, "response_message": "Success"}
    client.post("/api/v0/enkash-coins/allocate-coin", allocation)  # same requestId: no second credit
    client.post("/api/v0/enkash-coins/allocate-coin", {**allocation, "requestId": "COIN_REQ2"})
    balance = client.request("GET", "/api/v0/coins/balance", params={"userId": user})
    assert balance == {"response_code": 0, "response_message": "Success", "payload": 20}


def test_coin_errors(client, tenant):
    base = {"companyId": tenant["companyId"], "event": "NO_SUCH_EVENT", "requestId": "R1"}
    status, body = client.request("POST", "/api/v0/enkash-coins/allocate-coin", {**base, "userId": "EKNOPE12"}, raw=True)
    assert status == 404
    status, body = client.request("GET", "/api/v0/enkash-coins/WCC000000", raw=True)
    assert status == 404
    status, body = client.request(
        "POST",
        "/api/v0/enkash-coins/create-coins-config",
        {"configuration": "OTHER", "companyId": tenant["companyId"], "event": "X_EVENT", "amount": -1},
        raw=True,
    )
    assert status == 422 and {"configuration", "amount"} <= {e["field"] for e in body["errors"]}
    status, body = client.request("GET", "/api/v0/coins/balance", raw=True)
    assert status == 400


def test_parallel_allocations_never_overdraw_and_conserve_money(sandbox):
    creds = sandbox.provision(fundBalance=1000)
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["EMPLOYEE_REWARDS"]}
    clients = [EnKashClient.from_credentials(sandbox.url, creds) for _ in range(16)]

    def one(i):
        try:
            clients[i % 16].post(
                f"{CARD}/create-allocate-points",
                {
                    **ref,
                    "transactionType": "CR",
                    "type": "ALLOCATE_POINT",
                    "mobile": f"95000{i:05d}",
                    "firstName": f"U{i}",
                    "loadAmount": 30,
                    "uniqueReferenceNumber": f"P-{i}",
                },
            )
            return True
        except EnKashBusinessError:
            return False

    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(one, range(60)))
        assert results.count(True) == 33
        stats = clients[0].card_account(ref["companyId"], ref["cardAccountId"])
        assert stats["availableBalance"] == 10
        assert stats["availableBalance"] + stats["availableCardBalance"] == 1000
        assert stats["totalAllocationPoint"] == 990
    finally:
        for c in clients:
            c.close()
