"""The dashboard's Payouts pages in a real browser (Debian's Chromium driven by Playwright, with the dashboard
tests' fixtures): fund sources with their balances, a fund source's beneficiaries, transfers and statement, and a
transfer's status timeline with the force-next-state form — each change checked through EnKash's payout APIs."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from enkash_sandbox.client import EnKashHTTPError

from tests.browser import test_dashboard as dashboard_tests

# pages on SQLite only, as tests/browser/test_dashboard.py explains
pytestmark = pytest.mark.parametrize("sandbox", ["sqlite"], indirect=True)

# the dashboard tests' Chromium fixtures (and, by the import, their rule: skip locally without it, fail in CI)
browser = dashboard_tests.browser
page = dashboard_tests.page
shot = dashboard_tests.shot


def rupees(text: str) -> Decimal:
    return Decimal(re.sub(r"[^\d.]", "", text))


def test_fund_source_beneficiaries_statement_and_forcing_a_transfer(sandbox, tenant, client, page):
    fund_source = tenant["payoutFundSourceId"]
    neft = client.transfer("UI-NEFT-1", "1500.25", beneficiary_id="BENBANK001", mode="NEFT", remark="Invoice 7")
    upi = client.transfer("UI-UPI-1", "99.50", beneficiary_id="BENUPI001", mode="UPI", remark="PENDING refund")
    after_transfers = Decimal("1000000") - Decimal("1500.25") - Decimal("99.50")

    page.goto(f"{sandbox.url}/_sandbox/ui")
    page.click("nav >> text=Payouts")
    assert page.locator("h1").inner_text() == "Payouts"
    row = page.locator(f"#fund-source-{fund_source}")
    assert rupees(row.locator(".balance").inner_text()) == after_transfers
    shot(page, "payouts")

    row.locator("a.fund-source-link").click()
    page.wait_for_selector("#payout-balance")
    assert rupees(page.inner_text("#payout-balance")) == after_transfers
    beneficiaries = page.inner_text("#beneficiaries")
    assert "BENBANK001" in beneficiaries and "ravi.kumar@okaxis" in beneficiaries
    page.fill("#payout-fund-form input[name=amount]", "2500.50")
    page.click("#payout-fund-form button")
    assert "Funded ₹2,500.50" in page.inner_text("#notice")
    funded = after_transfers + Decimal("2500.50")
    assert rupees(page.inner_text("#payout-balance")) == funded == client.payout_balance(fund_source)
    newest = page.locator("#payout-statement tbody tr").first
    assert newest.locator(".change").inner_text() == "+₹2,500.50"
    assert rupees(newest.locator(".running-balance").inner_text()) == funded
    assert page.locator("#payout-transfers tbody tr").count() == 2
    shot(page, "payout-account")

    # the NEFT transfer waits for its batch: force it through SUCCESS, then a reversal
    page.click(f"#transfer-{neft['enkashTransactionId']} a.transfer-link")
    page.wait_for_selector("#timeline")
    assert page.inner_text("#payout-status") == "PROCESSING"
    assert [s.strip() for s in page.locator("#timeline li .pill").all_inner_texts()] == ["PROCESSING"]
    page.select_option("#advance-form select[name=to]", "SUCCESS")
    page.click("#advance-form button")
    assert "UI-NEFT-1 is SUCCESS" in page.inner_text("#notice")
    assert re.fullmatch(r"\d{12}", page.inner_text("#utr"))
    assert client.transfer_status("UI-NEFT-1")["payoutStatus"] == "SUCCESS"
    assert page.locator("#advance-form select[name=to] option").all_inner_texts() == ["REVERSED"]
    page.fill("#advance-form input[name=reasonCode]", "RETURNED_BY_BENEFICIARY_BANK")
    page.click("#advance-form button")
    assert "UI-NEFT-1 is REVERSED" in page.inner_text("#notice")
    assert page.inner_text("#reason-code") == "RETURNED_BY_BENEFICIARY_BANK"
    assert [s.strip() for s in page.locator("#timeline li .pill").all_inner_texts()] == ["PROCESSING", "SUCCESS", "REVERSED"]
    # what made each step: the request that created the transfer, then the two forced from this page
    assert page.locator("#timeline li .trigger").all_inner_texts() == ["created", "forced", "forced"]
    assert page.locator("#final-state").is_visible()
    assert [r.strip() for r in page.locator("#transfer-ledger tbody td:nth-child(3)").all_inner_texts()] == [
        "PAYOUT_DEBIT",
        "PAYOUT_DEBIT",
        "PAYOUT_SETTLED",
        "PAYOUT_REVERSAL",
    ]
    assert (client.transfer_status("UI-NEFT-1")["payoutStatus"], client.payout_balance(fund_source)) == (
        "REVERSED",
        funded + Decimal("1500.25"),
    )
    shot(page, "payout-transfer")

    # the UPI transfer (magic remark PENDING: it waits for a tester) fails from the form: refunded
    page.goto(f"{sandbox.url}/_sandbox/ui/payouts/transfers/{upi['enkashTransactionId']}")
    page.select_option("#advance-form select[name=to]", "FAILED")
    page.click("#advance-form button")
    assert "UI-UPI-1 is FAILED" in page.inner_text("#notice")
    assert client.payout_balance(fund_source) == Decimal("1000000") + Decimal("2500.50")
    # an illegal step is refused with the control plane's message, nothing changes
    page.goto(f"{sandbox.url}/_sandbox/ui/payouts?partner={tenant['partnerId']}&status=FAILED")
    assert page.locator("#payout-transfers tbody tr").count() == 1
    assert "UI-UPI-1" in page.inner_text("#payout-transfers")


def test_switching_a_tenants_payouts_off_and_on(sandbox, tenant, client, page):
    fund_source = tenant["payoutFundSourceId"]
    page.goto(f"{sandbox.url}/_sandbox/ui/payouts/accounts/{fund_source}")
    assert page.inner_text("#payouts-switch") == "on"
    page.click("#payouts-switch-form button")
    assert f"Payouts switched off for {tenant['partnerId']}" in page.inner_text("#notice")
    assert page.inner_text("#payouts-switch") == "off"
    with pytest.raises(EnKashHTTPError) as refused:
        client.transfer("UI-OFF-1", 10, beneficiary_id="BENBANK001")
    assert refused.value.body == {"response_code": 403, "response_message": "APIs not enabled"}
    page.click("#payouts-switch-form button")
    assert page.inner_text("#payouts-switch") == "on"
    assert client.transfer("UI-OFF-1", 10, beneficiary_id="BENBANK001")["payoutStatus"] == "PROCESSING"
    # a bad filter is refused with a message, not an error page
    page.goto(f"{sandbox.url}/_sandbox/ui/payouts?status=LOST")
    assert "status must be one of" in page.inner_text("#error")
