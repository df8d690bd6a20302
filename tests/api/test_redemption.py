"""Redemption marketplace with a card holder's token: catalog, cart pricing, orders, vouchers, search."""

from decimal import Decimal

import httpx
import pytest
from enkash_sandbox import crypto
from enkash_sandbox.client import EnKashBusinessError, EnKashClient

CARD = "/api/v0/partner/enKashCard"
CART = "/api/v0/cart"
V = {"product": "VOUCHER"}


@pytest.fixture
def ref(tenant):
    return {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["EMPLOYEE_REWARDS"]}


@pytest.fixture
def holder(client, ref):
    return client.payload(
        f"{CARD}/create-allocate-points",
        {
            **ref,
            "transactionType": "CR",
            "type": "ALLOCATE_POINT",
            "mobile": "9700000001",
            "firstName": "Ravi",
            "email": "ravi@example.com",
            "loadAmount": 2000,
            "uniqueReferenceNumber": "R-ALLOC-1",
        },
    )


@pytest.fixture
def shopper(sandbox, tenant, holder):
    creds = dict(tenant, username=holder["mobile"], password="Holder@1234")
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        yield c


@pytest.fixture(scope="module")
def catalog(sandbox):
    return httpx.get(f"{sandbox.url}/_sandbox/catalog").json()


def product_with(catalog, *, discount=None, custom=False):
    for p in catalog:
        if not p["active"]:
            continue
        fixed = [d for d in p["denominations"] if not d["customAmountEnabled"]]
        if custom and not any(d["customAmountEnabled"] for d in p["denominations"]):
            continue
        if discount is None or p["discount"] == discount:
            return p, fixed
    raise AssertionError("fixture catalog lacks such a product")


def test_catalog_has_25_brands_across_categories_with_served_images(sandbox, catalog):
    assert len(catalog) >= 25
    assert {"E-Commerce", "Food", "Travel", "Fashion", "Entertainment"} <= {p["category"] for p in catalog}
    first = catalog[0]
    assert first["productCatalogId"].startswith("PC")
    assert all(d["productConfigId"].startswith("PCN") for d in first["denominations"])
    image = httpx.get(sandbox.url + first["images"]["LOGO_IMAGE"])
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/svg+xml")


def test_search_config_as_documented(shopper, catalog):
    product, fixed = product_with(catalog, discount=2)
    body = shopper.request("GET", f"/api/v0/partner/search-config/{product['productCatalogId']}")
    assert body["response_code"] == 0
    p = body["payload"]
    assert set(p) >= {
        "productCatalogId",
        "brand",
        "aggregator",
        "category",
        "images",
        "description",
        "configResponses",
        "enabled",
        "rank",
        "termsAndCondition",
        "howToRedeem",
        "expiryPeriod",
        "active",
        "enkashImages",
        "discount",
    }
    assert set(p["images"]) == {"BRAND_IMAGE", "LOGO_IMAGE", "LOGO_IMAGE_SMALL"}
    c = p["configResponses"][0]
    assert set(c) == {"productConfigId", "mrp", "sellRate", "enkashDiscount", "maxQuantity", "customAmountEnabled"}
    assert Decimal(str(c["sellRate"])) == Decimal(str(c["mrp"])) * Decimal("0.98")
    status, missing = shopper.request("GET", "/api/v0/partner/search-config/PC0000000000NOPE", raw=True)
    assert status == 404 and missing["response_code"] == 1


