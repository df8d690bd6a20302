"""Hostile input over a real socket: always a clear 4xx in EnKash's shape, never a 500, never a change."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from enkash_sandbox import crypto
from enkash_sandbox.errors import VendorError
from enkash_sandbox.products.cards import schemas as cards
from enkash_sandbox.products.coins import schemas as coins
from enkash_sandbox.products.deps import parse
from enkash_sandbox.products.lifecycle import schemas as lifecycle
from enkash_sandbox.products.marketplace import schemas as marketplace
from enkash_sandbox.products.rewards import schemas as rewards
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import token_for

CARD = "/api/v0/partner/enKashCard"


@pytest.fixture
def target(sandbox, http, tenant):
    token = token_for(http, tenant)
    ref = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["RELOADABLE_GPR"]}
    headers = {"Authorization": f"Bearer {token}", "partnerId": tenant["partnerId"], "Content-Type": "application/json"}
    return http, tenant, ref, headers


def state_of(sandbox, tenant) -> dict:
    audit = sandbox.container.audit.run(tenant["partnerId"])
    assert audit["ok"], audit
    return audit["checked"]


def enc(tenant, obj) -> bytes:
    return json.dumps(crypto.encrypt_json(obj, tenant["clientSecret"])).encode()


def deep(n: int) -> str:
    return "[" * n + "]" * n


HOSTILE = [
    ("malformed json", lambda t, r: enc(t, r)[:-3]),
    ("not json", lambda t, r: b"hello there"),
    ("json array", lambda t, r: b"[1,2,3]"),
    ("bare string", lambda t, r: b'"request"'),
    ("deep nesting", lambda t, r: json.dumps({"request": deep(5000)}).encode()),
    (
        "deep nesting inside the ciphertext",
        lambda t, r: json.dumps({"request": crypto.encrypt('{"a":' + deep(3000) + "}", t["clientSecret"])}).encode(),
    ),
    ("bad base64", lambda t, r: b'{"request": "%%%not-base64%%%"}'),
    ("wrong key", lambda t, r: json.dumps(crypto.encrypt_json(r, "not-the-secret")).encode()),
    (
        "truncated ciphertext",
        lambda t, r: json.dumps({"request": crypto.encrypt_json(r, t["clientSecret"])["request"][:-8]}).encode(),
    ),
    (
        "double-encoded json",
        lambda t, r: json.dumps({"request": crypto.encrypt(json.dumps(json.dumps(r)), t["clientSecret"])}).encode(),
    ),
    ("request is a number", lambda t, r: b'{"request": 42}'),
    ("request is null", lambda t, r: b'{"request": null}'),
    ("huge number", lambda t, r: enc(t, {**r, "mobile": "9300000001", "loadAmount": 10**400})),
    ("tiny number", lambda t, r: enc(t, {**r, "mobile": "9300000001", "loadAmount": 1e-300})),
    ("NaN", lambda t, r: b'{"request": "' + base64.b64encode(b"x").decode().encode() + b'"}'),
    ("NaN inside", lambda t, r: json.dumps({"request": crypto.encrypt('{"loadAmount": NaN}', t["clientSecret"])}).encode()),
    (
        "Infinity inside",
        lambda t, r: json.dumps({"request": crypto.encrypt('{"loadAmount": Infinity}', t["clientSecret"])}).encode(),
    ),
    ("control characters", lambda t, r: enc(t, {**r, "mobile": "9300000002", "firstName": "Bad\x00Name\x1b[31m"})),
    ("sql-looking", lambda t, r: enc(t, {**r, "cardAccountId": "CA' OR '1'='1"})),
    (
        "sql-looking name",
        lambda t, r: enc(t, {**r, "mobile": "9300000003", "firstName": "Robert'); DROP TABLE card;--", "loadAmount": "abc"}),
    ),
    ("unicode flood", lambda t, r: enc(t, {**r, "mobile": "9300000004", "firstName": "😀" * 5000})),
    ("wrong types", lambda t, r: enc(t, {**r, "mobile": 9300000005, "physicalCard": "yes", "loadAmount": [1]})),
    ("over 1 MiB", lambda t, r: b'{"request":"' + b"A" * (1024 * 1024 + 16) + b'"}'),
]


@pytest.mark.parametrize("name, make", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_bodies_on_create_card(sandbox, target, name, make):
    http, tenant, ref, headers = target
    before = state_of(sandbox, tenant)
    r = http.post(CARD, content=make(tenant, ref), headers=headers)
    assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
    body = r.json()
    if set(body) == {"request"}:
        body = crypto.decrypt_json(body, tenant["clientSecret"])
    assert body["response_code"] == 1 and body["response_message"] and body["payload"] == body["response_message"]
    assert state_of(sandbox, tenant) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"])
def test_wrong_content_types(sandbox, target, content_type):
    http, tenant, ref, headers = target
    r = http.post(f"{CARD}/cardAccount/get", content=enc(tenant, ref), headers={**headers, "Content-Type": content_type})
    assert r.status_code == 415


def test_missing_and_duplicated_headers(sandbox, target):
    http, tenant, ref, headers = target
    body = enc(tenant, ref)
    no_partner = {k: v for k, v in headers.items() if k != "partnerId"}
    assert http.post(f"{CARD}/cardAccount/get", content=body, headers=no_partner).status_code == 400
    dup = httpx.Headers(list(headers.items()) + [("partnerId", "CRSOMEONE")])
    assert http.post(f"{CARD}/cardAccount/get", content=body, headers=dup).status_code == 400
    no_auth = {k: v for k, v in headers.items() if k != "Authorization"}
    assert http.post(f"{CARD}/cardAccount/get", content=body, headers=no_auth).status_code == 401
    assert (
        http.post(f"{CARD}/cardAccount/get", content=body, headers={**headers, "Authorization": "Basic Zm9vOmJhcg=="}).status_code
        == 401
    )


MODELS = [
    cards.CreateCard,
    cards.LoadBalance,
    cards.CardSearch,
    cards.TransactionSearch,
    rewards.AllocatePoints,
    lifecycle.BlockCard,
    lifecycle.SetPin,
    lifecycle.VelocityRule,
    marketplace.AddToCart,
    marketplace.CreateOrder,
    marketplace.OrderSearch,
    coins.CoinAllocate,
    cards.CardAccountCreate,
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "companyId",
                "cardAccountId",
                "enKashCardId",
                "amount",
                "loadAmount",
                "mobile",
                "email",
                "transactionType",
                "type",
                "items",
                "quantity",
                "denomination",
                "enKashCardIds",
                "dtd",
                "pinBlock",
                "blockCode",
                "otpMedium",
                "firstName",
                "txnDateFrom",
                "direction",
                "event",
                "requestId",
                "userId",
                "accountType",
                "documents",
                "productCatalogId",
            ]
        ),
        json_values,
        max_size=10,
    )
)
def test_request_models_accept_or_reject_cleanly(model, data):
    """Whatever JSON arrives, a request model either parses it or raises EnKash's 400/422 — nothing else."""
    try:
        parse(model, data)
    except VendorError as exc:
        assert exc.status in (400, 422) and exc.message
