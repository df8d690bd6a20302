"""Every request example of the EnKash reference (../shared/reference/enkash-cards.md, enkash-rewards.md) and the
seed pages (../shared/seeds), sent verbatim through the encrypted envelope with a partner's own token: each is
answered with success, or with the failure the docs document for it.

"Verbatim" means the example's JSON text as the docs print it; only the docs' own account, company, card, user,
order and catalog ids are replaced by this tenant's (an example id belongs to someone else's UAT account, so
sending it unchanged could only ever answer "not found"). A redacted value ("…") becomes a plausible one, and is
marked where it happens."""

from __future__ import annotations

import json

import httpx
import pytest
from enkash_sandbox import crypto
from enkash_sandbox.client import EnKashClient

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture(scope="module")
def world(sandbox):
    """A tenant with a loaded card on its reloadable account, a reward holder, an order and the catalog's ids."""
    creds = sandbox.provision()
    gpr = creds["cardAccounts"]["RELOADABLE_GPR"]
    rewards = creds["cardAccounts"]["EMPLOYEE_REWARDS"]
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        card = c.create_card(companyId=creds["companyId"], cardAccountId=gpr, mobile="9811100001", firstName="Ex", loadAmount=500)
        holder = c.allocate_points(
            creds["companyId"], rewards, 2000, reference="EX-ALLOC", mobile="9811100002", firstName="Rex", email="rex@example.com"
        )
        # the partner redeems as its login user, whose primary reward card pays
        primary = c.card_account(creds["companyId"], rewards)["primaryEnKashCard"]["enKashCardId"]
        c.allocate_points(creds["companyId"], rewards, 5000, reference="EX-PRIMARY", enkashCardId=primary)
        catalog = httpx.get(f"{sandbox.url}/_sandbox/catalog").json()
        product = next(p for p in catalog if p["active"] and any(not d["customAmountEnabled"] for d in p["denominations"]))
        config = next(d for d in product["denominations"] if not d["customAmountEnabled"])
        order = c.payload(
            "/api/v0/partner/create-order",
            {
                "denomination": config["mrp"],
                "orderReferenceId": "EX-ORDER",
                "productCatalogId": product["productCatalogId"],
                "quantity": 1,
            },
        )
    ids = {
        # the docs' ids -> this tenant's
        "CEKEP5GSGP": creds["companyId"],
        "CEK1PU9AOO": creds["companyId"],
        "CEKEKCARDS": creds["companyId"],
        "CEK0TCW2W8": creds["companyId"],
        "company_id": creds["companyId"],
        "CABFIPS": gpr,
        "CAA8W45": gpr,
        "CAC7975": gpr,
        "CAQL8YCV3": rewards,
        "account_id": rewards,
        "EKCMB7KAEW": card["enKashCardId"],
        "EKC94AEX89": card["enKashCardId"],
        "EKCBEFFEC1": card["enKashCardId"],
        "EKC2122": card["enKashCardId"],
        "EKCDM5AVZY": holder["enKashCardId"],
        "EKQZVMQK": holder["userId"],
        "OR631764TS4UC": order["enkashOrderId"],
        "PC7513531244A681": product["productCatalogId"],
        "PCN751457389RC1ST": config["productConfigId"],
        "PCN233451126S5CZC": config["productConfigId"],
    }
    return sandbox, creds, ids


def verbatim(text: str, ids: dict[str, str]) -> object:
    for doc_id, ours in ids.items():
        text = text.replace(f'"{doc_id}"', json.dumps(ours))
    return json.loads(text)


def code_of(body: dict) -> int:
    return body.get("code", body.get("response_code"))