def test_cart_pricing_matches_the_docs_numbers(shopper, catalog):
    product, fixed = product_with(catalog, discount=2)
    by_mrp = {Decimal(str(d["mrp"])): d["productConfigId"] for d in fixed}
    assert Decimal(100) in by_mrp and Decimal(500) in by_mrp, "fixture needs 100 and 500 denominations at 2%"
    carts = shopper.request(
        "POST",
        CART,
        {"productCatalogId": product["productCatalogId"], "items": {by_mrp[Decimal(500)]: {"quantity": 1, "description": ""}}},
        params=V,
    )
    assert carts["response_code"] == 0
    cart = carts["payload"][0]
    line = cart["items"][by_mrp[Decimal(500)]]
    assert (line["mrp"], line["sellRate"], line["savings"], line["total"]) == (500, 490, 10, 490)
    patched = shopper.request("PATCH", CART, {"cartId": cart["id"], "items": {by_mrp[Decimal(100)]: {"quantity": 2}}}, params=V)[
        "payload"
    ][0]
    small = patched["items"][by_mrp[Decimal(100)]]
    assert (small["sellRate"], small["savings"], small["total"]) == (98, 4, 196)
    assert (patched["totalQuantity"], patched["totalAmount"], patched["totalSavings"]) == (3, 686, 14)
    assert len(patched["productConfigs"]) == len(product["denominations"])
    # quantity 0 removes a line; Add to cart adds to what is there
    removed = shopper.request("PATCH", CART, {"cartId": cart["id"], "items": {by_mrp[Decimal(500)]: {"quantity": 0}}}, params=V)[
        "payload"
    ][0]
    assert list(removed["items"]) == [by_mrp[Decimal(100)]]
    added = shopper.request(
        "POST",
        CART,
        {"productCatalogId": product["productCatalogId"], "items": {by_mrp[Decimal(100)]: {"quantity": 1}}},
        params=V,
    )["payload"][0]
    assert added["items"][by_mrp[Decimal(100)]]["quantity"] == 3
    assert shopper.request("GET", CART, params=V)["payload"][0]["id"] == cart["id"]


def test_cart_validation(shopper, catalog):
    product, fixed = product_with(catalog)
    other, other_fixed = next(
        (p, [d for d in p["denominations"] if not d["customAmountEnabled"]])
        for p in catalog
        if p["productCatalogId"] != product["productCatalogId"]
    )
    cid = product["productCatalogId"]
    cases = [
        ({"items": {fixed[0]["productConfigId"]: {"quantity": fixed[0]["maxQuantity"] + 1}}}, "maxQuantity"),
        ({"items": {"PCN000NOPE": {"quantity": 1}}}, "unknown productConfigId"),
        ({"items": {other_fixed[0]["productConfigId"]: {"quantity": 1}}}, "belongs to product catalog"),
        ({"items": {fixed[0]["productConfigId"]: {"quantity": 1, "amount": 150}}}, "custom amounts"),
    ]
    for extra, reason in cases:
        status, body = shopper.request("POST", CART, {"productCatalogId": cid, **extra}, params=V, raw=True)
        assert status == 422 and reason in body["response_message"], body
    status, body = shopper.request("GET", CART, params={"product": "GIFTCARD"}, raw=True)
    assert status == 422 and "VOUCHER" in body["response_message"]
    status, _ = shopper.request("GET", CART, raw=True)
    assert status == 400
    status, _ = shopper.request(
        "PATCH", CART, {"cartId": 999999, "items": {fixed[0]["productConfigId"]: {"quantity": 1}}}, params=V, raw=True
    )
    assert status == 404


def test_the_partner_token_redeems_as_its_login_user(sandbox, client, tenant, catalog):
    # as on UAT (profile redemptionAuth=both, the default): the partner's own token, acting as its login user
    # (the company admin) and that user's primary reward card
    status, body = client.request("GET", CART, params=V, raw=True)
    assert status == 200 and body["payload"] == []
    rewards = tenant["cardAccounts"]["EMPLOYEE_REWARDS"]
    primary = client.card_account(tenant["companyId"], rewards)["primaryEnKashCard"]["enKashCardId"]
    client.allocate_points(tenant["companyId"], rewards, 5000, reference="P-FUND", enkashCardId=primary)
    product, fixed = product_with(catalog)
    d = fixed[0]
    order = client.payload(
        "/api/v0/partner/create-order",
        {"denomination": d["mrp"], "orderReferenceId": "P-1", "productCatalogId": product["productCatalogId"], "quantity": 1},
    )
    assert order["orderStatus"] == "SUCCESS" and order["enkashOrderId"].startswith("OR")
    assert order["enKashCardId"] == primary
    # orderDetails by the partner's reference or by the order id EnKash answered with
    by_reference = client.payload("/api/v0/order/orderDetails", {"orderId": "P-1"})
    by_id = client.payload("/api/v0/order/orderDetails", {"orderId": order["enkashOrderId"]})
    assert by_reference["enkashOrderId"] == by_id["enkashOrderId"] == order["enkashOrderId"]


