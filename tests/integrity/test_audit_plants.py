"""The audit finds each kind of corruption: a test plants it straight into the store and sees it flagged."""

from __future__ import annotations

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.store.tables import Card, CardAccount, Transaction, Voucher
from enkash_sandbox.testing.live import LiveSandbox
from sqlalchemy import text, update
from sqlmodel import select

HOLDER_PASSWORD = "Holder@1234"
HOLDER_MOBILE = "9811100001"


def audit(sandbox, partner_id: str) -> dict:
    return httpx.get(f"{sandbox.url}/_sandbox/audit", params={"partnerId": partner_id}, timeout=60).json()


def checks(report: dict) -> set[str]:
    return {p["check"] for p in report["discrepancies"]}


def a_voucher(sandbox) -> tuple[str, float]:
    for product in httpx.get(f"{sandbox.url}/_sandbox/catalog").json():
        for d in product["denominations"]:
            if product["active"] and not d["customAmountEnabled"]:
                return product["productCatalogId"], d["mrp"]
    raise AssertionError("no voucher")


@pytest.fixture
def holder_card(sandbox, tenant):
    ref = (tenant["companyId"], tenant["cardAccounts"]["EMPLOYEE_REWARDS"])
    with EnKashClient.from_credentials(sandbox.url, tenant) as c:
        card = c.allocate_points(*ref, 500, reference="PLANT", mobile=HOLDER_MOBILE, firstName="Plant")
    assert audit(sandbox, tenant["partnerId"])["ok"]
    return card


def order_for(sandbox, tenant, reference: str) -> dict:
    with EnKashClient.from_credentials(sandbox.url, dict(tenant, username=HOLDER_MOBILE, password=HOLDER_PASSWORD)) as holder:
        return holder.create_order(*a_voucher(sandbox), 1, reference)


def test_a_second_settlement_of_an_order_is_flagged(tmp_path):
    """What the race did on PostgreSQL: a failed order refunded twice. The store now refuses that with a unique
    index, so the plant drops it first, in a store of its own."""
    with LiveSandbox(Settings(db=str(tmp_path / "plant.db"), seed_demo=False)) as live:
        tenant = live.provision()
        ref = (tenant["companyId"], tenant["cardAccounts"]["EMPLOYEE_REWARDS"])
        with EnKashClient.from_credentials(live.url, tenant) as c:
            c.allocate_points(*ref, 500, reference="PLANT", mobile=HOLDER_MOBILE, firstName="Plant")
        order = order_for(live, tenant, "SBX-PENDING-FAIL-PLANT")
        httpx.post(f"{live.url}/_sandbox/orders/{order['enkashOrderId']}/settle", json={"status": "FAILED"})
        assert audit(live, tenant["partnerId"])["ok"]
        core = live.container
        with core.db.write() as s:
            s.execute(text("DROP INDEX uq_txn_order_refund"))
            first = s.exec(
                select(Transaction).where(Transaction.order_id == order["enkashOrderId"], Transaction.type == "REFUND")
            ).one()
            core.ledger.card_refund(
                s,
                s.get(CardAccount, first.account_id),
                s.get(Card, first.card_id),
                first.amount_minor,
                type="REFUND",
                order_id=order["enkashOrderId"],
            )
        found = audit(live, tenant["partnerId"])
        assert any(p["check"] == "order_settlement" and p["refunds"] == 2 for p in found["discrepancies"]), found
        assert "conservation" not in checks(found)  # the refund went through the ledger: only settle-once sees it


def test_vouchers_issued_twice_are_flagged(sandbox, tenant, holder_card):
    order = order_for(sandbox, tenant, "PLANT-VOUCHERS")
    with sandbox.container.db.write() as s:
        row = s.exec(select(Voucher).where(Voucher.order_id == order["enkashOrderId"])).one()
        s.add(
            Voucher(
                id=row.id + "X",
                partner_id=row.partner_id,
                order_id=row.order_id,
                code=row.code + "X",
                pin=row.pin,
                amount_minor=row.amount_minor,
                expiry_date=row.expiry_date,
                created_at=row.created_at,
            )
        )
    found = audit(sandbox, tenant["partnerId"])
    assert "order_settlement" in checks(found), found
    assert any(p.get("vouchers") == 2 and p.get("expectedVouchers") == 1 for p in found["discrepancies"])