# (what, method, path, query, example text as printed, expected): expected is "ok", or (status, text of the
# documented failure)
EXAMPLES = [
    # enkash-cards.md §7.2 / enkash-rewards.md: Get Card Account Details, its literal placeholder example
    ("account get", "POST", f"{CARD}/cardAccount/get", None, '{"cardAccountId":"account_id","companyId":"company_id"}', "ok"),
    (
        "account get (rewards)",
        "POST",
        f"{CARD}/cardAccount/get",
        None,
        '{"cardAccountId":"CAQL8YCV3","companyId":"CEK1PU9AOO"}',
        "ok",
    ),
    # §7.3 G2 Create Prepaid Card (the e-mail is redacted in the reference: "…" -> a real address)
    (
        "prepaid create",
        "POST",
        CARD,
        None,
        '{"companyId":"CEKEP5GSGP","cardAccountId":"CABFIPS","email":"johny@example.com","mobile":"6001098801","title":"Mr",'
        '"firstName":"johny","lastName":"bateman","gender":"M","address":"cda block","address2":"ab colony",'
        '"city":"kota","state":"Rajasthan","country":"India","pincode":"323307","primaryEnKashCard":false,'
        '"physicalCard":true,"loadAmount":10,"remarks":"string","physicalDeliveryAddressFlag":true,'
        '"deliveryAddress":"test","deliveryAddress2":"test","deliveryCity":"test","deliveryState":"test",'
        '"deliveryCountry":"test","deliveryPincode":"323309","documents":[{"docType":"PAN","docNo":"CPNPN9977R"}],'
        '"specialDate":"02-09-2001"}',
        "ok",
    ),
    # seeds/gift-card-create.txt: the G1 gift example, placeholders and all: "string" is not an e-mail (documented regex)
    (
        "gift create (seed page)",
        "POST",
        CARD,
        None,
        '{"userId": "string", "companyId": "string", "cardAccountId": "string", "email": "string", "mobile": "stringstri",'
        ' "title": "string", "firstName": "string", "middleName": "string", "lastName": "string", "gender": "string",'
        ' "specialDate": "string", "address": "string", "address2": "string", "city": "string", "state": "string",'
        ' "country": "string", "pincode": "string", "physicalCard": true, "physicalDeliveryAddressFlag": true,'
        ' "deliveryAddress": "string", "deliveryAddress2": "string", "deliveryCity": "string", "deliveryState": "string",'
        ' "deliveryCountry": "string", "deliveryPincode": "string"}',
        (422, "email"),
    ),
    # §7.4 G2 Load Card Balance
    (
        "load (G2)",
        "POST",
        f"{CARD}/balance",
        None,
        '{"companyId":"CEKEP5GSGP","cardAccountId":"CABFIPS","createdBy":"anay","amount":10,"transactionType":"CR",'
        '"description":"desc","type":"ALLOCATE_FUND","transactionCode":"ALLOCATION","uniqueReferenceNumber":"Ref123",'
        '"remarks":"string","enKashCardId":"EKCMB7KAEW"}',
        "ok",
    ),
    # §7.4 G1's DR example: the same page says "DR not allowed on this card"
    (
        "load (G1 DR)",
        "POST",
        f"{CARD}/balance",
        None,
        '{"companyId":"CEKEP5GSGP","cardAccountId":"CABFIPS","enKashCardId":"EKCMB7KAEW","transactionType":"DR",'
        '"type":"SALE","transactionCode":"PRINCIPLE","amount":0.01}',
        (200, "DR not allowed on this card"),
    ),
    # §7.5 Set PIN (a bare number, no otpRequired)
    (
        "set pin",
        "POST",
        f"{CARD}/setPin",
        None,
        '{"companyId":"CEKEP5GSGP","cardAccountId":"CAA8W45","enKashCardId":"EKC94AEX89","pinBlock":9078}',
        "ok",
    ),
    # §7.6 G3/wallet OTP
    (
        "otp",
        "POST",
        f"{CARD}/otp",
        None,
        '{"cardOtpAction":"TRANSACTION_OTP","cardAccountId":"CAC7975","enKashCardId":"EKCBEFFEC1"}',
        "ok",
    ),
    # §7.7 velocity: G2 (array ids, booleans) and G3 (a string id, string limits)
    (
        "velocity (G2)",
        "POST",
        f"{CARD}/velocity/rule",
        None,
        '{"companyId":"CEKEP5GSGP","cardAccountId":"CAA8W45","enKashCardIds":["EKC94AEX89"],"internationalAllowed":false,'
        '"posAllowed":true,"atmAllowed":false,"onlineAllowed":true}',
        "ok",
    ),
    (
        "velocity (G3)",
        "POST",
        f"{CARD}/velocity/rule",
        None,
        '{"companyId":"CEKEP5GSGP","cardAccountId":"CAA8W45","enKashCardIds":"EKC2122","posDailyLimit":"1220","posDailyLimitCount":"1"}',
        "ok",
    ),
    # §7.10 block: the example's placeholders ("string" OTP) fail the OTP check, as they would on UAT
    (
        "block (placeholders)",
        "POST",
        f"{CARD}/block",
        None,
        '{"companyId":"CEKEP5GSGP","cardAccountId":"CAA8W45","enKashCardId":"EKC94AEX89","blockCode":"L","reason":"string",'
        '"otpMedium":"MOBILE","otpRequestId":"string","otp":"string","createdBy":"string","mfaCode":"string","otpRequired":true}',
        (200, "OTP"),
    ),
    # §7.11 search: the id-matched example (enkashCardId, the rewards spelling) and the list
    (
        "search by id",
        "POST",
        f"{CARD}/search",
        None,
        '{ "cardAccountId": "CAQL8YCV3", "companyId": "CEK1PU9AOO", "enkashCardId": "EKCDM5AVZY" }',
        "ok",
    ),
    ("search list", "POST", f"{CARD}/search", None, '{"cardAccountId":"CAQL8YCV3","companyId":"CEK1PU9AOO"}', "ok"),
    # §7.12 the full filter object (its txnDateTo is cut off in the reference: completed with the same instant)
    (
        "transactions filter",
        "POST",
        f"{CARD}/transaction/all",
        None,
        '{"companyId":"CEKEP5GSGP","companyName":"string","cardHolderName":"string","userId":"string","cardAccountId":"CABFIPS",'
        '"enKashCardId":"EKCMB7KAEW","status":"CREATED","enKashTransactionIds":["string"],"enKashTransactionId":"string",'
        '"cardTransactionType":"DR","amountFrom":0,"amountTo":0,"pgReferenceNumbers":["string"],"pgReferenceNumber":"string",'
        '"txnDateFrom":"2025-01-24T08:47:01.505Z","txnDateTo":"2025-01-24T08:47:01.505Z"}',
        "ok",
    ),
    # enkash-rewards.md: SSO token, create & allocate points (uniqueReferenceNum spelling)
    (
        "sso token",
        "POST",
        f"{CARD}/sso-token",
        None,
        '{ "cardAccountId": "CAQL8YCV3", "companyId": "CEK1PU9AOO", "enkashCardId": "EKCDM5AVZY" }',
        "ok",
    ),
    (
        "create & allocate",
        "POST",
        f"{CARD}/create-allocate-points",
        None,
        '{"companyId": "CEK1PU9AOO", "cardAccountId": "CAQL8YCV3", "transactionCode": "ALLOCATION", "transactionType": "CR",'
        ' "type": "ALLOCATE_POINT", "email": "xyz2@gmail.com", "mobile": "9600098867", "title": "Mr", "firstName": "hedfdfg",'
        ' "gender": "M", "loadAmount": 11, "uniqueReferenceNum": "TEST234236"}',
        "ok",
    ),
    (
        "bulk create & allocate",
        "POST",
        f"{CARD}/bulk-create-allocate-points-json",
        {"companyId": "CEK1PU9AOO", "cardAccountId": "CAQL8YCV3", "isPointsAllocation": "true"},
        '[{"title": "Mr", "name": "John hrllo", "email": "ojas.bisariya@kratikal.com", "mobile": "6836111111",'
        ' "loadAmount": 100, "remarks": "good", "uniqueReferenceNumber": "test123457"}]',
        "ok",
    ),
    # the redemption marketplace, with the partner's own token (as on UAT)
    (
        "add to cart",
        "POST",
        "/api/v0/cart",
        {"product": "VOUCHER"},
        '{"productCatalogId":"PC7513531244A681","items":{"PCN751457389RC1ST":{"quantity":1,"description":""}}}',
        "ok",
    ),
    (
        "create order (placeholders)",
        "POST",
        "/api/v0/partner/create-order",
        None,
        '{"denomination": 0, "orderReferenceId": "string", "productCatalogId": "string", "quantity": 0}',
        (422, ""),
    ),
    ("order details by OR id", "POST", "/api/v0/order/orderDetails", None, '{"orderId": "OR631764TS4UC"}', "ok"),
    # coins
    (
        "coin config",
        "POST",
        "/api/v0/enkash-coins/create-coins-config",
        None,
        '{"configuration": "DEFAULT", "companyId": "CEKEKCARDS", "event": "MEAL_CARD_PAYMENT", "amount": 6}',
        "ok",
    ),
]