def test_redemption_auth_profile_options(sandbox, holder):
    # holder: the sandbox's earlier rule, a card holder's or SSO token only
    creds = sandbox.provision(profile={"redemptionAuth": "holder"})
    with EnKashClient.from_credentials(sandbox.url, creds) as partner:
        status, body = partner.request("GET", CART, params=V, raw=True)
        assert status == 403 and body["error"] == "access_denied"
        status, body = partner.request("POST", "/api/v0/order/orderDetails", {"orderId": "X"}, raw=True)
        assert status == 403
    # partner: the partner token only; a card holder's login is refused
    creds = sandbox.provision(profile={"redemptionAuth": "partner"})
    with EnKashClient.from_credentials(sandbox.url, creds) as partner:
        ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["EMPLOYEE_REWARDS"]}
        made = partner.allocate_points(
            ref["companyId"], ref["cardAccountId"], 100, reference="A-1", mobile="9700000077", firstName="Uma", email="u@e.in"
        )
        assert partner.request("GET", CART, params=V, raw=True)[0] == 200
    with EnKashClient.from_credentials(sandbox.url, dict(creds, username=made["mobile"], password="Holder@1234")) as user:
        status, body = user.request("GET", CART, params=V, raw=True)
        assert status == 403 and body["error"] == "access_denied"


def test_order_end_to_end(sandbox, client, shopper, ref, holder, catalog):
    product, fixed = product_with(catalog, discount=2)
    d500 = next(d for d in fixed if d["mrp"] == 500)
    order = shopper.request(
        "POST",
        "/api/v0/partner/create-order",
        {"denomination": 500, "orderReferenceId": "ORD-1", "productCatalogId": product["productCatalogId"], "quantity": 2},
    )
    assert order["response_code"] == 0
    o = order["payload"]
    assert o["orderStatus"] == "SUCCESS" and o["paymentStatus"] == "SUCCESS" and o["totalQuantity"] == 2
    assert o["totalAmount"] == 980 and o["enkashOrderId"].startswith("OR") and len(o["vouchers"]) == 2
    assert all(len(v["voucherPin"]) == 6 and v["voucherCode"] for v in o["vouchers"])
    assert o["productConfigId"] == d500["productConfigId"]
    card = client.search_cards(ref["companyId"], ref["cardAccountId"], holder["enKashCardId"])
    assert card["otbBalance"] == 2000 - 980
    again = shopper.request(
        "POST",
        "/api/v0/partner/create-order",
        {"denomination": 500, "orderReferenceId": "ORD-1", "productCatalogId": product["productCatalogId"], "quantity": 2},
    )["payload"]
    assert again["enkashOrderId"] == o["enkashOrderId"]
    assert client.search_cards(ref["companyId"], ref["cardAccountId"], holder["enKashCardId"])["otbBalance"] == 1020
    details = shopper.request("POST", "/api/v0/order/orderDetails", {"orderId": "ORD-1"})["payload"]
    assert details["vouchers"] == o["vouchers"]
    older = shopper.request("GET", "/api/v0/partner/fetch-order-details/ORD-1")
    assert older["paylod"]["orderStatus"] == "SUCCESS" and older["response_code"] == 0
    stats = client.card_account(ref["companyId"], ref["cardAccountId"])
    assert stats["totalRedemptionPoint"] == 980 and stats["currentMonthRedemptionPoint"] == 980
    txn = client.transactions(
        ref["companyId"], ref["cardAccountId"], enKashCardId=holder["enKashCardId"], cardTransactionType="DR"
    )["data"][0]
    assert txn["type"] == "REDEMPTION" and txn["principalAmount"] == 980
    # a REDEMPTION row names its order by the partner's orderReferenceId, and is found by it
    assert txn["pgReferenceNumber"] == "ORD-1"
    found = client.transactions(ref["companyId"], ref["cardAccountId"], pgReferenceNumber="ORD-1")["data"]
    assert [t["enKashCardTransactionId"] for t in found] == [txn["enKashCardTransactionId"]]


