"""Fault injection seen from a partner's HTTP client: header, admin rules, magic values."""

import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from enkash_sandbox import crypto
from enkash_sandbox.client import EnKashBusinessError, EnKashClient

from tests.conftest import token_for

CARD = "/api/v0/partner/enKashCard"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def setup(sandbox, client, tenant):
    ref = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["RELOADABLE_GPR"]}
    card = client.create_card(**ref, mobile="9400000001", firstName="Fault", loadAmount=100)
    yield client, ref, card
    httpx.delete(f"{sandbox.url}/_sandbox/faults")


def load_body(ref, card, amount=10, **extra):
    return {**ref, "enKashCardId": card["enKashCardId"], "amount": amount, "transactionType": "CR", **extra}


def balance(client, ref, card):
    return client.search_cards(*ref.values(), card["enKashCardId"])["otbBalance"]


@pytest.mark.parametrize(
    "value, status, message",
    [
        ("422", 422, "Unprocessable"),
        ("404", 404, "Not Found"),
        ("500", 500, "Internal Server Error"),
        ("503", 503, "Service Unavailable"),
        ("429", 429, "Too Many Requests"),
        ("insufficient_balance", 200, "Insufficient balance in card account"),
    ],
)
def test_header_faults_answer_in_enkash_shape_and_move_nothing(setup, value, status, message):
    client, ref, card = setup
    code, body = client.request("POST", f"{CARD}/balance", load_body(ref, card), raw=True, headers={"X-Sandbox-Fault": value})
    assert code == status and body["response_code"] == 1 and message in body["response_message"]
    assert balance(client, ref, card) == 100


def test_retry_after_on_429_and_503(sandbox, tenant, setup):
    client, ref, card = setup
    for value in ("429", "503"):
        r = httpx.post(
            f"{sandbox.url}{CARD}/balance",
            json=crypto.encrypt_json(load_body(ref, card), tenant["clientSecret"]),
            headers={
                "Authorization": f"Bearer {client.access_token()}",
                "partnerId": tenant["partnerId"],
                "X-Sandbox-Fault": value,
            },
        )
        assert r.status_code in (429, 503) and r.headers["retry-after"] == "1"


def test_dropped_connection_and_malformed_body(sandbox, tenant, setup):
    client, ref, card = setup
    headers = {"Authorization": f"Bearer {client.access_token()}", "partnerId": tenant["partnerId"]}
    body = crypto.encrypt_json(load_body(ref, card), tenant["clientSecret"])
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(f"{sandbox.url}{CARD}/balance", json=body, headers={**headers, "X-Sandbox-Fault": "reset"})
    r = httpx.post(f"{sandbox.url}{CARD}/balance", json=body, headers={**headers, "X-Sandbox-Fault": "malformed"})
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert balance(client, ref, card) == 100


def test_delay_and_timeout(sandbox, setup):
    client, ref, card = setup
    started = time.perf_counter()
    code, body = client.request(
        "POST", f"{CARD}/balance", load_body(ref, card, 5), raw=True, headers={"X-Sandbox-Fault": "latency;delay=300"}
    )
    assert code == 200 and body["payload"]["otbBalance"] == 105 and time.perf_counter() - started >= 0.3
    sandbox.container.settings.fault_timeout_seconds = 0.5
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{sandbox.url}{CARD}/balance",
                timeout=0.2,
                json=crypto.encrypt_json(load_body(ref, card), client.client_secret),
                headers={
                    "Authorization": f"Bearer {client.access_token()}",
                    "partnerId": client.partner_id,
                    "X-Sandbox-Fault": "timeout",
                },
            )
        code, body = client.request(
            "POST", f"{CARD}/balance", load_body(ref, card), raw=True, headers={"X-Sandbox-Fault": "timeout"}
        )
        assert code == 504
    finally:
        sandbox.container.settings.fault_timeout_seconds = 30.0
    assert balance(client, ref, card) == 105


def test_unknown_header_value_is_a_clear_400(setup):
    client, ref, card = setup
    code, body = client.request(
        "POST", f"{CARD}/balance", load_body(ref, card), raw=True, headers={"X-Sandbox-Fault": "gremlins"}
    )
    assert code == 400 and "X-Sandbox-Fault" in body["response_message"]


def test_rule_for_the_next_n_requests(sandbox, tenant, setup):
    client, ref, card = setup
    rule = httpx.post(
        f"{sandbox.url}/_sandbox/faults",
        json={
            "path": "*/balance",
            "method": "POST",
            "partnerId": tenant["partnerId"],
            "times": 2,
            "action": {"type": "status", "status": 503, "message": "EnKash is down for maintenance"},
        },
    ).json()
    codes = [client.request("POST", f"{CARD}/balance", load_body(ref, card, 1), raw=True)[0] for _ in range(3)]
    assert codes == [503, 503, 200]
    listed = httpx.get(f"{sandbox.url}/_sandbox/faults").json()
    assert [r for r in listed if r["id"] == rule["id"]][0]["remaining"] == 0
    assert balance(client, ref, card) == 101