def test_a_refund_without_a_failed_order_is_flagged(sandbox, tenant, holder_card):
    order = order_for(sandbox, tenant, "PLANT-SUCCESS-THEN-REFUND")
    core = sandbox.container
    with core.db.write() as s:
        card = s.get(Card, holder_card["enKashCardId"])
        core.ledger.card_refund(s, s.get(CardAccount, card.account_id), card, 100, type="REFUND", order_id=order["enkashOrderId"])
    found = audit(sandbox, tenant["partnerId"])
    assert any(p["check"] == "order_settlement" and p["orderId"] == order["enkashOrderId"] for p in found["discrepancies"]), found


# what a grouped write (one transaction, a savepoint per load: store/engine.py run_group) would leave if a failed
# load's savepoint were rolled back only in part, or a load's ledger rows were lost while its balances stayed
def test_a_card_balance_changed_outside_the_ledger_is_flagged(sandbox, tenant, holder_card):
    with sandbox.container.db.write() as s:
        s.execute(update(Card).where(Card.id == holder_card["enKashCardId"]).values(balance_minor=Card.balance_minor + 700))
    found = audit(sandbox, tenant["partnerId"])
    assert any(
        p["check"] == "balance_equals_ledger" and p.get("holderId") == holder_card["enKashCardId"] for p in found["discrepancies"]
    ), found


def test_a_load_whose_ledger_rows_were_lost_is_flagged(sandbox, tenant, holder_card):
    ref = (tenant["companyId"], tenant["cardAccounts"]["EMPLOYEE_REWARDS"])
    with EnKashClient.from_credentials(sandbox.url, tenant) as c:
        loaded = c.allocate_points(*ref, 40, reference="PLANT-LOST-LEGS", mobile=HOLDER_MOBILE, firstName="Plant")
    assert audit(sandbox, tenant["partnerId"])["ok"]
    with sandbox.container.db.write() as s:
        s.execute(text("DELETE FROM ledger_entry WHERE txn_id = :t"), {"t": loaded["enkashCardTxnId"]})
    assert {"balance_equals_ledger"} <= checks(audit(sandbox, tenant["partnerId"]))


def test_a_transaction_stating_another_balance_than_its_ledger_rows_is_flagged(sandbox, tenant, holder_card):
    """A transaction states the card's and the account's balance after it (the transaction list shows them); the
    ledger writes them and its ledger rows from one set of new balances (one statement on PostgreSQL)."""
    txn_id = holder_card["enkashCardTxnId"]
    for column in ("card_balance_after_minor", "account_balance_after_minor"):
        with sandbox.container.db.write() as s:
            s.execute(text(f'UPDATE "transaction" SET {column} = {column} + 1 WHERE id = :t'), {"t": txn_id})
        found = audit(sandbox, tenant["partnerId"])
        assert [p["transactionId"] for p in found["discrepancies"] if p["check"] == "transaction_balance_after"] == [txn_id], (
            found
        )
        with sandbox.container.db.write() as s:
            s.execute(text(f'UPDATE "transaction" SET {column} = {column} - 1 WHERE id = :t'), {"t": txn_id})
    assert audit(sandbox, tenant["partnerId"])["ok"]


def test_money_on_a_replaced_card_is_flagged(sandbox, tenant, holder_card):
    with sandbox.container.db.write() as s:  # a replacement that left the balance behind
        s.execute(update(Card).where(Card.id == holder_card["enKashCardId"]).values(replaced_by="EKCNOWHERE", status="BL"))
    found = audit(sandbox, tenant["partnerId"])
    assert "replaced_card_balance" in checks(found), found


def test_a_blocked_card_holding_money_is_noticed_not_flagged(sandbox, tenant, holder_card):
    with sandbox.container.db.write() as s:
        s.execute(update(Card).where(Card.id == holder_card["enKashCardId"]).values(status="BL"))
    found = audit(sandbox, tenant["partnerId"])
    assert found["ok"] and [n["enKashCardId"] for n in found["notices"]] == [holder_card["enKashCardId"]]


