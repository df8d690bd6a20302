"""The payloads of the card events the sandbox emits itself (CARD_LOADED, CARD_STATUS_CHANGED) and the sample
payloads `fire` sends for EnKash's documented events, whose real payloads the docs do not show.

EnKash documents no card webhooks: these field sets are the sandbox's own, named as EnKash's card APIs name the
same facts (docs/FIDELITY.md, "Webhooks"). Amounts are Decimal and stay exact to the byte on the wire.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from enkash_sandbox.timefmt import java_medium


def card_loaded(
    *,
    card_id: str,
    account_id: str,
    company_id: str,
    user_id: str,
    amount: Decimal,
    balance: Decimal,
    transaction_id: str | None,
    reference: str | None,
    created_on: datetime,
) -> dict[str, Any]:
    return {
        "enKashCardId": card_id,
        "cardAccountId": account_id,
        "companyId": company_id,
        "userId": user_id,
        "amount": amount,
        "balance": balance,
        "transactionId": transaction_id,
        "pgReferenceNumber": reference,
        "createdOn": java_medium(created_on),
    }


def card_status_changed(
    *,
    card_id: str,
    account_id: str,
    company_id: str,
    user_id: str,
    previous_status: str,
    status: str,
    reason: str | None,
    modified_on: datetime,
) -> dict[str, Any]:
    return {
        "enKashCardId": card_id,
        "cardAccountId": account_id,
        "companyId": company_id,
        "userId": user_id,
        "previousStatus": previous_status,
        "status": status,
        "reason": reason,
        "modifiedOn": java_medium(modified_on),
    }


def documented_sample(event_type: str, partner_id: str, company_id: str | None, now: datetime, n: int) -> dict[str, Any]:
    """A sample for PAYOUT_* and UTILITY_BILLPAY_* (fire only): EnKash's payloads for these were not retrieved,
    so the fields are the sandbox's own, named as the payout and bill-pay APIs name them, and marked simulated."""
    status = event_type.rsplit("_", 1)[1]
    if event_type.startswith("PAYOUT_"):
        return {
            "simulated": True,
            "partnerId": partner_id,
            "companyId": company_id,
            "transferId": f"SBXPAYOUT{n:08d}",
            "amount": Decimal("100.00"),
            "transferMode": "IMPS",
            "status": status,
            "createdOn": java_medium(now),
        }
    return {
        "simulated": True,
        "partnerId": partner_id,
        "companyId": company_id,
        "billPaymentId": f"SBXBILL{n:08d}",
        "amount": Decimal("100.00"),
        "status": status,
        "createdOn": java_medium(now),
    }


def payout_event(
    *,
    event: str,
    transaction_id: str,
    enkash_transaction_id: str,
    batch_transaction_id: str | None,
    payout_status: str,
    transfer_amount: Decimal | None,
    transfer_mode: str | None,
    beneficiary_id: str | None,
    fund_source_id: str | None,
    utr: str | None,
    reason_code: str | None,
    event_time: str | None,
) -> dict[str, Any]:
    """PAYOUT_PENDING / PAYOUT_SUCCESS / PAYOUT_FAILED for a real transfer. EnKash's payload was not retrieved: the
    fields are the transfer response's, plus what the status page describes (utr, reason), inferred and marked
    so in docs/FIDELITY.md."""
    return {
        "event": event,
        "transactionId": transaction_id,
        "enkashTransactionId": enkash_transaction_id,
        "batchTransactionId": batch_transaction_id,
        "payoutStatus": payout_status,
        "transferAmount": transfer_amount,
        "transferMode": transfer_mode,
        "beneficiaryId": beneficiary_id,
        "fundSourceId": fund_source_id,
        "utr": utr,
        "reasonCode": reason_code,
        "eventTime": event_time,
    }
