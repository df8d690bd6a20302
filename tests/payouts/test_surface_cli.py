"""`enkash-sandbox payouts …`: the CLI drives the real control plane (ops/payouts.py behind /_sandbox/payouts), and
what it does is seen through EnKash's own payout APIs."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
from enkash_sandbox.cli import app
from typer.testing import CliRunner

runner = CliRunner()


def cli(sandbox, *args: str) -> str:
    result = runner.invoke(app, ["payouts", *args, "--url", sandbox.url])
    assert result.exit_code == 0, result.output
    return result.output


def test_accounts_fund_and_statement(sandbox, tenant, payouts):
    fund_source = tenant["payoutFundSourceId"]
    line = cli(sandbox, "accounts", "--partner", tenant["partnerId"]).strip()
    assert line == f"{fund_source}\t{tenant['partnerId']}\t₹1,000,000.00"
    assert "Funded" in cli(sandbox, "fund", fund_source, "2500.75")
    assert payouts.client.payout_balance(fund_source) == Decimal("1002500.75")
    listed = [json.loads(x, parse_float=Decimal) for x in cli(sandbox, "accounts", "--json").splitlines()]
    assert {a["fundSourceId"]: a["balance"] for a in listed}[fund_source] == Decimal("1002500.75")

    rows = cli(sandbox, "statement", fund_source).splitlines()
    assert len(rows) == 2 and rows[1].split("\t")[1:3] == ["+₹2,500.75", "₹1,002,500.75"]
    # funding from an account other than the whitelisted one is refused, and nothing moves
    payouts.client.whitelist("998877665544", "HDFC0000001")
    refused = runner.invoke(app, ["payouts", "fund", fund_source, "10", "--from-account", "111122223333", "--url", sandbox.url])
    assert refused.exit_code == 1 and "HTTP 409" in refused.output
    assert "Funded" in cli(sandbox, "fund", fund_source, "10", "--from-account", "998877665544")
    assert payouts.client.payout_balance(fund_source) == Decimal("1002510.75")


def test_transfers_show_advance_and_settle(sandbox, tenant, payouts):
    client = payouts.client
    ok = client.transfer("CLI-T1", "300", beneficiary_id="BENBANK001", mode="NEFT")
    failing = client.transfer("CLI-T2", "45.50", beneficiary_id="BENBANK001", mode="NEFT")
    listed = cli(sandbox, "transfers", "--partner", tenant["partnerId"], "--status", "processing").splitlines()
    assert [row.split("\t")[:3] for row in listed] == [
        [failing["enkashTransactionId"], "CLI-T2", "PROCESSING"],
        [ok["enkashTransactionId"], "CLI-T1", "PROCESSING"],
    ]

    assert "\tSUCCESS\t" in cli(sandbox, "advance", ok["enkashTransactionId"], "success")
    assert "FAILED (BENEFICIARY_BANK_DECLINED)" in cli(
        sandbox, "advance", failing["enkashTransactionId"], "FAILED", "--reason", "BENEFICIARY_BANK_DECLINED"
    )
    assert client.transfer_status("CLI-T1")["payoutStatus"] == "SUCCESS"
    assert client.transfer_status("CLI-T2")["reasonCode"] == "BENEFICIARY_BANK_DECLINED"
    # the failure refunded: only the successful transfer left the fund source
    assert client.payout_balance(tenant["payoutFundSourceId"]) == Decimal("1000000") - 300

    shown = cli(sandbox, "show", failing["enkashTransactionId"]).splitlines()
    assert [step.split("\t")[1] for step in shown[1:]] == ["PROCESSING", "FAILED (BENEFICIARY_BANK_DECLINED)"]
    detail = json.loads(cli(sandbox, "show", ok["enkashTransactionId"], "--json"), parse_float=Decimal)
    assert [step["status"] for step in detail["timeline"]] == ["PROCESSING", "SUCCESS"]

    # an illegal step is refused with the control plane's 409
    again = runner.invoke(app, ["payouts", "advance", ok["enkashTransactionId"], "FAILED", "--url", sandbox.url])
    assert again.exit_code == 1 and "HTTP 409" in again.output

    pending = client.transfer("CLI-T3", "12", beneficiary_id="BENUPI001", mode="UPI")
    settled = cli(sandbox, "settle")
    assert settled.startswith("Settled ")
    # settling runs what is due now: the UPI transfer settles only once the clock passes its 5 s
    status = client.transfer_status("CLI-T3")["payoutStatus"]
    assert status in ("PROCESSING", "SUCCESS"), status
    runner.invoke(app, ["clock", "advance", "--seconds", "6", "--url", sandbox.url])
    try:
        assert cli(sandbox, "settle").startswith("Settled ")
        assert client.transfer_status("CLI-T3") == {**pending, "payoutStatus": "SUCCESS"}
    finally:
        runner.invoke(app, ["clock", "reset", "--url", sandbox.url])


def test_a_bad_status_or_an_unknown_transfer_is_a_clear_error(sandbox):
    bad = runner.invoke(app, ["payouts", "transfers", "--status", "LOST", "--url", sandbox.url])
    assert bad.exit_code == 1 and "HTTP 422" in bad.output and "status must be one of" in bad.output
    unknown = runner.invoke(app, ["payouts", "show", "EKPT000000000000", "--url", sandbox.url])
    assert unknown.exit_code == 1 and "HTTP 404" in unknown.output


def test_the_token_command_prints_a_camel_case_tenants_token(sandbox):
    creds = sandbox.provision(profile={"tokenCasing": "camel"})
    args = ["token", "--url", sandbox.url, "--username", creds["username"], "--password", creds["password"]]
    args += ["--client-id", creds["clientId"], "--client-secret", creds["clientSecret"]]
    printed = runner.invoke(app, args)
    assert printed.exit_code == 0, printed.output
    whole = json.loads(runner.invoke(app, [*args, "--json"]).output)
    assert {"accessToken", "expiresIn"} <= set(whole) and "access_token" not in whole
    # the printed token is the camelCase answer's accessToken: it opens the payout APIs
    token = printed.output.strip()
    answer = httpx.get(
        f"{sandbox.url}/api/v0/bankDetail", headers={"Authorization": f"Bearer {token}", "User-Agent": "cli-test"}, timeout=30
    )
    assert answer.status_code == 200 and list(answer.json()) == ["request"], answer.text