def test_two_live_cards_for_one_holder_are_flagged(tmp_path):
    """The store refuses a second live card (a unique index); an older store without the index, or a bug
    around it, is what the audit is for. Planted in a store of its own, with the index dropped."""
    with LiveSandbox(Settings(db=str(tmp_path / "plant.db"), seed_demo=False)) as live:
        tenant = live.provision()
        ref = (tenant["companyId"], tenant["cardAccounts"]["RELOADABLE_GPR"])
        with EnKashClient.from_credentials(live.url, tenant) as c:
            card = c.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9811100002", firstName="Twin")
        core = live.container
        with core.db.write() as s:
            s.execute(text("DROP INDEX uq_card_live_holder"))
            account = s.get(CardAccount, ref[1])
            s.execute(Card.__table__.insert(), [core.cards.card_row(s, account, card["userId"])])
        found = audit(live, tenant["partnerId"])
        assert "duplicate_live_cards" in checks(found), found


# -- payouts: each kind of corruption of a fund source, a transfer or the payout ledger is flagged -------------------
def payout_transfer(sandbox, tenant, transaction_id: str, amount: str = "25.00", to: str | None = None) -> dict:
    from tests.payouts.conftest import Payouts

    caller = Payouts(sandbox.url, tenant)
    try:
        sent = caller.transfer(transaction_id, amount, transferRemark="PENDING")
    finally:
        caller.close()
    if to is not None:
        answer = httpx.post(
            f"{sandbox.url}/_sandbox/payouts/transfers/{sent['enkashTransactionId']}/advance", json={"to": to}, timeout=30
        )
        assert answer.status_code == 200, answer.text
    assert audit(sandbox, tenant["partnerId"])["ok"]
    return sent


def test_a_fund_source_balance_changed_outside_the_ledger_is_flagged(sandbox, tenant):
    payout_transfer(sandbox, tenant, "PLANT-PO-1")
    with sandbox.container.db.write() as s:
        s.execute(
            text("UPDATE payout_account SET balance_minor = -balance_minor - 1 WHERE fund_source_id = :id"),
            {"id": tenant["payoutFundSourceId"]},
        )
    found = checks(audit(sandbox, tenant["partnerId"]))
    assert {"payout_balance_equals_ledger", "payout_negative_balance", "payout_conservation"} <= found, found


def test_money_in_flight_changed_outside_the_ledger_is_flagged(sandbox, tenant):
    sent = payout_transfer(sandbox, tenant, "PLANT-PO-2")
    with sandbox.container.db.write() as s:
        s.execute(
            text("UPDATE payout_transfer SET in_flight_minor = in_flight_minor - 100 WHERE enkash_transaction_id = :id"),
            {"id": sent["enkashTransactionId"]},
        )
    found = checks(audit(sandbox, tenant["partnerId"]))
    assert {"payout_in_flight_equals_ledger", "payout_status_rows", "payout_conservation"} <= found, found


def test_a_status_without_its_ledger_rows_is_flagged(sandbox, tenant):
    """A transfer marked SUCCESS (money gone from transit) with no settlement row: what a lost write would leave."""
    sent = payout_transfer(sandbox, tenant, "PLANT-PO-3")
    with sandbox.container.db.write() as s:
        s.execute(
            text("UPDATE payout_transfer SET status = 'SUCCESS' WHERE enkash_transaction_id = :id"),
            {"id": sent["enkashTransactionId"]},
        )
    found = audit(sandbox, tenant["partnerId"])
    assert any(p["check"] == "payout_status_rows" and p["payoutStatus"] == "SUCCESS" for p in found["discrepancies"]), found


def test_a_broken_payout_ledger_chain_is_flagged(sandbox, tenant):
    payout_transfer(sandbox, tenant, "PLANT-PO-4")
    with sandbox.container.db.write() as s:
        s.execute(
            text(
                "UPDATE payout_ledger_entry SET balance_after_minor = balance_after_minor + 7 WHERE id = "
                "(SELECT MIN(id) FROM payout_ledger_entry WHERE holder_id = :id)"
            ),
            {"id": tenant["payoutFundSourceId"]},
        )
    assert "payout_ledger_chain" in checks(audit(sandbox, tenant["partnerId"]))


