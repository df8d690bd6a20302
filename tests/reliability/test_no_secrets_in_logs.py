"""Neither the logs nor the journal ever carry a secret, whatever goes through the sandbox."""

from __future__ import annotations

import json
import logging

import httpx
from enkash_sandbox.client import EnKashClient

from tests.conftest import basic, password_form


def test_logs_and_journal_hold_no_secrets(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    creds = sandbox.provision()
    with httpx.Client(base_url=sandbox.url) as http:
        token = http.post("/oauth/token", data=password_form(creds), headers={"Authorization": basic(creds)}).json()
        http.post(
            "/oauth/token",
            data=password_form(creds, password="wrong-" + creds["password"]),
            headers={"Authorization": basic(creds)},
        )
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        ref = (creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"])
        card = c.create_card(
            companyId=ref[0], cardAccountId=ref[1], mobile="9555500001", firstName="Log", remarks="pan 4111111111111111"
        )
        c.set_pin(*ref, card["enKashCardId"], "8642")
        c.request(
            "POST",
            "/api/v0/partner/enKashCard/block",
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
        c.request(
            "POST", "/api/v0/partner/enKashCard/search", {"companyId": ref[0]}, raw=True, headers={"X-Sandbox-Fault": "500"}
        )
    journal = json.dumps(httpx.get(f"{sandbox.url}/_sandbox/requests", params={"partnerId": creds["partnerId"]}).json())
    logs = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    for secret in (
        creds["clientSecret"],
        creds["password"],
        token["access_token"],
        token["refresh_token"],
        "8642",
        "975310",
        "4111111111111111",
    ):
        assert secret not in journal, secret
        assert secret not in logs, secret
