"""Secrets never reach the journal or the dashboard, whatever form they travel in; only the sandbox's own pages
and scripts may change its state; attribution follows authentication, not a header."""

from __future__ import annotations

import json

import httpx
import pytest
from enkash_sandbox import crypto
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox

from tests.conftest import basic, password_form, token_for

CARD = "/api/v0/partner/enKashCard"


def journal_and_dashboard(sandbox, partner_id: str | None = None) -> str:
    params = {"limit": 500, **({"partnerId": partner_id} if partner_id else {})}
    entries = httpx.get(f"{sandbox.url}/_sandbox/requests", params=params).json()
    page = httpx.get(f"{sandbox.url}/_sandbox/ui/journal").text
    return json.dumps(entries) + page


def test_every_representation_of_a_secret_is_redacted(sandbox, http, tenant):
    creds = tenant
    secrets = {"password": creds["password"], "clientSecret": creds["clientSecret"]}
    # 1. a form login whose Content-Type is in unusual case
    http.post(
        "/oauth/token",
        content=f"grant_type=password&username={creds['username']}&password={creds['password']}&clientId={creds['clientId']}",
        headers={"Authorization": basic(creds), "Content-Type": "Application/X-WWW-Form-Urlencoded"},
    )
    token = http.post("/oauth/token", data=password_form(creds), headers={"Authorization": basic(creds)}).json()
    secrets["access"], secrets["refresh"] = token["access_token"], token["refresh_token"]
    # 2. error bodies that used to echo what was sent: a refresh token, a bearer value (an admin token by mistake)
    http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "RT-sent-by-mistake-123", "clientId": creds["clientId"]},
        headers={"Authorization": basic(creds)},
    )
    http.post(
        f"{CARD}/search",
        headers={"Authorization": "Bearer admin-token-sent-by-mistake", "partnerId": creds["partnerId"]},
        content=b"{}",
    )
    secrets["mistaken refresh"], secrets["mistaken bearer"] = "RT-sent-by-mistake-123", "admin-token-sent-by-mistake"
    headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "partnerId": creds["partnerId"],
        "Content-Type": "application/json",
    }
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["EMPLOYEE_REWARDS"]}
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        card = c.allocate_points(*ref.values(), 100, reference="SEC-1", mobile="9833300001", firstName="Sec")
        # 3. an SSO token: in the response body, in the URLs it returns, and in the portal path
        sso = c.sso_token(*ref.values(), card["enKashCardId"])
    secrets["sso"] = sso["token"]
    httpx.get(sso["employeeRewardsUrl"])
    # 4. PIN and MFA code inside a body that is not valid JSON (encrypted, so it reaches the journal decrypted)
    # (six digits each: the pages now carry absolute URLs, and a four-digit value can sit inside their random port)
    broken = '{"pinBlock": "864213", "mfaCode": "975310", "otp": "112233", '
    http.post(f"{CARD}/setPin", headers=headers, content=json.dumps({"request": crypto.encrypt(broken, creds["clientSecret"])}))
    secrets.update(pin="864213", mfa="975310", otp="112233")
    # 5. a secret in the query string
    http.get(
        f"/api/v0/coins/balance?userId=EK1&access_token={token['access_token']}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    seen = journal_and_dashboard(sandbox)
    leaked = {name: value for name, value in secrets.items() if value in seen}
    assert leaked == {}
    assert "/sso/***/employee_rewards" in seen


def test_error_messages_never_echo_a_credential(sandbox, http, tenant):
    r = http.post(f"{CARD}/search", headers={"Authorization": "Bearer s3cr3t-value", "partnerId": "X"})
    assert r.status_code == 401 and "s3cr3t-value" not in r.text
    r = http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "rt-value-xyz", "clientId": tenant["clientId"]},
        headers={"Authorization": basic(tenant)},
    )
    assert r.status_code == 400 and "rt-value-xyz" not in r.text


def test_unauthenticated_calls_are_attributed_to_no_partner(sandbox, http, tenant):
    """A stranger's partnerId header neither attributes journal entries nor consumes the partner's fault rule."""
    rule = http.post(
        "/_sandbox/faults",
        json={"partnerId": tenant["partnerId"], "path": "*/search", "times": 1, "action": {"type": "status", "status": 503}},
    ).json()
    for _ in range(3):
        r = http.post(f"{CARD}/search", headers={"partnerId": tenant["partnerId"], "Authorization": "Bearer nope"}, content=b"{}")
        assert r.status_code == 401
    assert [r for r in http.get("/_sandbox/faults").json() if r["id"] == rule["id"]][0]["remaining"] == 1
    mine = http.get("/_sandbox/requests", params={"partnerId": tenant["partnerId"], "path": f"{CARD}/search"}).json()
    assert mine == []
    with EnKashClient.from_credentials(sandbox.url, tenant) as c:
        status, _ = c.request(
            "POST",
            f"{CARD}/search",
            {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["GIFT"]},
            raw=True,
        )
    assert status == 503
    http.delete(f"/_sandbox/faults/{rule['id']}")


