"""Every vendor operation probed with no token, a tampered token, an expired token, another tenant's
token and ids, and a partnerId that is not the token's: refused, and nothing of the victim leaks."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from enkash_sandbox import contract, crypto
from enkash_sandbox.client import EnKashClient

OPS = [(m, p) for m, p, _ in contract.operations() if p.startswith("/api/")]


@pytest.fixture(scope="module")
def victim(sandbox):
    creds = sandbox.provision()
    ref = (creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"])
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        alloc = c.allocate_points(
            *ref, "777.77", reference="VICTIM-1", mobile="9444400001", firstName="Vasudha", email="vasudha@example.com"
        )
        coin = c.create_coin_event(creds["companyId"], "VICTIM_EVENT", 3)
        user = c.as_user("9444400001", sandbox.container.settings.holder_password)
        product = sandbox.container.catalog.products[0]
        user.create_order(product.product_catalog_id, product.denominations[0].mrp, 1, "VICTIM-ORDER")
        user.close()
    ids = {
        "companyId": ref[0],
        "cardAccountId": ref[1],
        "enKashCardId": alloc["enKashCardId"],
        "enkashCardId": alloc["enKashCardId"],
        "userId": alloc["userId"],
        "coinConfigId": coin["coinConfigId"],
        "productCatalogId": sandbox.container.catalog.products[0].product_catalog_id,
        "orderId": "VICTIM-ORDER",
        "id": "VICTIM-ORDER",
        "product_catalog_id": sandbox.container.catalog.products[0].product_catalog_id,
    }
    # the amount has paise so that it cannot match a port in the absolute asset URLs (http://127.0.0.1:56777/...)
    secrets = ["Vasudha", "9444400001", "vasudha@example.com", "777.77", "VICTIM-1"]
    return creds, ids, secrets


def request_for(method: str, path: str, ids: dict) -> tuple[str, dict, dict]:
    url = re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), ids.get("coinConfigId")), path)
    body = {k: ids[k] for k in ("companyId", "cardAccountId", "enKashCardId", "userId", "orderId") if k in ids}
    body.update(
        {
            "transactionType": "DR",
            "type": "UNALLOCATE_POINT",
            "amount": 1,
            "loadAmount": 1,
            "blockCode": "L",
            "otpMedium": "MFA",
            "mfaCode": "123456",
            "cardOtpAction": "TRANSACTION_OTP",
            "pinBlock": "1234",
            "enKashCardIds": [ids["enKashCardId"]],
            "event": "VICTIM_EVENT",
            "requestId": "PROBE",
            "productCatalogId": ids["productCatalogId"],
            "denomination": 100,
            "quantity": 1,
            "orderReferenceId": "PROBE",
            "items": {"PCN": {"quantity": 1}},
            "cartId": 1,
        }
    )
    params = {
        "product": "VOUCHER",
        "userId": ids["userId"],
        "enKashCardId": ids["enKashCardId"],
        "companyId": ids["companyId"],
        "cardAccountId": ids["cardAccountId"],
        "isPointsAllocation": "true",
    }
    return url, body, params


def call(http, method, path, ids, token, partner_id, secret):
    url, body, params = request_for(method, path, ids)
    if path.endswith("bulk-create-allocate-points-json"):
        body = [
            {
                "title": "Mr",
                "name": "X",
                "email": "x@example.com",
                "mobile": "9000000001",
                "loadAmount": 1,
                "uniqueReferenceNumber": "PROBE",
            }
        ]
    headers = {"partnerId": partner_id, "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    content = json.dumps(crypto.encrypt_json(body, secret)) if method in ("POST", "PATCH") else None
    r = http.request(method, url, params=params, content=content, headers=headers)
    try:
        data = r.json()
    except ValueError:
        data = r.text
    if isinstance(data, dict) and set(data) == {"request"}:
        data = crypto.decrypt_json(data, secret)
    return r.status_code, json.dumps(data)


@pytest.mark.parametrize("method, path", OPS, ids=[f"{m} {p}" for m, p in OPS])
def test_probes(sandbox, victim, method, path):
    creds, ids, secrets = victim
    attacker = sandbox.provision()
    with (
        httpx.Client(base_url=sandbox.url, timeout=30) as http,
        EnKashClient.from_credentials(sandbox.url, attacker) as atk,
        EnKashClient.from_credentials(sandbox.url, creds) as own,
    ):
        token = atk.access_token()
        # the voucher catalog is shared reference data, not a tenant's: only tenant ids are swapped
        unknown = {k: (v if "atalog" in k or k == "product_catalog_id" else v[:-3] + "ZZZ") for k, v in ids.items()}
        # 1. no token / tampered token -> 401, for the victim's own partnerId
        for bad in (None, own.access_token()[:-2] + "xx"):
            status, body = call(http, method, path, ids, bad, creds["partnerId"], creds["clientSecret"])
            assert status == 401, (bad, status, body)
        # 2. a token with another partnerId header -> refused
        if "/enKashCard" in path:
            status, body = call(http, method, path, ids, own.access_token(), attacker["partnerId"], creds["clientSecret"])
            assert status == 401, body
        # 3. the attacker's own token with the victim's ids: answered like unknown ids, nothing leaked
        as_victim = call(http, method, path, ids, token, attacker["partnerId"], attacker["clientSecret"])
        as_unknown = call(http, method, path, unknown, token, attacker["partnerId"], attacker["clientSecret"])
        assert as_victim[0] == as_unknown[0], (as_victim, as_unknown)
        for secret in secrets:
            assert secret not in as_victim[1], (secret, as_victim)
        # 4. an expired token
        httpx.post(f"{sandbox.url}/_sandbox/clock", json={"action": "advance", "seconds": 86400 * 2})
        try:
            status, _ = call(http, method, path, ids, own.access_token(), creds["partnerId"], creds["clientSecret"])
            assert status == 401
        finally:
            httpx.post(f"{sandbox.url}/_sandbox/clock", json={"action": "reset"})
