"""The body of a card transaction webhook.

EnKash documents no card events; the field set is what public partner integrations consume from EnKash card
transaction notifications (docs/FIDELITY.md, "inferred"), plus eventType and eventId, which the outbox adds.
Amounts stay Decimal: the outbox writes them with the sandbox's exact JSON encoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enkash_sandbox.money import from_minor
from enkash_sandbox.products.spend.records import Authorization
from enkash_sandbox.store.sql import Sql, Tx
from enkash_sandbox.store.tables import Card, CardAuthorization, CardHolder, Company
from enkash_sandbox.timefmt import iso_utc, java_medium


@dataclass(frozen=True)
class CardTxnFacts:
    """What a card transaction event says about the card, its holder and the authorization."""

    card_id: str
    masked_number: str
    token: str
    user_id: str
    holder_name: str | None
    company_id: str
    company_name: str
    auth_id: str
    decline_reasons: list[str]
    currency: str
    channel: str
    merchant_name: str
    mcc: str
    retrieval_ref_no: str
    trace_no: str
    network: str

    @classmethod
    def of(
        cls,
        auth: Authorization,
        *,
        masked_number: str,
        token: str,
        holder_name: str | None,
        company_id: str,
        company_name: str,
    ) -> CardTxnFacts:
        """The authorization's own facts, with what it says about the card, holder and company."""
        return cls(
            card_id=auth.card_id,
            masked_number=masked_number,
            token=token,
            user_id=auth.user_id,
            holder_name=holder_name,
            company_id=company_id,
            company_name=company_name,
            auth_id=auth.id,
            decline_reasons=list(auth.decline_reasons or []),
            currency=auth.currency,
            channel=auth.channel,
            merchant_name=auth.merchant_name,
            mcc=auth.mcc,
            retrieval_ref_no=auth.retrieval_ref_no,
            trace_no=auth.trace_no,
            network=auth.network,
        )


def facts_of(card: Card, holder: CardHolder, company: Company, auth: CardAuthorization) -> CardTxnFacts:
    name = " ".join(part for part in (holder.first_name, holder.middle_name, holder.last_name) if part)
    return CardTxnFacts.of(
        auth,
        masked_number=card.masked_number,
        token=card.token,
        holder_name=name or None,
        company_id=company.id,
        company_name=company.name,
    )


def card_transaction_payload(
    facts: CardTxnFacts,
    *,
    txn_id: str,
    status: str,
    card_transaction_type: str,
    type: str,
    amount_minor: int,
    balance_minor: int,
    reference: str | None,
    description: str,
    created_at: datetime,
    modified_at: datetime,
) -> dict[str, Any]:
    international = facts.currency != "INR"
    return {
        "enKashCardTransactionId": txn_id,
        "authorizationId": facts.auth_id,
        "maskedCard": facts.masked_number,
        "enkashCardId": facts.card_id,
        "userId": facts.user_id,
        "cardKitNumber": "KIT" + facts.token[:9].upper(),
        "cardHolderName": facts.holder_name,
        "companyName": facts.company_name,
        "companyId": facts.company_id,
        "principalAmount": from_minor(amount_minor),
        "fcyAmount": from_minor(amount_minor) if international else None,
        "balance": from_minor(balance_minor),
        "pgReferenceNumber": reference,
        "description": description,
        "currency": "INR",
        "fcyCurrency": facts.currency if international else None,
        "cardTransactionType": card_transaction_type,
        "status": status,
        "type": type,
        "declineReasons": list(facts.decline_reasons),
        "createdOn": java_medium(created_at),
        "txnDate": iso_utc(created_at),
        "modifiedOn": java_medium(modified_at),
        "txnDetails": {
            "id": facts.auth_id,
            "txnRefNo": txn_id,
            "merchantName": facts.merchant_name,
            "transactionType": facts.channel,
            "mcc": facts.mcc,
            "channel": facts.channel,
            "retrievalRefNo": facts.retrieval_ref_no,
            "traceNo": facts.trace_no,
            "txnCurrency": facts.currency,
            "network": facts.network,
            "transactionFees": from_minor(0),
        },
    }


_LATEST = Sql("SELECT id FROM card_authorization WHERE card_id = :card_id ORDER BY created_at DESC, id DESC LIMIT 1")
_CONTEXT = Sql(
    "SELECT c.masked_number, c.token, c.balance_minor, h.id, h.first_name, h.middle_name, h.last_name, m.id, m.name "
    "FROM card c JOIN card_holder h ON h.id = c.user_id JOIN card_account a ON a.id = c.account_id "
    "JOIN company m ON m.id = a.company_id WHERE c.id = :card_id"
)
_AUTH = Sql(
    "SELECT id, decision, decline_reasons, currency, channel, merchant_name, mcc, retrieval_ref_no, trace_no, network, "
    "amount_minor, created_at FROM card_authorization WHERE id = :id"
)


def fire_payload(tx: Tx, card_id: str, event_type: str, now: datetime) -> dict[str, Any] | None:
    """A card transaction event's body for POST /_sandbox/webhooks/fire: the card's latest authorization as
    that event would describe it, or a labelled one-rupee purchase if it has none. None for an unknown card."""
    found = tx.one(_CONTEXT, {"card_id": card_id})
    if found is None:
        return None
    masked, token, balance, user_id, first, middle, last, company_id, company_name = found
    latest = tx.one(_LATEST, {"card_id": card_id})
    row = tx.one(_AUTH, {"id": latest[0]}) if latest else None
    if row is not None:
        auth_id, reasons, currency, channel, merchant, mcc, rrn, stan, network = row[0], _as_list(row[2]), *row[3:10]
        amount = int(row[10])
        created = row[11] if isinstance(row[11], datetime) else now
    else:
        auth_id, reasons, currency, channel, merchant, mcc, rrn, stan, network = (
            "SANDBOXFIRE",
            [],
            "INR",
            "ECOM",
            "SANDBOX FIRED EVENT",
            "5999",
            "000000000000",
            "000000",
            "RUPAY",
        )
        amount, created = 100, now
    facts = CardTxnFacts(
        card_id=card_id,
        masked_number=masked,
        token=token,
        user_id=user_id,
        holder_name=" ".join(p for p in (first, middle, last) if p) or None,
        company_id=company_id,
        company_name=company_name,
        auth_id=auth_id,
        decline_reasons=reasons,
        currency=currency,
        channel=channel,
        merchant_name=merchant,
        mcc=mcc,
        retrieval_ref_no=rrn,
        trace_no=stan,
        network=network,
    )
    credit = event_type in ("CARD_TRANSACTION_REVERSED", "CARD_TRANSACTION_REFUNDED")
    kind = {"CARD_TRANSACTION_REVERSED": "REVERSAL", "CARD_TRANSACTION_REFUNDED": "REFUND"}.get(event_type, "SALE")
    return card_transaction_payload(
        facts,
        txn_id=auth_id,
        status="FAILED" if event_type == "CARD_TRANSACTION_DECLINED" else "SUCCESS",
        card_transaction_type="CR" if credit else "DR",
        type=kind,
        amount_minor=amount,
        balance_minor=int(balance),
        reference=None,
        description=f"{merchant} ({channel})",
        created_at=created,
        modified_at=now,
    )


def _as_list(value: Any) -> list[Any]:
    from enkash_sandbox.store.sql import as_json

    parsed = as_json(value)
    return list(parsed) if isinstance(parsed, list) else []