def test_a_locked_login_gets_no_token_by_refresh_grant(sandbox, http, tenant):
    token = http.post("/oauth/token", data=password_form(tenant), headers={"Authorization": basic(tenant)}).json()
    for _ in range(3):
        http.post("/oauth/token", data=password_form(tenant, password="wrong"), headers={"Authorization": basic(tenant)})
    r = http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "clientId": tenant["clientId"]},
        headers={"Authorization": basic(tenant)},
    )
    assert r.status_code == 400 and r.json()["error_description"] == "User account is locked"
    http.post(f"/_sandbox/partners/{tenant['partnerId']}/unlock")


@pytest.mark.parametrize(
    "origin_header",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Referer": "http://127.0.0.1:1/attack.html"},
        {"Origin": "http://localhost:3000"},
    ],
)
def test_a_foreign_page_cannot_change_state(sandbox, http, tenant, origin_header):
    before = http.get("/_sandbox/faults").json()
    for method, path, body in (
        ("POST", "/_sandbox/reset", None),
        ("POST", "/_sandbox/faults", {"action": {"type": "status", "status": 500}}),
        ("POST", f"/_sandbox/card-accounts/{tenant['cardAccounts']['GIFT']}/fund", {"amount": 1}),
        ("POST", "/_sandbox/ui/reset", None),
    ):
        r = http.request(method, path, json=body, headers=origin_header)
        assert r.status_code == 403, (method, path, r.status_code)
    assert http.get("/_sandbox/faults").json() == before


def test_the_sandbox_own_pages_and_scripts_still_can(sandbox, http):
    own = {"Origin": sandbox.url}
    r = http.post("/_sandbox/faults", json={"action": {"type": "status", "status": 500}, "path": "/nowhere"}, headers=own)
    assert r.status_code == 201
    assert http.delete(f"/_sandbox/faults/{r.json()['id']}").status_code == 200  # no Origin at all: a script


def test_dashboard_forms_need_their_csrf_token(sandbox, http):
    before = http.get("/_sandbox/faults").json()
    r = http.post("/_sandbox/ui/faults", data={"type": "drop"}, follow_redirects=False)
    assert r.status_code == 403
    r = http.post("/_sandbox/ui/faults", data={"type": "drop", "csrf": "0" * 64}, follow_redirects=False)
    assert r.status_code == 403
    assert http.get("/_sandbox/faults").json() == before


def test_a_rebound_host_name_is_refused(sandbox):
    """DNS rebinding: evil.example re-pointed at 127.0.0.1 reaches the port, but not the sandbox."""
    r = httpx.post(f"{sandbox.url}/_sandbox/reset", headers={"Host": "evil.example"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_host"
    assert httpx.get(f"{sandbox.url}/_sandbox/health", headers={"Host": "localhost"}).status_code == 200


def test_the_admin_token_is_still_required_and_compared_whole(tmp_path):
    with LiveSandbox(Settings(db=str(tmp_path / "admin.db"), admin_token="t0ken-of-the-admin", seed_demo=False)) as live:
        assert httpx.post(f"{live.url}/_sandbox/reset").status_code == 401
        assert httpx.post(f"{live.url}/_sandbox/reset", headers={"Authorization": "Bearer t0ken-of-the-admi"}).status_code == 401
        assert (
            httpx.post(f"{live.url}/_sandbox/partners", headers={"Authorization": "Bearer t0ken-of-the-admin"}).status_code == 201
        )


def test_tokens_are_attributed_once_basic_credentials_check_out(sandbox, http, tenant):
    http.post("/oauth/token", data=password_form(tenant), headers={"Authorization": "Basic " + "eDp5"})
    entries = http.get("/_sandbox/requests", params={"path": "/oauth/token", "limit": 5}).json()
    assert entries[0]["status"] == 401 and entries[0]["partnerId"] is None
    token_for(http, tenant)
    entries = http.get("/_sandbox/requests", params={"path": "/oauth/token", "limit": 1}).json()
    assert entries[0]["partnerId"] == tenant["partnerId"]
