"""The request journal (decrypted, redacted, filtered) and the admin token of the control plane."""

import json
import subprocess
import sys
import textwrap

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.http.journal import Journal, redact
from enkash_sandbox.testing.live import LiveSandbox

from tests.conftest import basic, password_form

CARD = "/api/v0/partner/enKashCard"


def test_journal_shows_decrypted_bodies_newest_first(sandbox, client, tenant):
    ref = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["RELOADABLE_GPR"]}
    card = client.create_card(**ref, mobile="9500000001", firstName="Journal", loadAmount=10)
    client.load(*ref.values(), card["enKashCardId"], 20, reference="J-1")
    entries = httpx.get(f"{sandbox.url}/_sandbox/requests", params={"partnerId": tenant["partnerId"]}).json()
    last = entries[0]
    assert last["path"] == f"{CARD}/balance" and last["method"] == "POST" and last["status"] == 200
    assert last["encrypted"] is True
    assert last["requestBody"]["uniqueReferenceNumber"] == "J-1" and last["requestBody"]["amount"] == 20
    assert last["responseBody"]["payload"]["otbBalance"] == 30
    assert last["latencyMs"] >= 0 and last["requestHeaders"]["authorization"] == "Bearer ***"
    only_creates = httpx.get(
        f"{sandbox.url}/_sandbox/requests", params={"partnerId": tenant["partnerId"], "path": CARD, "method": "POST"}
    ).json()
    assert len(only_creates) == 1 and only_creates[0]["requestBody"]["firstName"] == "Journal"
    prefixed = httpx.get(f"{sandbox.url}/_sandbox/requests", params={"path": f"{CARD}/*", "limit": 1}).json()
    assert len(prefixed) == 1


def test_journal_redacts_secrets(sandbox, client, tenant):
    with httpx.Client(base_url=sandbox.url) as http:
        http.post("/oauth/token", data=password_form(tenant), headers={"Authorization": basic(tenant)})
    ref = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["RELOADABLE_GPR"]}
    card = client.create_card(**ref, mobile="9500000002", firstName="Secret", remarks="card 4111111111111111")
    client.request(
        "POST",
        f"{CARD}/setPin",
        {
            **ref,
            "enKashCardId": card["enKashCardId"],
            "pinBlock": "4321",
            "otpRequired": True,
            "otpRequestId": "EKX",
            "otp": "123456",
        },
        raw=True,
    )
    client.request(
        "POST",
        f"{CARD}/block",
        {**ref, "enKashCardId": card["enKashCardId"], "blockCode": "L", "otpMedium": "MFA", "mfaCode": "654321"},
        raw=True,
    )
    entries = httpx.get(f"{sandbox.url}/_sandbox/requests", params={"partnerId": tenant["partnerId"]}).json()
    dumped = json.dumps(entries)
    for secret in (tenant["password"], tenant["clientSecret"], "4321", "654321", "4111111111111111"):
        assert secret not in dumped, secret
    token_call = next(e for e in entries if e["path"] == "/oauth/token")
    assert token_call["requestBody"]["password"] == "***" and token_call["responseBody"]["access_token"] == "***"
    assert "4111XXXXXXXX1111" in dumped


def test_journal_is_a_bounded_ring():
    journal = Journal(3)
    for i in range(5):
        journal.record({"time": f"2026-01-01T00:00:0{i}", "method": "POST", "path": f"/p{i}", "status": 200})
    assert [e["path"] for e in journal.query()] == ["/p4", "/p3", "/p2"]
    assert journal.clear() == 3 and journal.query() == []
    assert redact({"password": "x", "nested": [{"otp": "1"}], "pan": 4111111111111111}) == {
        "password": "***",
        "nested": [{"otp": "***"}],
        "pan": "4111XXXXXXXX1111",
    }


def test_clearing_the_journal(sandbox, client, tenant):
    client.card_account(tenant["companyId"], tenant["cardAccounts"]["GIFT"])
    assert httpx.delete(f"{sandbox.url}/_sandbox/requests").json()["deleted"] >= 1
    assert httpx.get(f"{sandbox.url}/_sandbox/requests").json() == []


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    db = tmp_path_factory.mktemp("guarded") / "s.db"
    with LiveSandbox(Settings(db=str(db), admin_token="let-me-in", seed_demo=False)) as live:
        yield live


def test_admin_token_guards_the_control_plane(guarded):
    url = guarded.url
    assert httpx.get(f"{url}/_sandbox/health").status_code == 200
    assert httpx.post(f"{url}/_sandbox/partners").status_code == 401
    assert httpx.post(f"{url}/_sandbox/reset").status_code == 401
    assert httpx.get(f"{url}/_sandbox/requests", headers={"Authorization": "Bearer wrong"}).status_code == 401
    creds = httpx.post(f"{url}/_sandbox/partners", headers={"Authorization": "Bearer let-me-in"}).json()
    with EnKashClient.from_credentials(url, creds) as c:
        vendor_token = c.access_token()
        assert httpx.get(f"{url}/_sandbox/partners", headers={"Authorization": f"Bearer {vendor_token}"}).status_code == 401
        # and the admin token is no vendor token
        r = httpx.post(
            f"{url}{CARD}/cardAccount/get",
            json={},
            headers={"Authorization": "Bearer let-me-in", "partnerId": creds["partnerId"]},
        )
        assert r.status_code == 401
    assert httpx.get(f"{url}/_sandbox/static/enkash-logo.svg").status_code == 200


PLUGIN_TEST = textwrap.dedent("""
    import pytest

    CARD = "/api/v0/partner/enKashCard"

    @pytest.mark.parametrize("n", range(4))
    def test_load_in_an_isolated_tenant(enkash_client, enkash_tenant, enkash_journal, n):
        ref = {"companyId": enkash_tenant["companyId"], "cardAccountId": enkash_tenant["cardAccounts"]["RELOADABLE_GPR"]}
        card = enkash_client.create_card(**ref, mobile="9000000001", firstName="Xdist", loadAmount=100 + n)
        assert enkash_client.card_account(*ref.values())["availableBalance"] == 100000 - 100 - n
        assert enkash_journal.last(CARD)["requestBody"]["loadAmount"] == 100 + n

    def test_faults_helper(enkash_client, enkash_tenant, enkash_faults):
        from enkash_sandbox.client import EnKashHTTPError
        enkash_faults.add({"type": "status", "status": 503}, path="*/cardAccount/get", times=1)
        with pytest.raises(EnKashHTTPError) as err:
            enkash_client.card_account(enkash_tenant["companyId"], enkash_tenant["cardAccounts"]["GIFT"])
        assert err.value.status == 503
        status, body = enkash_client.request("POST", CARD + "/search", {"companyId": enkash_tenant["companyId"],
            "cardAccountId": enkash_tenant["cardAccounts"]["GIFT"]}, headers=enkash_faults.header("404"), raw=True)
        assert status == 404
""")


def test_pytest_plugin_fixtures_in_a_partner_suite(tmp_path):
    # one process: running under xdist is what tests/test_examples.py's plugin example does (-n 2)
    (tmp_path / "test_partner_suite.py").write_text(PLUGIN_TEST)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_partner_suite.py"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