def test_money_from_nowhere_breaks_payout_conservation(sandbox, tenant):
    """A credit to a fund source with a ledger row that chains and matches the balance, but no fund-in, transfer,
    refund or reversal behind it: only conservation can see it."""
    payout_transfer(sandbox, tenant, "PLANT-PO-5")
    fund = tenant["payoutFundSourceId"]
    with sandbox.container.db.write() as s:
        balance = s.execute(
            text("SELECT balance_minor FROM payout_account WHERE fund_source_id = :id"), {"id": fund}
        ).scalar_one()
        s.execute(text("UPDATE payout_account SET balance_minor = balance_minor + 500 WHERE fund_source_id = :id"), {"id": fund})
        s.execute(
            text(
                "INSERT INTO payout_ledger_entry (partner_id, movement_id, type, holder_kind, holder_id, transfer_id, "
                "amount_minor, balance_after_minor, remarks, created_at) VALUES (:p, 'EKPMPLANT', 'PAYOUT_DEBIT', "
                "'PAYOUT_ACCOUNT', :id, NULL, 500, :after, 'planted', CURRENT_TIMESTAMP)"
            ),
            {"p": tenant["partnerId"], "id": fund, "after": balance + 500},
        )
    assert checks(audit(sandbox, tenant["partnerId"])) == {"payout_conservation"}


def test_a_second_payout_settlement_is_flagged(tmp_path):
    """The unique index refuses a second settlement row of one transfer; the plant drops it first, in a store of
    its own, and writes the twin through the payout ledger as a double settle would."""
    with LiveSandbox(Settings(db=str(tmp_path / "plant.db"), seed_demo=False)) as live:
        tenant = live.provision()
        sent = payout_transfer(live, tenant, "PLANT-PO-6", to="SUCCESS")
        core = live.container
        with core.db.write() as s:
            s.execute(text("DROP INDEX uq_payout_ledger_once"))
            core.payouts.ledger.settled(
                core.db.tx_of(s),
                partner_id=tenant["partnerId"],
                transfer_id=sent["enkashTransactionId"],
                amount_minor=2500,
                remarks="twin",
                at=core.clock.now(),
            )
        found = audit(live, tenant["partnerId"])
        assert any(p["check"] == "payout_status_rows" and p["rows"].get("PAYOUT_SETTLED") == 2 for p in found["discrepancies"]), (
            found
        )
        assert {"payout_in_flight_equals_ledger", "payout_conservation"} <= checks(found)


def test_payout_rows_of_no_transfer_are_flagged(sandbox, tenant):
    payout_transfer(sandbox, tenant, "PLANT-PO-7")
    with sandbox.container.db.write() as s:
        s.execute(
            text(
                "INSERT INTO payout_ledger_entry (partner_id, movement_id, type, holder_kind, holder_id, transfer_id, "
                "amount_minor, balance_after_minor, remarks, created_at) VALUES (:p, 'EKPMPLANT2', 'PAYOUT_SETTLED', "
                "'PAYOUT_TRANSIT', 'EKPTGHOST', 'EKPTGHOST', 0, 0, 'planted', CURRENT_TIMESTAMP)"
            ),
            {"p": tenant["partnerId"]},
        )
    assert "payout_rows_without_transfer" in checks(audit(sandbox, tenant["partnerId"]))


def test_a_deleted_webhook_subscription_enabled_again_is_flagged(sandbox, tenant):
    """What an update racing a delete did on PostgreSQL before both locked the row: the deleted subscription
    enabled again, so emit kept sending it events."""
    with EnKashClient.from_credentials(sandbox.url, tenant) as c:
        sub = c.subscribe_webhook("http://127.0.0.1:9/plant", ["PAYOUT_SUCCESS"])
        c.delete_webhook(sub["id"])
    assert "webhook_deleted_subscription" not in checks(audit(sandbox, tenant["partnerId"]))
    with sandbox.container.db.write() as s:
        s.execute(text("UPDATE webhook_subscription SET enabled = true WHERE id = :id"), {"id": sub["id"]})
    try:
        found = audit(sandbox, tenant["partnerId"])
        assert [p["subscriptionId"] for p in found["discrepancies"] if p["check"] == "webhook_deleted_subscription"] == [
            sub["id"]
        ], found
    finally:
        with sandbox.container.db.write() as s:
            s.execute(text("UPDATE webhook_subscription SET enabled = false WHERE id = :id"), {"id": sub["id"]})
