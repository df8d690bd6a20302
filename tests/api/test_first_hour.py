"""A partner developer's first hour (issue 19, part 1): failures a person can read with curl, lockouts that
lift, a port in use said plainly, the banner's URLs, and a reset seed that applies once."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest
from enkash_sandbox import crypto
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox

from tests.conftest import account_ref, basic, password_form, token_for

CARD = "/api/v0/partner/enKashCard"
EXPLAIN = "X-Sandbox-Explain"


def sealed(creds: dict, body: dict) -> dict:
    return crypto.encrypt_json(body, creds["clientSecret"])


def headers(token: str, partner_id: str) -> dict:
    return {"Authorization": f"Bearer {token}", "partnerId": partner_id, "Content-Type": "application/json"}


def journal_entry(http: httpx.Client, explanation: str) -> dict:
    match = re.search(r"Journal: (/_sandbox/requests/\d+)$", explanation)
    assert match, explanation
    response = http.get(match.group(1))
    assert response.status_code == 200, response.text
    return response.json()


# -- X-Sandbox-Explain ----------------------------------------------------------------------------------------
def test_a_wrong_partner_id_is_explained_in_plain_text_beside_the_encrypted_body(http, tenant):
    token = token_for(http, tenant)
    body = sealed(tenant, account_ref(tenant))
    r = http.post(f"{CARD}/cardAccount/get", json=body, headers=headers(token, "CR123"))
    assert r.status_code == 401
    # the body is what an encrypted partner gets from UAT: sealed, unreadable without the secret
    assert set(r.json()) == {"request"}
    opened = json.loads(crypto.decrypt(r.json()["request"], tenant["clientSecret"]))
    assert opened["error_description"] == "partnerId does not match the access token"
    explanation = r.headers[EXPLAIN]
    assert explanation.startswith("401 invalid_token: partnerId does not match the access token. What to do:")
    assert f"the partnerId header CR123 does not match the token's partner {tenant['partnerId']}" in explanation
    assert f"send 'partnerId: {tenant['partnerId']}'" in explanation
    entry = journal_entry(http, explanation)
    assert entry["status"] == 401 and entry["path"] == f"{CARD}/cardAccount/get"
    assert entry["explain"] == explanation


def test_a_missing_partner_id_and_a_missing_token_say_what_to_send(http, tenant):
    token = token_for(http, tenant)
    no_partner = {k: v for k, v in headers(token, "x").items() if k != "partnerId"}
    r = http.post(f"{CARD}/cardAccount/get", json=sealed(tenant, account_ref(tenant)), headers=no_partner)
    assert r.status_code == 400 and set(r.json()) == {"request"}
    assert r.headers[EXPLAIN].startswith("400 Mandatory header missing: partnerId. What to do:")
    assert f"send the header 'partnerId: {tenant['partnerId']}'" in r.headers[EXPLAIN]

    r = http.post(f"{CARD}/cardAccount/get", json=account_ref(tenant), headers={"partnerId": tenant["partnerId"]})
    assert r.status_code == 401
    assert "POST /oauth/token" in r.headers[EXPLAIN] and "Authorization: Bearer" in r.headers[EXPLAIN]


def test_a_business_failure_is_explained_and_a_success_is_not(http, sandbox):
    poor = sandbox.provision(fundBalance=0)
    token = token_for(http, poor)
    create = {**account_ref(poor), "mobile": "9300000001", "firstName": "Asha", "loadAmount": 100}
    r = http.post(CARD, json=sealed(poor, create), headers=headers(token, poor["partnerId"]))
    assert r.status_code == 200
    opened = json.loads(crypto.decrypt(r.json()["request"], poor["clientSecret"]))
    assert opened["response_code"] == 1
    explanation = r.headers[EXPLAIN]
    assert explanation.startswith("business failure (response_code 1): ")
    assert "enkash-sandbox fund ACCOUNT AMOUNT" in explanation or "nothing changed" in explanation
    assert journal_entry(http, explanation)["partnerId"] == poor["partnerId"]

    ok = http.post(f"{CARD}/cardAccount/get", json=sealed(poor, account_ref(poor)), headers=headers(token, poor["partnerId"]))
    assert ok.status_code == 200 and EXPLAIN not in ok.headers


def test_an_injected_fault_names_its_trigger(http, tenant):
    token = token_for(http, tenant)
    r = http.post(
        f"{CARD}/cardAccount/get",
        json=sealed(tenant, account_ref(tenant)),
        headers={**headers(token, tenant["partnerId"]), "X-Sandbox-Fault": "503"},
    )
    assert r.status_code == 503
    assert "injected by the X-Sandbox-Fault header you sent" in r.headers[EXPLAIN]
    r = http.post(
        f"{CARD}/cardAccount/get",
        json=sealed(tenant, account_ref(tenant)),
        headers={**headers(token, tenant["partnerId"]), "X-Sandbox-Fault": "insufficient_balance"},
    )
    assert r.status_code == 200 and r.headers[EXPLAIN].startswith("business failure (response_code 1): ")


def test_an_unknown_path_and_a_plain_body_to_an_encrypting_partner_are_explained(http, tenant):
    token = token_for(http, tenant)
    r = http.get(f"{CARD}/no-such-thing", headers=headers(token, tenant["partnerId"]))
    assert r.status_code == 404
    assert r.headers[EXPLAIN].startswith(f"404 no EnKash operation at {CARD}/no-such-thing")
    r = http.post(f"{CARD}/cardAccount/get", json=account_ref(tenant), headers=headers(token, tenant["partnerId"]))
    assert r.status_code == 422
    assert "AES-128-ECB" in r.headers[EXPLAIN] and "enkash-sandbox encrypt" in r.headers[EXPLAIN]


def test_a_journal_entry_that_is_not_there_is_a_404(http):
    r = http.get("/_sandbox/requests/999999999")
    assert r.status_code == 404


# -- lockout ----------------------------------------------------------------------------------------------------
@pytest.fixture
def own(tmp_path):
    """A sandbox of its own: these tests move its clock."""
    with LiveSandbox(Settings(db=str(tmp_path / "s.db"), seed=3, lockout_seconds=600)) as live:
        yield live


def lock(http: httpx.Client, creds: dict, username: str | None = None) -> httpx.Response:
    form = password_form(creds, password="bad", **({"username": username} if username else {}))
    for _ in range(3):
        r = http.post("/oauth/token", data=form, headers={"Authorization": basic(creds)})
    return r


def test_a_lock_says_how_to_get_out_and_lifts_on_the_sandbox_clock(own):
    tenant = own.provision()
    with httpx.Client(base_url=own.url, timeout=30) as http:
        r = lock(http, tenant)
        assert r.status_code == 400 and r.json()["error_description"] == "User account is locked"
        explanation = r.headers[EXPLAIN]
        assert f"enkash-sandbox unlock {tenant['username']} --partner {tenant['partnerId']}" in explanation
        assert "unlocks by itself at" in explanation and "Unlock button" in explanation
        good = password_form(tenant)
        assert http.post("/oauth/token", data=good, headers={"Authorization": basic(tenant)}).status_code == 400
        http.post("/_sandbox/clock", json={"action": "advance", "seconds": 599})
        assert http.post("/oauth/token", data=good, headers={"Authorization": basic(tenant)}).status_code == 400
        http.post("/_sandbox/clock", json={"action": "advance", "seconds": 2})
        assert http.post("/oauth/token", data=good, headers={"Authorization": basic(tenant)}).status_code == 200
        # the count starts again: two bad passwords after the lift do not lock
        form = password_form(tenant, password="bad")
        for _ in range(2):
            bad = http.post("/oauth/token", data=form, headers={"Authorization": basic(tenant)})
            assert bad.json()["error_description"] == "Bad credentials"


def test_the_unlock_command_unlocks_a_login_in_one_tenant_or_in_all(own):
    from enkash_sandbox.cli import app
    from typer.testing import CliRunner

    runner = CliRunner()
    a, b = own.provision(), own.provision()
    with httpx.Client(base_url=own.url, timeout=30) as http:
        lock(http, a)
        result = runner.invoke(app, ["unlock", a["username"], "--partner", a["partnerId"], "--url", own.url])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["unlocked"] == 1
        assert http.post("/oauth/token", data=password_form(a), headers={"Authorization": basic(a)}).status_code == 200
        lock(http, a)
        lock(http, b)
        result = runner.invoke(app, ["unlock", a["username"], "--url", own.url])
        assert result.exit_code == 0, result.output
        answer = json.loads(result.output)
        assert answer["unlocked"] == (2 if a["username"] == b["username"] else 1)
        assert a["partnerId"] in answer["partners"]
        assert http.post("/oauth/token", data=password_form(a), headers={"Authorization": basic(a)}).status_code == 200


def test_the_dashboard_lists_a_locked_login_with_an_unlock_button(own):
    tenant = own.provision()
    with httpx.Client(base_url=own.url, timeout=30) as http:
        lock(http, tenant)
        page = http.get(f"/_sandbox/ui/partners/{tenant['partnerId']}").text
        assert 'id="locked-logins"' in page and f"<code>{tenant['username']}</code>" in page
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = http.post(
            f"/_sandbox/ui/partners/{tenant['partnerId']}/unlock",
            data={"csrf": csrf, "username": tenant["username"]},
            headers={"Origin": own.url},
        )
        assert r.status_code == 303 and "Unlocked" in r.headers["location"]
        assert http.post("/oauth/token", data=password_form(tenant), headers={"Authorization": basic(tenant)}).status_code == 200
        assert 'id="locked-logins"' not in http.get(f"/_sandbox/ui/partners/{tenant['partnerId']}").text


def test_the_plugin_unlocks_a_running_sandboxs_demo_login_before_each_test(own, pytester_free_run):
    demo = own.container.demo_credentials()
    with httpx.Client(base_url=own.url, timeout=30) as http:
        assert lock(http, demo).json()["error_description"] == "User account is locked"
        assert http.post("/oauth/token", data=password_form(demo), headers={"Authorization": basic(demo)}).status_code == 400
    outcome = pytester_free_run(
        """
        def test_demo_login_works(enkash_control, enkash_sandbox):
            import httpx, base64
            demo = enkash_control.call("GET", "/demo")
            auth = base64.b64encode(f"{demo['clientId']}:{demo['clientSecret']}".encode()).decode()
            r = httpx.post(f"{enkash_sandbox.url}/oauth/token", headers={"Authorization": "Basic " + auth},
                           data={"grant_type": "password", "username": demo["username"], "password": demo["password"],
                                 "clientId": demo["clientId"]})
            assert r.status_code == 200, r.text
        """,
        {"ENKASH_SANDBOX_URL": own.url},
    )
    assert outcome.returncode == 0, outcome.stdout + outcome.stderr


@pytest.fixture
def pytester_free_run(tmp_path):
    """Run a partner's test file in a fresh pytest process, with the plugin as installed."""

    def run(source: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        import textwrap

        (tmp_path / "test_partner.py").write_text(textwrap.dedent(source))
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", str(tmp_path / "test_partner.py")],
            cwd=tmp_path,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


# -- reset seeds ------------------------------------------------------------------------------------------------
def test_a_reset_seed_applies_once_unless_kept(own):
    with httpx.Client(base_url=own.url, timeout=30) as http:
        first = http.get("/_sandbox/demo").json()
        health = http.get("/_sandbox/health").json()
        assert (health["status"], health["seed"], health["resetSeed"]) == ("UP", 3, 3)
        r = http.post("/_sandbox/reset", json={"seed": 11}).json()
        assert (r["seed"], r["homeSeed"]) == (11, 3)
        health = http.get("/_sandbox/health").json()
        assert (health["seed"], health["resetSeed"]) == (11, 3)
        assert "seed 11 (a plain reset returns to seed 3)" in http.get("/_sandbox/ui").text
        assert http.post("/_sandbox/reset").json()["seed"] == 3
        assert http.get("/_sandbox/demo").json()["cardAccounts"] == first["cardAccounts"]
        r = http.post("/_sandbox/reset", json={"seed": 11, "keepSeed": True}).json()
        assert (r["seed"], r["homeSeed"]) == (11, 11)
        assert http.post("/_sandbox/reset").json()["seed"] == 11
        assert '<span id="seed">seed 11</span>' in http.get("/_sandbox/ui").text
        # restoring a snapshot (another seed adopted) leaves the seed a plain reset returns to alone
        assert http.post("/_sandbox/reset", json={"seed": 3, "keepSeed": True}).status_code == 200
        http.post("/_sandbox/reset", json={"seed": 5})
        assert http.post("/_sandbox/snapshots", json={"name": "five"}).status_code == 201
        http.post("/_sandbox/reset")
        assert http.post("/_sandbox/snapshots/five/restore", json={"adoptSeed": True}).json()["seed"] == 5
        assert http.post("/_sandbox/reset").json()["seed"] == 3
        assert http.post("/_sandbox/reset", json={"keepSeed": True}).status_code == 422


def test_the_reset_command_takes_keep_seed(own):
    from enkash_sandbox.cli import app
    from typer.testing import CliRunner

    runner = CliRunner()
    result = runner.invoke(app, ["reset", "--seed", "9", "--url", own.url])
    assert result.exit_code == 0 and json.loads(result.output)["homeSeed"] == 3
    result = runner.invoke(app, ["reset", "--seed", "9", "--keep-seed", "--url", own.url])
    assert result.exit_code == 0 and json.loads(result.output)["homeSeed"] == 9
    assert runner.invoke(app, ["reset", "--keep-seed", "--url", own.url]).exit_code != 0


# -- serve: the port, the banner ---------------------------------------------------------------------------------
def serve(tmp_path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENKASH_SANDBOX_")}
    return subprocess.Popen(
        [sys.executable, "-m", "enkash_sandbox", "serve", "--db", str(tmp_path / "s.db"), *args],
        env={**env, "ENKASH_SANDBOX_DATA_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_port_in_use_is_said_before_anything_else(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = serve(tmp_path, "--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip() == f"error: port {port} is in use on 127.0.0.1; try --port 0 (any free port) or --port N"
    assert out == ""  # no banner, no credentials printed for a sandbox that never listened
    assert not (tmp_path / "s.db").exists()  # nothing seeded either


@pytest.mark.parametrize("quiet", [False, True])
def test_port_zero_picks_a_free_port_and_prints_it(tmp_path, quiet):
    proc = serve(tmp_path, "--port", "0", *(["--quiet"] if quiet else []))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.match(r"EnKash Sandbox listening on (http://127\.0\.0\.1:(\d+))$", first.strip())
        assert match and match.group(2) != "0", first
        url = match.group(1)
        if not quiet:
            assert proc.stdout.readline().strip() == f"dashboard: {url}/_sandbox/ui"
            assert proc.stdout.readline().strip().startswith(f"API docs:  {url}/docs")
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/_sandbox/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "the sandbox did not come up"
            time.sleep(0.1)
        assert httpx.get(f"{url}/docs", timeout=5).status_code == 200
        assert httpx.get(f"{url}/_sandbox/ui", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def serve_wait(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENKASH_SANDBOX_")}
    return subprocess.run(
        [sys.executable, "-m", "enkash_sandbox", "serve", "--wait", "--db", str(tmp_path / "s.db"), *args],
        env={**env, "ENKASH_SANDBOX_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=90,
    )


@pytest.mark.parametrize("quiet", [False, True])
def test_serve_wait_returns_once_the_sandbox_answers(tmp_path, quiet):
    done = serve_wait(tmp_path, "--port", "0", *(["--quiet"] if quiet else []))
    assert done.returncode == 0, done.stderr
    match = re.fullmatch(r"ready: (http://127\.0\.0\.1:(\d+)) \(seed 42, pid (\d+), log (\S+)\)", done.stdout.strip())
    assert match, done.stdout
    url, pid = match.group(1), int(match.group(3))
    try:
        # ready means ready: the very next call is answered, with no retry
        assert httpx.get(f"{url}/_sandbox/health", timeout=5).status_code == 200
        assert httpx.get(f"{url}/docs", timeout=5).status_code == 200
        log = open(match.group(4)).read()
        assert log.startswith(f"EnKash Sandbox listening on {url}")
        assert ("Demo partner credentials" in log) is not quiet
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/_sandbox/health", timeout=1)
        except httpx.HTTPError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the background sandbox did not stop on SIGTERM")


def test_serve_wait_fails_with_the_servers_own_message(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = serve_wait(tmp_path, "--port", str(port))
    assert done.returncode == 1 and done.stdout == ""
    assert f"error: port {port} is in use on 127.0.0.1; try --port 0" in done.stderr


def test_help_has_no_stray_bool_metavar():
    from enkash_sandbox.cli import app
    from typer.testing import CliRunner

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "<bool>" not in top.output
    commands = re.findall(r"^  ([a-z]+)\s", top.output.split("Commands:", 1)[1], re.M)
    assert {"serve", "unlock", "reset"} <= set(commands)
    for command in commands:
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "<bool>" not in result.output, command
    assert "--quiet / --no-quiet" in runner.invoke(app, ["serve", "--help"]).output


def test_the_contract_names_the_sandbox_that_served_it(sandbox):
    port = sandbox.url.rsplit(":", 1)[1]
    for host in ("127.0.0.1", "localhost"):
        base = f"http://{host}:{port}"
        spec = httpx.get(f"{base}/openapi.json", timeout=10).json()
        assert [s["url"] for s in spec["servers"]] == [base]
        text = httpx.get(f"{base}/openapi.yaml", timeout=10).text
        assert f"servers:\n  - url: {base}\n" in text and "127.0.0.1:8080" not in text


def test_the_dashboard_opens_the_portal_and_the_vkyc_page_as_a_holder(sandbox, tenant, client, http):
    ref = account_ref(tenant)
    card = client.create_card(**ref, mobile="9400000001", firstName="Meera", loadAmount=100)
    page = http.get(f"/_sandbox/ui/cards/{card['enKashCardId']}").text
    assert 'id="open-portal"' in page and 'id="open-vkyc"' in page
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    origin = {"Origin": sandbox.url}
    portal = http.post(f"/_sandbox/ui/cards/{card['enKashCardId']}/open/portal", data={"csrf": csrf}, headers=origin)
    assert portal.status_code == 303 and re.fullmatch(r"/sso/[^/]+/employee_rewards/hrms", portal.headers["location"])
    shown = http.get(portal.headers["location"])
    assert shown.status_code == 200 and "Meera" in shown.text
    vkyc = http.post(f"/_sandbox/ui/cards/{card['enKashCardId']}/open/vkyc", data={"csrf": csrf}, headers=origin)
    assert vkyc.status_code == 303 and vkyc.headers["location"].startswith("/_sandbox/vkyc/")
    assert http.get(vkyc.headers["location"]).status_code == 200
    # without the page's CSRF token nothing is issued
    refused = http.post(f"/_sandbox/ui/cards/{card['enKashCardId']}/open/portal", data={"csrf": "x"}, headers=origin)
    assert refused.status_code == 403


def test_an_sso_page_that_refuses_says_why_in_the_header(tenant, client, http):
    ref = account_ref(tenant)
    card = client.create_card(**ref, mobile="9400000002", firstName="Ravi", loadAmount=100)
    sso = client.payload(f"{CARD}/sso-token", {**ref, "enkashCardId": card["enKashCardId"]})
    # the holder's own reward account opens; a link whose token is not (or no longer) valid is refused, and says why
    assert http.get(urlsplit(sso["rewardAccountUrl"]).path).status_code == 200
    r = http.get(f"/sso/{sso['token'][::-1]}/reward_account/hrms")
    assert r.status_code == 401
    assert "This sign-in link is invalid or has expired" in r.headers[EXPLAIN]