def test_rules_are_scoped_to_their_tenant_and_body_field(sandbox, tenant, setup):
    client, ref, card = setup
    other = sandbox.provision()
    httpx.post(
        f"{sandbox.url}/_sandbox/faults", json={"partnerId": other["partnerId"], "action": {"type": "status", "status": 500}}
    )
    assert client.request("POST", f"{CARD}/balance", load_body(ref, card, 1), raw=True)[0] == 200
    httpx.post(
        f"{sandbox.url}/_sandbox/faults",
        json={
            "partnerId": tenant["partnerId"],
            "bodyField": {"name": "amount", "equals": 77},
            "action": {"type": "business_failure", "message": "Card velocity limit exceeded"},
        },
    )
    with pytest.raises(EnKashBusinessError, match="velocity limit"):
        client.load(*ref.values(), card["enKashCardId"], 77)
    assert client.load(*ref.values(), card["enKashCardId"], 76)["otbBalance"] == 177


def test_probability_draws_repeat_for_the_same_seed(sandbox, tenant, setup):
    client, ref, card = setup

    def pattern():
        rule = httpx.post(
            f"{sandbox.url}/_sandbox/faults",
            json={
                "partnerId": tenant["partnerId"],
                "path": "*/search",
                "probability": 0.5,
                "seed": 1234,
                "action": {"type": "status", "status": 500},
            },
        ).json()
        codes = [client.request("POST", f"{CARD}/search", ref, raw=True)[0] for _ in range(20)]
        httpx.delete(f"{sandbox.url}/_sandbox/faults/{rule['id']}")
        return codes

    first, second = pattern(), pattern()
    assert first == second and set(first) == {200, 500}


def test_latency_range_and_drop_rules(sandbox, tenant, setup):
    client, ref, card = setup
    httpx.post(
        f"{sandbox.url}/_sandbox/faults",
        json={
            "partnerId": tenant["partnerId"],
            "path": "*/search",
            "times": 1,
            "action": {"type": "latency", "latencyMs": [200, 250]},
        },
    )
    started = time.perf_counter()
    assert client.request("POST", f"{CARD}/search", ref, raw=True)[0] == 200
    assert time.perf_counter() - started >= 0.2
    httpx.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"partnerId": tenant["partnerId"], "path": "*/search", "times": 1, "action": {"type": "drop"}},
    )
    with pytest.raises(httpx.RemoteProtocolError):
        client.request("POST", f"{CARD}/search", ref)
    bad = httpx.post(f"{sandbox.url}/_sandbox/faults", json={"action": {"type": "status"}})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    "amount, status, text",
    [
        ("1.11", 200, "Insufficient balance in card account"),
        ("4.22", 422, "Unprocessable"),
        ("4.04", 404, "Not Found"),
        ("5.55", 500, "Internal Server Error"),
    ],
)
def test_magic_amounts(setup, amount, status, text):
    client, ref, card = setup
    code, body = client.request("POST", f"{CARD}/balance", load_body(ref, card, amount), raw=True)
    assert code == status and text in body["response_message"]
    assert balance(client, ref, card) == 100


def test_magic_slow_amount_and_reference_prefixes(sandbox, setup):
    client, ref, card = setup
    sandbox.container.settings.magic_slow_seconds = 0.3
    try:
        started = time.perf_counter()
        assert client.load(*ref.values(), card["enKashCardId"], "9.99")["otbBalance"] == Decimal("109.99")
        assert time.perf_counter() - started >= 0.3
    finally:
        sandbox.container.settings.magic_slow_seconds = 3.0
    code, _ = client.request("POST", f"{CARD}/balance", load_body(ref, card, 1, uniqueReferenceNumber="SBX-500-x"), raw=True)
    assert code == 500
    code, _ = client.request("POST", f"{CARD}/balance", load_body(ref, card, 1, uniqueReferenceNumber="SBX-429-x"), raw=True)
    assert code == 429


def test_magic_mobile_issues_a_kyc_pending_card(client, tenant):
    card = client.create_card(
        companyId=tenant["companyId"],
        cardAccountId=tenant["cardAccounts"]["RELOADABLE_GPR"],
        mobile="5000000001",
        firstName="Pending",
    )
    assert card["kycStatus"]["name"] == "PENDING"


def test_magic_values_table_is_served_and_documented(sandbox):
    rows = httpx.get(f"{sandbox.url}/_sandbox/magic-values").json()
    assert len(rows) >= 10
    doc = (ROOT / "docs" / "MAGIC_VALUES.md").read_text(encoding="utf-8")
    for row in rows:
        assert row["trigger"] in doc, row["trigger"]


def test_faults_apply_to_the_token_endpoint_too(sandbox, tenant):
    with httpx.Client(base_url=sandbox.url) as http:
        token_for(http, tenant)
        from tests.conftest import basic, password_form

        r = http.post(
            "/oauth/token", data=password_form(tenant), headers={"Authorization": basic(tenant), "X-Sandbox-Fault": "503"}
        )
        assert r.status_code == 503


def test_client_without_encryption_sees_same_faults(sandbox):
    creds = sandbox.provision(encryption="off")
    with EnKashClient.from_credentials(sandbox.url, creds, encrypt=False) as c:
        code, body = c.request(
            "POST",
            f"{CARD}/search",
            {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["GIFT"]},
            headers={"X-Sandbox-Fault": "404"},
            raw=True,
        )
        assert code == 404 and body["response_code"] == 1
