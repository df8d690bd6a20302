"""Neither the logs nor the journal ever carry a secret, whatever goes through the sandbox.

The server is run the way a developer runs it — `enkash-sandbox serve` without --quiet, so with its banner, its
access log and log level info — and everything it prints is kept. The test first checks that the log really
holds the request lines (with logging off, "no secret in the log" would prove nothing), then that no secret is
in it or in the journal.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

import httpx
import pytest
from enkash_sandbox.client import EnKashClient

from tests.conftest import BACKENDS, basic, password_form, postgres_database
from tests.reliability.servers import ServerProcess

CARD = "/api/v0/partner/enKashCard"
REQUEST_LINE = re.compile(r'"(GET|POST|PUT|DELETE) (\S+) HTTP/1\.1" (\d{3})')


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    if request.param == "postgresql":
        env = {"ENKASH_SANDBOX_DATABASE_URL": postgres_database("logs")}
    else:
        env = {"ENKASH_SANDBOX_DB": str(folder / "enkash_sandbox.db")}
    with ServerProcess({**env, "ENKASH_SANDBOX_SEED_DEMO": "false"}, log_file=folder / "server.log") as proc:
        yield proc


def logged(server: ServerProcess, method: str, path: str, status: int) -> str:
    """The server's output, once it holds the access-log line of this request (uvicorn writes the line as the
    response starts, so it is normally there already)."""
    deadline = time.monotonic() + 5
    while True:
        log = server.output()
        if any((m, p.split("?")[0], s) == (method, path, str(status)) for m, p, s in REQUEST_LINE.findall(log)):
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"no access-log line for {method} {path} {status}; the server printed:\n{log[-3000:]}")
        time.sleep(0.05)


def test_logs_and_journal_hold_no_secrets(server):
    creds = server.provision()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        token = http.post("/oauth/token", data=password_form(creds), headers={"Authorization": basic(creds)}).json()
        http.post(
            "/oauth/token",
            data=password_form(creds, password="wrong-" + creds["password"]),
            headers={"Authorization": basic(creds)},
        )
    with EnKashClient.from_credentials(server.url, creds) as c:
        ref = (creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"])
        card = c.create_card(
            companyId=ref[0], cardAccountId=ref[1], mobile="9555500001", firstName="Log", remarks="pan 4111111111111111"
        )
        # six digits: the journal carries absolute asset URLs, and a four-digit PIN can sit inside their random port
        c.set_pin(*ref, card["enKashCardId"], "864213")
        c.request(
            "POST",
            f"{CARD}/block",
            {
                "companyId": ref[0],
                "cardAccountId": ref[1],
                "enKashCardId": card["enKashCardId"],
                "blockCode": "L",
                "otpMedium": "MFA",
                "mfaCode": "975310",
            },
            raw=True,
        )
        c.request("POST", f"{CARD}/search", {"companyId": ref[0]}, raw=True, headers={"X-Sandbox-Fault": "500"})
        sso = c.sso_token(*ref, card["enKashCardId"])
    assert httpx.get(sso["employeeRewardsUrl"], timeout=30).status_code == 200
    journal = json.dumps(httpx.get(f"{server.url}/_sandbox/requests", params={"partnerId": creds["partnerId"]}).json())

    # the log is really on: the access-log lines of the calls above are in it
    log = logged(server, "POST", f"{CARD}/search", 500)
    for method, path, status in (
        ("POST", "/oauth/token", 200),
        ("POST", "/oauth/token", 400),
        ("POST", f"{CARD}/setPin", 200),
        ("POST", f"{CARD}/block", 200),
    ):
        log = logged(server, method, path, status)
    # and the journal recorded them too
    assert '"/oauth/token"' in journal and f'"{CARD}/setPin"' in journal and f'"{CARD}/sso-token"' in journal

    for secret in (
        creds["clientSecret"],
        creds["password"],
        token["access_token"],
        token["refresh_token"],
        "864213",
        "975310",
        "4111111111111111",
    ):
        assert secret not in journal, secret
        assert secret not in log, secret
    assert sso["token"] not in journal


def test_a_token_in_a_url_path_is_not_logged(server):
    creds = server.provision(encryption="off")
    with EnKashClient.from_credentials(server.url, creds, encrypt=False) as c:
        ref = (creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"])
        card = c.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9555500002", firstName="Sso")
        sso = c.sso_token(*ref, card["enKashCardId"])
    assert httpx.get(sso["employeeRewardsUrl"], timeout=30).status_code == 200
    path = urlsplit(sso["employeeRewardsUrl"]).path
    # the request is logged, with the token masked as the journal masks it
    log = logged(server, "GET", path.replace(sso["token"], "***"), 200)
    assert sso["token"] not in log
