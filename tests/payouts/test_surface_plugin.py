"""The pytest plugin's payout support (`enkash_payouts`), as a partner's own test suite uses it: a test file run
in a fresh pytest process with the plugin as installed, against the payout tests' sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PARTNER_TESTS = """
from decimal import Decimal

import pytest
from enkash_sandbox.client import EnKashHTTPError


def test_pay_a_vendor_then_fail_the_transfer(enkash_client, enkash_payouts):
    start = enkash_payouts.balance()
    assert start == Decimal("1000000")
    enkash_payouts.fund("500.25")
    assert enkash_payouts.balance() == start + Decimal("500.25")
    enkash_client.create_beneficiary("VENDOR1", "Acme Traders", account_number="50100011112222", ifsc="HDFC0000001")
    sent = enkash_client.transfer("INV-1", "1200.50", beneficiary_id="VENDOR1")
    assert sent["payoutStatus"] == "PROCESSING"
    assert enkash_payouts.balance() == start + Decimal("500.25") - Decimal("1200.50")
    shown = enkash_payouts.transfer("INV-1")
    assert (shown["enkashTransactionId"], shown["transferAmount"]) == (sent["enkashTransactionId"], Decimal("1200.50"))
    enkash_payouts.advance("INV-1", "FAILED", reason_code="BENEFICIARY_BANK_DECLINED")
    assert enkash_client.transfer_status("INV-1")["payoutStatus"] == "FAILED"
    assert [s["status"] for s in enkash_payouts.transfer("INV-1")["timeline"]] == ["PROCESSING", "FAILED"]
    assert enkash_payouts.balance() == start + Decimal("500.25")
    assert [(r["transactionType"], r["transactionAmount"]) for r in enkash_payouts.statement()] == [
        ("CREDIT", Decimal("1000000")),
        ("CREDIT", Decimal("500.25")),
        ("DEBIT", Decimal("1200.5")),
        ("CREDIT", Decimal("1200.5")),
    ]
    assert [t["transactionId"] for t in enkash_payouts.transfers(status="FAILED")] == ["INV-1"]


def test_success_then_reversal_and_the_payouts_switch(enkash_client, enkash_payouts):
    sent = enkash_client.transfer("INV-2", 75, beneficiary_id="BENUPI001", mode="UPI")
    enkash_payouts.advance(sent["enkashTransactionId"], "SUCCESS")
    enkash_payouts.advance("INV-2", "REVERSED")
    assert enkash_client.transfer_status("INV-2")["payoutStatus"] == "REVERSED"
    assert enkash_payouts.balance() == Decimal("1000000")
    assert enkash_payouts.settle()["settled"] >= 0
    enkash_payouts.enable(False)
    with pytest.raises(EnKashHTTPError) as raised:
        enkash_client.transfer("INV-3", 5, beneficiary_id="BENUPI001")
    assert raised.value.body == {"response_code": 403, "response_message": "APIs not enabled"}
    enkash_payouts.enable(True)
    assert enkash_client.transfer("INV-3", 5, beneficiary_id="BENUPI001", mode="UPI")["payoutStatus"] == "PROCESSING"
"""


# the plugin is the partner's side of the wire: one store is enough (the store paths run on both elsewhere)
@pytest.mark.parametrize("sandbox", ["sqlite"], indirect=True)
def test_a_partner_suite_drives_payouts_through_the_plugin(sandbox, tmp_path):
    (tmp_path / "test_partner_payouts.py").write_text(textwrap.dedent(PARTNER_TESTS))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", str(tmp_path / "test_partner_payouts.py")],
        cwd=tmp_path,
        env={**os.environ, "ENKASH_SANDBOX_URL": sandbox.url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