@pytest.mark.parametrize("what, method, path, query, text, expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_a_documented_example_is_answered_as_documented(world, what, method, path, query, text, expected):
    sandbox, creds, ids = world
    body = verbatim(text, ids)
    params = {k: ids.get(v, v) for k, v in query.items()} if query else None
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        status, answer = client.request(method, path, body, params=params, raw=True)
    if expected == "ok":
        assert status == 200 and code_of(answer) == 0, (what, status, answer)
    else:
        want_status, text_part = expected
        assert status == want_status and code_of(answer) == 1 and text_part in answer["response_message"], (what, status, answer)


def test_the_cart_update_and_coin_allocation_examples(world):
    """Examples that need what an earlier one made: the cart's id, a coin configuration."""
    sandbox, creds, ids = world
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        carts = client.payload(
            "/api/v0/cart",
            verbatim(
                '{"productCatalogId":"PC7513531244A681","items":{"PCN751457389RC1ST":{"quantity":1,"description":""}}}', ids
            ),
            params={"product": "VOUCHER"},
        )
        ids = {**ids, "2191": str(carts[0]["id"])}
        update = json.loads('{"cartId": 2191, "items": {"PCN233451126S5CZC": {"quantity": 1, "description": ""}}}')
        update["cartId"] = carts[0]["id"]
        update["items"] = {ids["PCN233451126S5CZC"]: update["items"]["PCN233451126S5CZC"]}
        status, answer = client.request("PATCH", "/api/v0/cart", update, params={"product": "VOUCHER"}, raw=True)
        assert status == 200 and code_of(answer) == 0, answer
        client.request(
            "POST",
            "/api/v0/enkash-coins/create-coins-config",
            verbatim('{"configuration": "DEFAULT", "companyId": "CEK0TCW2W8", "event": "REFERRAL_EVENT", "amount": 6}', ids),
            raw=True,
        )
        status, answer = client.request(
            "POST",
            "/api/v0/enkash-coins/allocate-coin",
            verbatim(
                '{"companyId": "CEK0TCW2W8", "event": "REFERRAL_EVENT", "requestId": "COIN_REQ1234567", "userId": "EKQZVMQK"}',
                ids,
            ),
            raw=True,
        )
        assert status == 200 and answer == {
            "payload": "Successfully allocated enkash Coins",
            "response_code": 0,
            "response_message": "Success",
        }


# -- issue 18 §3: the guide's short bodies, a card without a holder identifier, the pincode forms --------------
def card_balance(client: EnKashClient, company: str, account: str, card: str) -> float:
    return client.search_cards(company, account, card)["otbBalance"]


def test_the_reward_guides_short_top_ups_are_accepted(world):
    """The Reward Allocation guide (doc-1039425) tops a card up with "enkashCardId or cardAccountId (one required
    if the other is absent), loadAmount": the two smallest bodies its field list allows, as UAT takes them."""
    sandbox, creds, ids = world
    company, rewards = creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"]
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        holder_card = ids["EKCDM5AVZY"]
        before = card_balance(client, company, rewards, holder_card)
        # no companyId, no cardAccountId, no transactionType/type: a CR + ALLOCATE_POINT on the card's own account
        status, answer = client.request(
            "POST", f"{CARD}/create-allocate-points", verbatim('{"enkashCardId": "EKCDM5AVZY", "loadAmount": 10}', ids), raw=True
        )
        assert status == 200 and code_of(answer) == 0, answer
        payload = answer["payload"]
        assert payload["enKashCardId"] == holder_card and payload["cardAccountId"] == rewards
        assert payload["transactionType"] == "CR" and payload["type"] == "ALLOCATE_POINT"
        assert card_balance(client, company, rewards, holder_card) == before + 10
        # the Incentive guide's path, DR named alone: type follows (UNALLOCATE_POINT)
        status, answer = client.request(
            "POST",
            f"{CARD}/points/allocate",
            verbatim('{"enkashCardId": "EKCDM5AVZY", "loadAmount": 4, "transactionType": "DR"}', ids),
            raw=True,
        )
        assert status == 200 and answer["payload"]["type"] == "UNALLOCATE_POINT"
        assert card_balance(client, company, rewards, holder_card) == before + 6
        # no holder identifier at all, the account alone: the account's primary card, and the answer says so
        primary = client.card_account(company, rewards)["primaryEnKashCard"]["enKashCardId"]
        was = card_balance(client, company, rewards, primary)
        body = verbatim('{"cardAccountId": "CAQL8YCV3", "loadAmount": 10}', ids)
        response = client.http.post(
            f"{client.base_url}{CARD}/create-allocate-points",
            content=json.dumps(crypto.encrypt_json(body, client.client_secret)),
            headers={
                "Authorization": f"Bearer {client.access_token()}",
                "partnerId": client.partner_id,
                "Content-Type": "application/json",
            },
        )
        answer = crypto.decrypt_json(response.json(), client.client_secret)
        assert response.status_code == 200 and answer["payload"]["enKashCardId"] == primary, answer
        assert response.headers["x-sandbox-inferred"] == "allocation-primary-card"
        assert card_balance(client, company, rewards, primary) == was + 10
        # neither a card nor an account: refused, naming what is missing
        status, answer = client.request("POST", f"{CARD}/create-allocate-points", {"loadAmount": 10}, raw=True)
        assert status == 400 and "cardAccountId" in answer["response_message"]


def test_a_card_without_holder_identifier_and_the_pincode_forms(world):
    sandbox, creds, ids = world
    gift = creds["cardAccounts"]["GIFT"]
    with EnKashClient.from_credentials(sandbox.url, creds) as client:
        # G1 marks userId, mobile and email optional: a bearer gift card for a new, unnamed holder
        body = {**verbatim('{"companyId": "CEKEP5GSGP", "firstName": "Bearer", "loadAmount": 25}', ids), "cardAccountId": gift}
        status, answer = client.request("POST", CARD, body, raw=True)
        assert status == 200 and code_of(answer) == 0, answer
        first = answer["payload"]
        assert first["mobile"] is None and first["email"] is None and first["otbBalance"] == 25
        status, answer = client.request("POST", CARD, body, raw=True)
        assert status == 200 and answer["payload"]["userId"] != first["userId"]  # each one a holder of its own
        # the seed page types pincode as a string without a pattern (its schema example: "string"); Jackson also
        # coerces a JSON number into a String field
        base = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"], "firstName": "Pin"}
        forms = (("9811100011", "string", "string"), ("9811100012", 323307, 323309), ("9811100013", "323307", "323309"))
        for mobile, pin, delivery in forms:
            body = {**base, "mobile": mobile, "pincode": pin, "physicalDeliveryAddressFlag": True, "deliveryPincode": delivery}
            status, answer = client.request("POST", CARD, body, raw=True)
            assert status == 200 and answer["payload"]["pincode"] == str(pin), (pin, answer)
            assert answer["payload"]["deliveryPincode"] == str(delivery)
        # an object or a list is no pincode
        status, answer = client.request("POST", CARD, {**base, "mobile": "9811100014", "pincode": {"code": 1}}, raw=True)
        assert status == 422 and answer["errors"][0]["field"] == "pincode"