def test_order_failures_move_nothing(client, shopper, ref, holder, catalog):
    product, fixed = product_with(catalog)
    base = {"productCatalogId": product["productCatalogId"], "orderReferenceId": "ORD-X"}
    big = max(fixed, key=lambda d: d["mrp"])
    with pytest.raises(EnKashBusinessError, match="Insufficient balance in card account"):
        shopper.post(
            "/api/v0/partner/create-order", {**base, "denomination": big["mrp"], "quantity": min(big["maxQuantity"], 30)}
        )
    status, body = shopper.request("POST", "/api/v0/partner/create-order", {**base, "denomination": 7, "quantity": 1}, raw=True)
    assert status == 422 and "denomination" in body["response_message"]
    status, body = shopper.request(
        "POST",
        "/api/v0/partner/create-order",
        {**base, "denomination": fixed[0]["mrp"], "quantity": fixed[0]["maxQuantity"] + 1},
        raw=True,
    )
    assert status == 422 and "quantity" in body["response_message"]
    status, _ = shopper.request(
        "POST",
        "/api/v0/partner/create-order",
        {**base, "productCatalogId": "PCNOPE", "denomination": 100, "quantity": 1},
        raw=True,
    )
    assert status == 404
    assert client.search_cards(ref["companyId"], ref["cardAccountId"], holder["enKashCardId"])["otbBalance"] == 2000


def test_a_locked_card_cannot_spend(client, shopper, ref, holder, catalog):
    client.post(
        f"{CARD}/block",
        {**ref, "enKashCardId": holder["enKashCardId"], "blockCode": "L", "otpMedium": "MFA", "mfaCode": "123456"},
    )
    product, fixed = product_with(catalog)
    with pytest.raises(EnKashBusinessError, match="locked"):
        shopper.post(
            "/api/v0/partner/create-order",
            {
                "productCatalogId": product["productCatalogId"],
                "orderReferenceId": "ORD-L",
                "denomination": fixed[0]["mrp"],
                "quantity": 1,
            },
        )


def test_pending_orders_settle_by_the_clock_and_failures_refund(sandbox, client, shopper, ref, holder, catalog):
    product, fixed = product_with(catalog)
    d = fixed[0]
    ok = shopper.payload(
        "/api/v0/partner/create-order",
        {
            "productCatalogId": product["productCatalogId"],
            "orderReferenceId": "SBX-PENDING-OK-1",
            "denomination": d["mrp"],
            "quantity": 1,
        },
    )
    bad = shopper.payload(
        "/api/v0/partner/create-order",
        {
            "productCatalogId": product["productCatalogId"],
            "orderReferenceId": "SBX-PENDING-FAIL-1",
            "denomination": d["mrp"],
            "quantity": 1,
        },
    )
    assert ok["orderStatus"] == bad["orderStatus"] == "PENDING" and ok["vouchers"] == []
    paid = Decimal(str(ok["totalAmount"])) * 2
    card = client.search_cards(ref["companyId"], ref["cardAccountId"], holder["enKashCardId"])
    assert Decimal(str(card["otbBalance"])) == 2000 - paid
    with httpx.Client(base_url=sandbox.url) as http:
        http.post("/_sandbox/clock", json={"action": "advance", "seconds": 61})
        try:
            done = shopper.payload("/api/v0/order/orderDetails", {"orderId": "SBX-PENDING-OK-1"})
            failed = shopper.payload("/api/v0/order/orderDetails", {"orderId": "SBX-PENDING-FAIL-1"})
        finally:
            http.post("/_sandbox/clock", json={"action": "reset"})
    assert done["orderStatus"] == "SUCCESS" and len(done["vouchers"]) == 1
    assert failed["orderStatus"] == "FAILED" and failed["paymentStatus"] == "REFUNDED" and failed["refundTxnId"]
    card = client.search_cards(ref["companyId"], ref["cardAccountId"], holder["enKashCardId"])
    assert Decimal(str(card["otbBalance"])) == 2000 - paid / 2
    stats = client.card_account(ref["companyId"], ref["cardAccountId"])
    assert Decimal(str(stats["totalRedemptionPoint"])) == paid / 2


