"""Card spending through the control plane, checked the way a partner sees it: the card's otbBalance, its
transaction list (transaction/all), the velocity read API, and a clean audit after every scenario."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from enkash_sandbox.client import EnKashClient, EnKashHTTPError
from sqlalchemy import text

from tests.spend.conftest import CARD, gift_ref, otb, spendable_card


def audit_clean(client, creds) -> None:
    report = client.sandbox_call("GET", f"/audit?partnerId={creds['partnerId']}")
    assert report["discrepancies"] == [], report["discrepancies"]


def clock(client, **body) -> None:
    client.sandbox_call("POST", "/clock", body)


def plant(sandbox, sql: str, **params) -> None:
    with sandbox.container.db.write() as s:
        s.exec(text(sql), params=params)


def txns(client, creds, card, **filters) -> list[dict]:
    ref = gift_ref(creds)
    return client.transactions(ref["companyId"], ref["cardAccountId"], enKashCardId=card, **filters)["data"]


def test_a_captured_purchase_is_a_sale_that_lowers_the_balance_everywhere(sandbox, client, tenant, card):
    answer = client.authorize(card, "250.50", channel="ECOM", merchantName="Chai Point", mcc="5812")
    assert answer["status"] == "APPROVED" and answer["state"] == "CLEARED" and answer["declineReasons"] == []
    assert answer["otbBalance"] == Decimal("749.50") and answer["clearedAmount"] == Decimal("250.50")
    assert answer["transactionId"].startswith("ECT") and len(answer["retrievalRefNo"]) == 12
    assert otb(client, tenant, card) == Decimal("749.50")
    sale = [t for t in txns(client, tenant, card) if t["type"] == "SALE"]
    assert len(sale) == 1 and Decimal(str(sale[0]["principalAmount"])) == Decimal("250.50")
    assert sale[0]["cardTransactionType"] == "DR" and sale[0]["status"] != "FAILED"  # CREATED or SUCCESS (profile)
    assert [t["type"] for t in txns(client, tenant, card, cardTransactionType="DR")] == ["SALE"]
    audit_clean(client, tenant)


def test_a_hold_cleared_in_part_releases_the_rest(sandbox, client, tenant, card):
    hold = client.authorize(card, 300, capture=False, merchantName="Hotel Taj")
    assert hold["state"] == "HELD" and hold["heldAmount"] == 300 and hold["otbBalance"] == 700
    assert hold["holdExpiresAt"]
    cleared = client.clear(hold["transactionId"], "120.25")
    assert cleared["state"] == "CLEARED"
    assert (cleared["clearedAmount"], cleared["releasedAmount"], cleared["heldAmount"]) == (
        Decimal("120.25"),
        Decimal("179.75"),
        0,
    )
    assert otb(client, tenant, card) == Decimal("879.75")
    assert sorted(t["type"] for t in txns(client, tenant, card) if t["type"] != "ALLOCATE_FUND") == [
        "AUTH_HOLD",
        "AUTH_RELEASE",
        "SALE",
    ]
    audit_clean(client, tenant)


def test_a_non_final_clearing_keeps_the_rest_held_until_cleared_again(sandbox, client, tenant, card):
    hold = client.authorize(card, 100, capture=False)
    first = client.clear(hold["transactionId"], 40, final=False)
    assert first["state"] == "HELD" and first["heldAmount"] == 60
    second = client.clear(hold["transactionId"])
    assert second["state"] == "CLEARED" and second["clearedAmount"] == 100 and second["releasedAmount"] == 0
    assert otb(client, tenant, card) == 900
    audit_clean(client, tenant)


def test_a_hold_reversed_in_parts_gives_the_money_back(sandbox, client, tenant, card):
    hold = client.authorize(card, 200, capture=False)
    part = client.reverse(hold["transactionId"], 50)
    assert part["state"] == "HELD" and part["heldAmount"] == 150 and part["releasedAmount"] == 50
    assert otb(client, tenant, card) == 850
    done = client.reverse(hold["transactionId"])
    assert done["state"] == "REVERSED" and done["heldAmount"] == 0 and done["releasedAmount"] == 200
    assert otb(client, tenant, card) == 1000
    with pytest.raises(EnKashHTTPError) as err:
        client.clear(hold["transactionId"])
    assert err.value.status == 409 and "REVERSED" in str(err.value.body)
    audit_clean(client, tenant)


def test_refunds_follow_clearing_and_never_exceed_it(sandbox, client, tenant, card):
    sale = client.authorize(card, 500)
    refunded = client.refund(sale["transactionId"], 200)
    assert refunded["refundedAmount"] == 200 and otb(client, tenant, card) == 700
    with pytest.raises(EnKashHTTPError) as err:
        client.refund(sale["transactionId"], "300.01")
    assert err.value.status == 422
    assert otb(client, tenant, card) == 700  # nothing changed
    client.refund(sale["transactionId"])  # the rest
    assert otb(client, tenant, card) == 1000
    with pytest.raises(EnKashHTTPError) as err:
        client.refund(sale["transactionId"], 1)
    assert err.value.status == 409
    hold = client.authorize(card, 100, capture=False)
    with pytest.raises(EnKashHTTPError) as err:
        client.refund(hold["transactionId"])
    assert err.value.status == 409  # nothing was cleared yet
    refunds = [t for t in txns(client, tenant, card) if t["type"] == "REFUND"]
    assert sorted(Decimal(str(t["principalAmount"])) for t in refunds) == [200, 300]
    assert all(t["cardTransactionType"] == "CR" for t in refunds)
    audit_clean(client, tenant)


def test_an_increment_raises_the_hold_and_needs_the_balance(sandbox, client, tenant, card):
    hold = client.authorize(card, 400, capture=False)
    grown = client.increment(hold["transactionId"], 100)
    assert grown["authorizedAmount"] == 500 and grown["heldAmount"] == 500 and grown["otbBalance"] == 500
    with pytest.raises(EnKashHTTPError) as err:
        client.increment(hold["transactionId"], "500.01")
    assert err.value.status == 422 and "INSUFFICIENT_BALANCE" in str(err.value.body)
    assert otb(client, tenant, card) == 500
    assert client.clear(hold["transactionId"])["clearedAmount"] == 500
    audit_clean(client, tenant)


def test_holds_expire_by_the_sandbox_clock(sandbox, client, tenant, card):
    hold = client.authorize(card, 250, capture=False)
    try:
        clock(client, **{"action": "advance", "seconds": 7 * 86400 - 60})
        assert client.authorization(hold["transactionId"])["state"] == "HELD"
        clock(client, **{"action": "advance", "seconds": 120})
        expired = client.authorization(hold["transactionId"])
        assert expired["state"] == "EXPIRED" and expired["releasedAmount"] == 250 and expired["otbBalance"] == 1000
    finally:
        clock(client, **{"action": "reset"})
    audit_clean(client, tenant)


# -- declines ------------------------------------------------------------------------------------------------
def declined(client, card, amount=10, **fields) -> list[str]:
    answer = client.authorize(card, amount, **fields)
    assert answer["status"] == "DECLINED", answer
    return answer["declineReasons"]


def test_a_decline_moves_nothing_and_is_listed_as_failed(sandbox, client, tenant, card):
    assert declined(client, card, 5000) == ["INSUFFICIENT_BALANCE"]
    assert otb(client, tenant, card) == 1000
    failed = txns(client, tenant, card, status="FAILED")
    assert len(failed) == 1 and failed[0]["type"] == "SALE" and "INSUFFICIENT_BALANCE" in failed[0]["remarks"]
    audit_clean(client, tenant)


@pytest.mark.parametrize(
    ("rules", "first", "second", "reason"),
    [
        ({"perTxnLimit": 100}, 100, "100.01", "PER_TXN_LIMIT_EXCEEDED"),
        ({"dtd": 150}, 100, "50.01", "DAILY_LIMIT_EXCEEDED"),
        ({"mtd": 150}, 100, "50.01", "MONTHLY_LIMIT_EXCEEDED"),
        ({"ytd": 150}, 100, "50.01", "YEARLY_LIMIT_EXCEEDED"),
        ({"dtdCount": 1}, 1, 1, "DAILY_COUNT_EXCEEDED"),
        ({"mtdCount": 1}, 1, 1, "MONTHLY_COUNT_EXCEEDED"),
        ({"ytdCount": 1}, 1, 1, "YEARLY_COUNT_EXCEEDED"),
        ({"posDailyLimit": 150}, 100, "50.01", "CHANNEL_DAILY_LIMIT_EXCEEDED"),
        ({"posDailyLimitCount": 1}, 1, 1, "CHANNEL_DAILY_COUNT_EXCEEDED"),
    ],
)
def test_velocity_limits_decline_the_spend_that_would_pass_them(client, tenant, rules, first, second, reason):
    card = spendable_card(client, tenant, **rules)
    assert client.authorize(card, first, channel="POS")["status"] == "APPROVED"
    assert declined(client, card, second, channel="POS") == [reason]
    if "Count" not in next(iter(rules)):
        # exactly up to the limit still passes
        below = Decimal(str(second)) - Decimal("0.01")
        assert client.authorize(card, below, channel="POS")["status"] == "APPROVED"
    assert otb(client, tenant, card) == 1000 - Decimal(str(first)) - (
        Decimal(str(second)) - Decimal("0.01") if "Count" not in next(iter(rules)) else 0
    )
    audit_clean(client, tenant)


def test_a_channel_limit_counts_only_that_channel(client, tenant):
    card = spendable_card(client, tenant, ecomDailyLimitCount=1)
    assert client.authorize(card, 1, channel="ECOM")["status"] == "APPROVED"
    assert client.authorize(card, 1, channel="POS")["status"] == "APPROVED"
    assert declined(client, card, channel="ECOM") == ["CHANNEL_DAILY_COUNT_EXCEEDED"]


def test_channel_switches_at_admin_and_holder_level(client, tenant):
    ref = gift_ref(tenant)
    card = client.create_card(**ref, mobile="9123400001", firstName="Fresh", loadAmount=100)["enKashCardId"]
    assert declined(client, card, channel="ECOM") == ["CHANNEL_NOT_ALLOWED"]  # a new card has every channel off
    client.velocity(ref["companyId"], ref["cardAccountId"], [card], onlineAllowed=True)  # the holder's switch only
    assert declined(client, card, channel="ECOM") == ["CHANNEL_NOT_ALLOWED"]
    client.velocity(ref["companyId"], ref["cardAccountId"], [card], onlineAllowed=True, adminUser=True)
    assert client.authorize(card, 1, channel="ECOM")["status"] == "APPROVED"
    assert declined(client, card, channel="ECOM", international=True, currency="USD") == ["INTERNATIONAL_NOT_ALLOWED"]
    client.velocity(ref["companyId"], ref["cardAccountId"], [card], onlineAllowed=False)  # the holder turns it off
    assert declined(client, card, channel="ECOM") == ["CHANNEL_NOT_ALLOWED"]


def test_card_state_declines_and_every_reason_is_collected_in_order(sandbox, client, tenant, card):
    client.post(
        f"{CARD}/block",
        {**gift_ref(tenant), "enKashCardId": card, "blockCode": "L", "otpMedium": "MFA", "mfaCode": "123456"},
    )
    assert declined(client, card, 5000, channel="ATM", international=True) == ["CARD_LOCKED", "INSUFFICIENT_BALANCE"]
    ref = gift_ref(tenant)
    client.velocity(ref["companyId"], ref["cardAccountId"], [card], atmAllowed=False, adminUser=True)
    assert declined(client, card, 5000, channel="ATM") == ["CARD_LOCKED", "CHANNEL_NOT_ALLOWED", "INSUFFICIENT_BALANCE"]
    client.post(
        f"{CARD}/block",
        {**gift_ref(tenant), "enKashCardId": card, "blockCode": "BL", "otpMedium": "MFA", "mfaCode": "123456"},
    )
    assert declined(client, card)[0] == "CARD_BLOCKED"
    audit_clean(client, tenant)


def test_a_replaced_card_declines(client, tenant, card):
    client.replace_card(card, otp_medium="MFA", mfaCode="123456")
    assert "CARD_REPLACED" in declined(client, card)


def test_an_expired_card_declines(sandbox, client, tenant, card):
    ref = gift_ref(tenant)
    found = client.search_cards(ref["companyId"], ref["cardAccountId"], card)
    after = datetime(
        int(found["expiryYear"]) + (int(found["expiryMonth"]) == 12), int(found["expiryMonth"]) % 12 + 1, 2, tzinfo=UTC
    )
    try:
        clock(client, **{"action": "set", "at": after.isoformat()})
        assert declined(client, card) == ["CARD_EXPIRED"]
    finally:
        clock(client, **{"action": "reset"})


def test_a_full_kyc_card_type_declines_until_kyc_is_verified(sandbox, client, tenant):
    card = spendable_card(client, tenant, kind="RELOADABLE_GPR")
    assert declined(client, card) == ["KYC_PENDING"]
    client.sandbox_call("PUT", f"/cards/{card}/kyc", {"kycStatus": "VERIFIED"})
    assert client.authorize(card, 10)["status"] == "APPROVED"


def test_magic_values_force_declines(client, tenant, card):
    assert declined(client, card, merchantName="DECLINE_CARD_INACTIVE") == ["CARD_INACTIVE"]
    assert declined(client, card, amount="10.51") == ["INSUFFICIENT_BALANCE"]
    with pytest.raises(EnKashHTTPError) as err:
        client.authorize(card, 10, merchantName="DECLINE_BECAUSE")
    assert err.value.status == 422 and "not a decline reason" in str(err.value.body)


# -- windows -------------------------------------------------------------------------------------------------
def test_daily_windows_reset_at_ist_midnight_and_usage_is_readable(sandbox, client, tenant):
    card = spendable_card(client, tenant, dtdCount=1, mtdCount=5)
    ref = gift_ref(tenant)
    # 23:59 IST on the 10th of a month = 18:29 UTC
    late = datetime(2027, 3, 10, 18, 29, tzinfo=UTC)
    try:
        clock(client, **{"action": "freeze", "at": late.isoformat()})
        client = EnKashClient.from_credentials(sandbox.url, tenant)  # a token of the new time (the old one expired)
        assert client.authorize(card, 40)["status"] == "APPROVED"
        assert declined(client, card) == ["DAILY_COUNT_EXCEEDED"]
        usage = client.payload(f"{CARD}/velocity/rule/get", {**ref, "enKashCardId": card})
        assert (usage["usedDtd"], usage["usedMtd"], usage["countDtd"]) == (40, 40, 1)
        clock(client, **{"action": "advance", "seconds": 61})  # 00:00 IST on the 11th
        assert client.authorize(card, 2)["status"] == "APPROVED"
        usage = client.payload(f"{CARD}/velocity/rule/get", {**ref, "enKashCardId": card})
        assert (usage["usedDtd"], usage["usedMtd"], usage["usedYtd"]) == (2, 42, 42)
        found = client.search_cards(ref["companyId"], ref["cardAccountId"], card)
        assert (found["usedDtd"], found["usedMtd"]) == (2, 42)
        spent = client.sandbox_call("GET", f"/cards/{card}/authorizations")
        assert spent["usage"]["countMtd"] == 2 and len(spent["authorizations"]) == 3
    finally:
        clock(client, **{"action": "reset"})


def test_a_reversal_gives_the_limit_back(client, tenant):
    card = spendable_card(client, tenant, dtd=100)
    hold = client.authorize(card, 100, capture=False)
    assert declined(client, card, 1) == ["DAILY_LIMIT_EXCEEDED"]
    client.reverse(hold["transactionId"])
    assert client.authorize(card, 100)["status"] == "APPROVED"


# -- bad input -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {"amount": -1},
        {"amount": 0},
        {"amount": "1.001"},
        {"amount": "NaN"},
        {"amount": 10, "channel": "TELEPATHY"},
        {"amount": 10, "mcc": "12"},
        {"amount": 10, "currency": "rupees"},
        {"amount": 10, "surprise": True},
        {},
    ],
)
def test_bad_authorizations_are_422_and_change_nothing(sandbox, http, client, tenant, card, body):
    response = http.post(f"/_sandbox/cards/{card}/authorize", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]
    assert otb(client, tenant, card) == 1000
    assert client.sandbox_call("GET", f"/cards/{card}/authorizations")["authorizations"] == []


def test_unknown_cards_and_transactions_are_404(http, card):
    assert http.post("/_sandbox/cards/EKC0000000/authorize", json={"amount": 1}).status_code == 404
    for action in ("clear", "reverse", "refund"):
        response = http.post(f"/_sandbox/transactions/ECT0000000000/{action}", json={})
        assert response.status_code == 404 and "Unknown transaction" in response.json()["error"]
    assert http.get("/_sandbox/transactions/ECT0000000000").status_code == 404


def test_clearing_more_than_held_is_refused_and_changes_nothing(sandbox, http, client, tenant, card):
    hold = client.authorize(card, 100, capture=False)
    response = http.post(f"/_sandbox/transactions/{hold['transactionId']}/clear", json={"amount": "100.01"})
    assert response.status_code == 422 and "only 100 is held" in response.json()["error"]
    response = http.post(f"/_sandbox/transactions/{hold['transactionId']}/reverse", json={"amount": 101})
    assert response.status_code == 422
    assert client.authorization(hold["transactionId"])["heldAmount"] == 100 and otb(client, tenant, card) == 900
    audit_clean(client, tenant)


def test_the_hold_balance_is_audited(sandbox, client, tenant, card):
    """The audit learns to see a corrupted hold: plant one and it reports it."""
    hold = client.authorize(card, 100, capture=False)
    plant(sandbox, "UPDATE card_authorization SET held_minor = held_minor + 1 WHERE id = :id", id=hold["transactionId"])
    report = client.sandbox_call("GET", f"/audit?partnerId={tenant['partnerId']}")
    checks = {d["check"] for d in report["discrepancies"]}
    assert {"authorization_balance", "balance_equals_ledger"} <= checks, report
    plant(sandbox, "UPDATE card_authorization SET held_minor = held_minor - 1 WHERE id = :id", id=hold["transactionId"])
    audit_clean(client, tenant)


# -- the command line, the network timeout -------------------------------------------------------------------
def test_the_spend_and_txn_commands(sandbox, client, tenant, card):
    from enkash_sandbox.cli import app
    from typer.testing import CliRunner

    runner = CliRunner()
    out = runner.invoke(app, ["spend", card, "250", "--channel", "ecom", "--merchant", "Cafe", "--url", sandbox.url])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("APPROVED") and "at Cafe (ECOM)" in out.stdout and "otbBalance 750" in out.stdout
    out = runner.invoke(app, ["spend", card, "100", "--hold", "--json", "--url", sandbox.url])
    hold = json.loads(out.stdout)
    assert hold["state"] == "HELD"
    out = runner.invoke(app, ["txn", "clear", hold["transactionId"], "60", "--url", sandbox.url])
    assert out.exit_code == 0 and "state CLEARED, held 0, cleared 60, released 40" in out.stdout, out.output
    out = runner.invoke(app, ["spend", card, "5000", "--url", sandbox.url])
    assert out.stdout.startswith("DECLINED") and "reasons: INSUFFICIENT_BALANCE" in out.stdout
    out = runner.invoke(app, ["txn", "refund", hold["transactionId"], "61", "--url", sandbox.url])
    assert out.exit_code == 1 and "HTTP 422" in out.output
    assert otb(client, tenant, card) == 690


def test_the_timeout_merchant_answers_504_late_and_records_nothing(tmp_path):
    from enkash_sandbox.config import Settings
    from enkash_sandbox.testing.live import LiveSandbox

    with LiveSandbox(Settings(db=str(tmp_path / "t.db"), seed_demo=False, fault_timeout_seconds=0.4)) as live:
        creds = live.provision()
        with EnKashClient.from_credentials(live.url, creds) as partner:
            card = spendable_card(partner, creds)
            started = time.monotonic()
            with pytest.raises(EnKashHTTPError) as err:
                partner.authorize(card, 10, merchantName="SBX-TIMEOUT")
            assert err.value.status == 504 and time.monotonic() - started >= 0.4
            # nothing was recorded
            assert partner.sandbox_call("GET", f"/cards/{card}/authorizations")["authorizations"] == []
            assert otb(partner, creds, card) == 1000


def test_account_statistics_count_allocations_not_money_back_from_holds(client, tenant, card):
    ref = gift_ref(tenant)
    before = client.card_account(ref["companyId"], ref["cardAccountId"])
    hold = client.authorize(card, 100, capture=False)
    client.reverse(hold["transactionId"])
    sale = client.authorize(card, 50)
    client.refund(sale["transactionId"], 20)
    after = client.card_account(ref["companyId"], ref["cardAccountId"])
    for field in ("totalAllocationPoint", "totalRedemptionPoint", "currentMonthAllocationPoint", "currentMonthRedemptionPoint"):
        assert after[field] == before[field], field


def test_a_card_whose_activation_is_in_progress_declines_as_inactive(sandbox, client, tenant, card):
    # no partner call leaves a card in AP (activation in progress) on this sandbox: put it there directly
    plant(sandbox, "UPDATE card SET status = 'AP' WHERE id = :id", id=card)
    assert declined(client, card) == ["CARD_INACTIVE"]
    plant(sandbox, "UPDATE card SET card_activated = false, status = 'UL' WHERE id = :id", id=card)
    assert declined(client, card) == ["CARD_INACTIVE"]


def test_the_control_plane_openapi_describes_the_spending_operations(http):
    spec = http.get("/_sandbox/openapi.json").json()
    for path in (
        "/cards/{card_id}/authorize",
        "/cards/{card_id}/authorizations",
        "/transactions/{txn_id}",
        "/transactions/{txn_id}/clear",
        "/transactions/{txn_id}/reverse",
        "/transactions/{txn_id}/refund",
        "/transactions/{txn_id}/increment",
    ):
        assert path in spec["paths"], path
    body = spec["components"]["schemas"]["AuthorizeSpec"]
    assert set(body["properties"]) >= {"amount", "channel", "capture", "merchantName", "international", "mcc", "currency"}


def test_an_expired_hold_shows_released_in_the_transaction_list_without_any_clock_change(tmp_path):
    from enkash_sandbox.config import Settings
    from enkash_sandbox.testing.live import LiveSandbox

    with LiveSandbox(Settings(db=str(tmp_path / "h.db"), seed_demo=False, hold_expiry_seconds=1)) as live:
        creds = live.provision()
        with EnKashClient.from_credentials(live.url, creds) as partner:
            card = spendable_card(partner, creds)
            hold = partner.authorize(card, 30, capture=False)
            time.sleep(1.2)  # real time passes; the sandbox clock runs with it
            rows = txns(partner, creds, card)
            assert "AUTH_RELEASE" in [t["type"] for t in rows]
            assert partner.authorization(hold["transactionId"])["state"] == "EXPIRED"
            assert otb(partner, creds, card) == 1000


def test_velocity_sums_are_audited(sandbox, client, tenant, card):
    """The running velocity sums are recomputed by the audit from the authorizations: plant a wrong one."""
    client.authorize(card, 40)
    plant(sandbox, "UPDATE card_usage SET amount_minor = amount_minor + 100 WHERE card_id = :id AND period LIKE 'D:%'", id=card)
    report = client.sandbox_call("GET", f"/audit?partnerId={tenant['partnerId']}")
    assert [d["check"] for d in report["discrepancies"]] == ["velocity_usage"], report
    plant(sandbox, "UPDATE card_usage SET amount_minor = amount_minor - 100 WHERE card_id = :id AND period LIKE 'D:%'", id=card)
    audit_clean(client, tenant)
