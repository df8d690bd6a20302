"""Card transaction events: every authorization, decline, clearing, reversal and refund is told to the
partner's webhook, signed, with the field set partner integrations consume and exact amounts."""

from __future__ import annotations

from decimal import Decimal

from enkash_sandbox.testing.webhooks import WebhookReceiver

from tests.spend.conftest import spendable_card

EVENTS = [
    "CARD_TRANSACTION_AUTHORIZED",
    "CARD_TRANSACTION_DECLINED",
    "CARD_TRANSACTION_CLEARED",
    "CARD_TRANSACTION_REVERSED",
    "CARD_TRANSACTION_REFUNDED",
]
FIELDS = {
    "enKashCardTransactionId",
    "maskedCard",
    "enkashCardId",
    "userId",
    "cardKitNumber",
    "cardHolderName",
    "companyName",
    "companyId",
    "principalAmount",
    "fcyAmount",
    "balance",
    "pgReferenceNumber",
    "description",
    "currency",
    "fcyCurrency",
    "cardTransactionType",
    "status",
    "type",
    "createdOn",
    "txnDate",
    "modifiedOn",
    "txnDetails",
    "eventType",
    "eventId",
}
DETAILS = {
    "id",
    "txnRefNo",
    "merchantName",
    "transactionType",
    "mcc",
    "channel",
    "retrievalRefNo",
    "traceNo",
    "txnCurrency",
    "network",
    "transactionFees",
}


def test_every_card_transaction_is_told_to_the_partner_signed_and_exact(client, tenant):
    card = spendable_card(client, tenant)
    with WebhookReceiver() as receiver:
        receiver.subscribe(client, EVENTS)
        hold = client.authorize(card, "300.10", capture=False, merchantName="Hotel Taj", mcc="7011")
        authorized = receiver.wait_for("CARD_TRANSACTION_AUTHORIZED")
        assert set(authorized) >= FIELDS and set(authorized["txnDetails"]) >= DETAILS
        assert authorized["principalAmount"] == Decimal("300.1") and authorized["balance"] == Decimal("699.9")
        assert authorized["enkashCardId"] == card and authorized["txnDetails"]["id"] == hold["transactionId"]
        assert authorized["txnDetails"]["merchantName"] == "Hotel Taj" and authorized["type"] == "AUTH_HOLD"
        assert authorized["txnDetails"]["retrievalRefNo"] == hold["retrievalRefNo"]
        client.clear(hold["transactionId"], 200)
        cleared = receiver.wait_for("CARD_TRANSACTION_CLEARED")
        assert cleared["type"] == "SALE" and cleared["principalAmount"] == 200 and cleared["cardTransactionType"] == "DR"
        client.refund(hold["transactionId"], "50.05")
        refunded = receiver.wait_for("CARD_TRANSACTION_REFUNDED")
        assert refunded["principalAmount"] == Decimal("50.05") and refunded["cardTransactionType"] == "CR"
        other = client.authorize(card, 20, capture=False)
        client.reverse(other["transactionId"])
        reversed_ = receiver.wait_for("CARD_TRANSACTION_REVERSED")
        assert reversed_["txnDetails"]["id"] == other["transactionId"] and reversed_["type"] == "REVERSAL"
        client.authorize(card, 100_000)
        declined = receiver.wait_for("CARD_TRANSACTION_DECLINED")
        assert declined["status"] == "FAILED" and declined["declineReasons"] == ["INSUFFICIENT_BALANCE"]
        # one delivery per event, every one signed with the subscription's secret
        assert all(d.verified for d in receiver.received)
        ids = [d.event_id for d in receiver.received]
        assert len(ids) == len(set(ids)) == 6