def test_order_search_filters_paging_and_direction(client, shopper, catalog):
    product, fixed = product_with(catalog)
    for i in range(3):
        shopper.post(
            "/api/v0/partner/create-order",
            {
                "productCatalogId": product["productCatalogId"],
                "orderReferenceId": f"S-{i}",
                "denomination": fixed[0]["mrp"],
                "quantity": 1,
            },
        )
    page = shopper.payload("/api/v0/partner/search-order", {}, params={"limit": 2, "offset": 0})
    assert page["totalCount"] == 3 and page["recordsCount"] == 2
    assert [o["orderId"] for o in page["data"]] == ["S-2", "S-1"]
    asc = shopper.payload("/api/v0/partner/search-order", {"direction": "ASC"}, params={"limit": 10, "offset": 1})
    assert [o["orderId"] for o in asc["data"]] == ["S-1", "S-2"]
    assert (
        shopper.payload("/api/v0/partner/search-order", {"brand": [product["brand"]]}, params={"limit": 10, "offset": 0})[
            "totalCount"
        ]
        == 3
    )
    assert (
        shopper.payload(
            "/api/v0/partner/search-order",
            {"brand": ["No Such Brand"], "orderStatus": "SUCCESS"},
            params={"limit": 10, "offset": 0},
        )["totalCount"]
        == 0
    )
    # the partner sees its tenant's orders too
    assert (
        client.payload("/api/v0/partner/search-order", {"orderReferenceId": "S-1"}, params={"limit": 10, "offset": 0})[
            "totalCount"
        ]
        == 1
    )
    status, body = shopper.request(
        "POST", "/api/v0/partner/search-order", {"direction": "SIDEWAYS"}, params={"limit": 10, "offset": 0}, raw=True
    )
    assert status == 422 and "direction" in body["response_message"]


def test_sso_token_works_as_a_user_token(sandbox, client, tenant, ref, holder, catalog):
    sso = client.payload(f"{CARD}/sso-token", {**ref, "enkashCardId": holder["enKashCardId"]})
    r = httpx.get(f"{sandbox.url}{CART}", params=V, headers={"Authorization": f"Bearer {sso['token']}"})
    # the tenant's encryption is required: its GET answers are sealed too (profile getEncryption=sealed)
    assert r.status_code == 200 and set(r.json()) == {"request"}
    body = crypto.decrypt_json(r.json(), tenant["clientSecret"])
    assert body == {"response_code": 0, "response_message": "Success", "payload": []}


def test_the_sso_portal_does_the_whole_redemption_in_a_browser_flow(sandbox, client, ref, holder, catalog):
    sso = client.payload(f"{CARD}/sso-token", {**ref, "enkashCardId": holder["enKashCardId"]})
    page_url = sso["employeeRewardsUrl"]
    product, fixed = product_with(catalog, discount=2)
    d = next(x for x in fixed if x["mrp"] == 500)
    with httpx.Client(follow_redirects=True) as browser:
        page = browser.get(page_url)
        assert product["brand"] in page.text and "Your cart is empty" in page.text
        added = browser.post(
            page_url + "/cart",
            data={"productCatalogId": product["productCatalogId"], "productConfigId": d["productConfigId"], "quantity": "2"},
        )
        assert "Added to your cart" in added.text and "₹980.00" in added.text
        bad = browser.post(
            page_url + "/cart",
            data={"productCatalogId": product["productCatalogId"], "productConfigId": "PCNOPE", "quantity": "1"},
        )
        assert "unknown productConfigId" in bad.text
        done = browser.post(page_url + "/checkout")
        assert "Ordered 1 item(s)" in done.text and done.text.count('class="voucher"') == 2
        assert "₹1,020.00" in done.text
    assert client.search_cards(ref["companyId"], ref["cardAccountId"], holder["enKashCardId"])["otbBalance"] == 1020
