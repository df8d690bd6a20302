"""POST /oauth/token as a partner's HTTP client sees it."""

import httpx

from tests.conftest import basic, password_form, token_for

CARD = "/api/v0/partner/enKashCard"


def test_password_grant_returns_spring_oauth_token(http, tenant):
    response = http.post("/oauth/token", data=password_form(tenant), headers={"Authorization": basic(tenant)})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "refresh_token", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["scope"] == "read write trust"
    assert body["expires_in"] == 86399
    assert len(body["access_token"]) == 27
    assert response.headers["cache-control"] == "no-store"


def test_wrong_client_secret_is_401(http, tenant):
    bad = dict(tenant, clientSecret="nope")
    response = http.post("/oauth/token", data=password_form(tenant), headers={"Authorization": basic(bad)})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_missing_basic_auth_is_401(http, tenant):
    response = http.post("/oauth/token", data=password_form(tenant))
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "error_description": "Full authentication is required to access this resource",
    }


def test_wrong_password_is_invalid_grant_and_three_lock_the_user(http, sandbox, tenant):
    auth = {"Authorization": basic(tenant)}
    for _ in range(2):
        r = http.post("/oauth/token", data=password_form(tenant, password="bad"), headers=auth)
        assert r.status_code == 400 and r.json() == {"error": "invalid_grant", "error_description": "Bad credentials"}
    third = http.post("/oauth/token", data=password_form(tenant, password="bad"), headers=auth)
    assert third.json()["error_description"] == "User account is locked"
    # now even the right password is refused, until the control plane unlocks the login
    locked = http.post("/oauth/token", data=password_form(tenant), headers=auth)
    assert locked.status_code == 400 and locked.json()["error_description"] == "User account is locked"
    assert http.post(f"/_sandbox/partners/{tenant['partnerId']}/unlock").json()["unlocked"] == 1
    assert http.post("/oauth/token", data=password_form(tenant), headers=auth).status_code == 200


def test_a_good_login_resets_the_failure_count(http, tenant):
    auth = {"Authorization": basic(tenant)}
    for _ in range(2):
        http.post("/oauth/token", data=password_form(tenant, password="bad"), headers=auth)
    assert http.post("/oauth/token", data=password_form(tenant), headers=auth).status_code == 200
    for _ in range(2):
        r = http.post("/oauth/token", data=password_form(tenant, password="bad"), headers=auth)
        assert r.json()["error_description"] == "Bad credentials"


def test_refresh_grant_issues_a_new_access_token_and_retires_the_old(http, tenant):
    auth = {"Authorization": basic(tenant)}
    first = http.post("/oauth/token", data=password_form(tenant), headers=auth).json()
    refreshed = http.post(
        "/oauth/token",
        headers=auth,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "clientId": tenant["clientId"]},
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["access_token"] != first["access_token"]
    assert new["refresh_token"] == first["refresh_token"]
    body = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["GIFT"]}
    old = http.post(
        f"{CARD}/cardAccount/get",
        json=body,
        headers={"Authorization": f"Bearer {first['access_token']}", "partnerId": tenant["partnerId"]},
    )
    assert old.status_code == 401
    bad = http.post(
        "/oauth/token", headers=auth, data={"grant_type": "refresh_token", "refresh_token": "x", "clientId": tenant["clientId"]}
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_unsupported_grant_and_missing_fields(http, tenant):
    auth = {"Authorization": basic(tenant)}
    r = http.post("/oauth/token", data=password_form(tenant, grant_type="client_credentials"), headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = http.post("/oauth/token", data={"grant_type": "password", "clientId": tenant["clientId"]}, headers=auth)
    assert r.status_code == 400 and "username" in r.json()["error_description"]
    r = http.post("/oauth/token", json=password_form(tenant), headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_vendor_calls_need_a_live_bearer_token(http, sandbox, tenant):
    body = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["GIFT"]}
    missing = http.post(f"{CARD}/cardAccount/get", json=body, headers={"partnerId": tenant["partnerId"]})
    assert missing.status_code == 401 and missing.json()["error"] == "unauthorized"
    unknown = http.post(
        f"{CARD}/cardAccount/get", json=body, headers={"Authorization": "Bearer nope", "partnerId": tenant["partnerId"]}
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_token"


def test_token_expires_by_the_sandbox_clock(sandbox, tenant):
    with httpx.Client(base_url=sandbox.url) as http:
        token = token_for(http, tenant)
        headers = {"Authorization": f"Bearer {token}", "partnerId": tenant["partnerId"]}
        body = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["GIFT"]}
        http.put(f"/_sandbox/partners/{tenant['partnerId']}/encryption", json={"encryption": "optional"})
        try:
            assert http.post(f"{CARD}/cardAccount/get", json=body, headers=headers).status_code == 200
            http.post("/_sandbox/clock", json={"action": "advance", "seconds": 86400})
            expired = http.post(f"{CARD}/cardAccount/get", json=body, headers=headers)
            assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
        finally:
            http.post("/_sandbox/clock", json={"action": "reset"})


def test_partner_id_header_is_required_and_must_match(http, sandbox):
    tenant = sandbox.provision(encryption="optional")
    other = sandbox.provision()
    token = token_for(http, tenant)
    body = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["GIFT"]}
    none = http.post(f"{CARD}/cardAccount/get", json=body, headers={"Authorization": f"Bearer {token}"})
    assert none.status_code == 400 and "partnerId" in none.json()["response_message"]
    wrong = http.post(
        f"{CARD}/cardAccount/get", json=body, headers={"Authorization": f"Bearer {token}", "partnerId": other["partnerId"]}
    )
    assert wrong.status_code == 401
