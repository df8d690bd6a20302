"""How EnKash renders its objects. Field names and order follow the docs' examples."""

from __future__ import annotations

from typing import TYPE_CHECKING

from enkash_sandbox.money import from_minor
from enkash_sandbox.store.tables import Card, CardAccount, CardAuthorization, CardHolder, Company, Transaction
from enkash_sandbox.timefmt import iso_utc, java_medium
from enkash_sandbox.vocabulary import (
    ACCOUNT_TYPE_LABELS,
    BIN_TYPES,
    CARD_STATUS_LABELS,
    DEFAULT_BIN_TYPE,
    KIT_TYPES,
    KYC_STATUS_LABELS,
)

if TYPE_CHECKING:
    from enkash_sandbox.products.records import AccountRecord, CardRecord, CompanyRecord, HolderRecord

PARTNER_LOGO = "/_sandbox/static/enkash-logo.svg"
CARD_IMAGE = "/_sandbox/static/enkash-card.svg"

CONTROL_FLAGS = ("posAllowed", "atmAllowed", "onlineAllowed", "contactlessAllowed", "internationalAllowed")


def named(name: str, labels: dict[str, str]) -> dict:
    return {"name": name, "label": labels.get(name, name.replace("_", " ").title())}


def card_view(
    card: Card | CardRecord,
    holder: CardHolder | HolderRecord,
    account: CardAccount | AccountRecord,
    company: Company | CompanyRecord,
) -> dict:
    """A card as EnKash shows it, from ORM rows or from the hot paths' records (products/records.py)."""
    profile = holder.profile or {}
    controls = card.controls or {}
    bin_name, bin_label = BIN_TYPES.get(account.account_type, DEFAULT_BIN_TYPE)
    view = {
        "enKashCardId": card.id,
        "userId": holder.id,
        "cardAccountId": account.id,
        "token": card.token,
        "maskedNumber": card.masked_number,
        "expiryMonth": card.expiry_month,
        "expiryYear": card.expiry_year,
        "email": holder.email,
        "mobile": holder.mobile,
        "title": holder.title,
        "firstName": holder.first_name,
        "middleName": holder.middle_name,
        "lastName": holder.last_name,
        "gender": holder.gender,
        "specialDate": holder.special_date,
        "address": profile.get("address"),
        "address2": profile.get("address2"),
        "city": profile.get("city"),
        "state": profile.get("state"),
        "country": profile.get("country"),
        "pincode": profile.get("pincode"),
        "usedMtd": 0,
        "usedDtd": 0,
        "usedYtd": 0,
        "otbBalance": from_minor(card.balance_minor),
        "primaryCard": card.primary_card,
        "prepaidCard": True,
        "physicalCard": card.physical_card,
        "deleted": False,
        "closedLoopCard": False,
        "createdOn": java_medium(card.created_at),
        "modifiedOn": java_medium(card.modified_at),
        "cardStatus": named(card.status, CARD_STATUS_LABELS),
        "kycStatus": named(card.kyc_status, KYC_STATUS_LABELS),
        "cardProgramme": "TRANSCORP",
        "useAccountFunds": False,
        "blockCode": card.status,
        "remarks": card.remarks,
        "partnerLogo": PARTNER_LOGO,
        "pan": holder.pan,
        "physicalCardRequestDate": profile.get("physicalCardRequestDate"),
        "physicalDeliveryAddressFlag": bool(profile.get("physicalDeliveryAddressFlag")),
        "deliveryAddress": profile.get("deliveryAddress"),
        "deliveryAddress2": profile.get("deliveryAddress2"),
        "deliveryCity": profile.get("deliveryCity"),
        "deliveryState": profile.get("deliveryState"),
        "deliveryCountry": profile.get("deliveryCountry"),
        "deliveryPincode": profile.get("deliveryPincode"),
        "cardActivated": card.card_activated,
        "binType": {"name": bin_name, "label": bin_label},
        "loadAmount": from_minor(card.load_amount_minor),
        "companyId": company.id,
        "cardKitMasterId": 2,
        "extEntityId": "EXT" + card.id[3:] + card.token[:3].upper(),
        "switchProvider": "M2P_TRANSCORP",
        "accountBalance": from_minor(account.balance_minor),
        "physicalCardAllowed": account.account_type != "GIFT",
        "kitType": named(card.kit_type, KIT_TYPES),
        "surchargeAmt": 0,
        "panValidated": bool(holder.pan),
        "usedLtd": 0,
        "latestTnCVersionAccepted": True,
        "latestKeyFactAccepted": False,
        "latestTnCVersionAcceptedForPrimaryCard": True,
        "latestKeyFactAcceptedCardForPrimaryCard": True,
        "tncVersionMasterId": "TVMSANDBOX1",
        "tncUrl": "/_sandbox/static/tnc.html",
        "virtualAccountNumber": "ENKASHEDTC" + card.id,
        "limitAllocatedLtd": 0,
    }
    for flag in CONTROL_FLAGS:
        view[flag] = bool(controls.get(flag, False))
        view[flag + "Admin"] = bool(controls.get(flag + "Admin", False))
    view.update(
        {
            "liveImage": False,
            "cKycEnabled": False,
            "unallocateFundAllowed": account.account_type != "GIFT",
            "useParentFundAllowed": False,
            "defaultCardImage": CARD_IMAGE,
            "minKycOtpVerified": card.kyc_status in ("MIN_KYC_VERIFIED", "VERIFIED"),
            "enKashSupportEmail": "support@enkash.com",
            "enKashSupportMobile": "1234567890",
            "companyName": company.name,
            "vKycAllowed": card.kyc_status != "VERIFIED",
            "accountType": {
                "name": account.account_type,
                "label": ACCOUNT_TYPE_LABELS.get(account.account_type, account.account_type),
                "description": ACCOUNT_TYPE_LABELS.get(account.account_type, account.account_type),
            },
            "lastAllocatedAmount": from_minor(card.last_allocated_minor),
            "holdBalance": 0,
            "unAllocateHoldBalance": 0,
            "tncUnAllocateAllowed": False,
            "tncUnAllocateAccepted": False,
        }
    )
    return view


# EnKash documents CREATED as the only transaction status (the transaction/all filter example); the ledger says
# SUCCESS for a settled movement. Rows in the webhook shape speak EnKash's word.
STATUS_OUT = {"SUCCESS": "CREATED"}
STATUS_IN = {"CREATED": "SUCCESS"}


def txn_row(
    txn: Transaction,
    card: Card | None,
    holder: CardHolder | None,
    account: CardAccount,
    company: Company,
    auth: CardAuthorization | None,
    reference: str | None,
) -> dict:
    """A transaction/all row in the field set partner code written against UAT reads (profile
    transactionRows=webhook): the names of the card-transaction webhook (products/spend/payload.py
    card_transaction_payload), inferred, since the docs capture no response. `txnDetails` carries the merchant
    facts of a simulated purchase's authorizing row; other rows have none to give."""
    name = " ".join(p for p in (holder.first_name, holder.middle_name, holder.last_name) if p) if holder else None
    balance = txn.card_balance_after_minor
    at = txn.created_at
    international = auth is not None and auth.currency != "INR"
    return {
        "enKashCardTransactionId": txn.id,
        "maskedCard": card.masked_number if card else None,
        "enkashCardId": txn.card_id,
        "userId": txn.user_id,
        "cardKitNumber": "KIT" + card.token[:9].upper() if card else None,
        "cardHolderName": name,
        "companyName": company.name,
        "companyId": account.company_id,
        "cardAccountId": account.id,
        "principalAmount": from_minor(txn.amount_minor),
        "fcyAmount": from_minor(txn.amount_minor) if international else None,
        "balance": from_minor(balance) if balance is not None else None,
        "pgReferenceNumber": reference,
        "description": txn.description,
        "currency": "INR",
        "fcyCurrency": auth.currency if auth is not None and international else None,
        "cardTransactionType": txn.direction,
        "status": STATUS_OUT.get(txn.status, txn.status),
        "type": txn.type,
        "transactionCode": txn.transaction_code,
        "remarks": txn.remarks,
        "createdOn": java_medium(at),
        "txnDate": iso_utc(at),
        "modifiedOn": java_medium(at),
        "txnDetails": {
            "id": auth.id if auth else None,
            "txnRefNo": txn.id,
            "merchantName": auth.merchant_name if auth else None,
            "transactionType": auth.channel if auth else None,
            "mcc": auth.mcc if auth else None,
            "channel": auth.channel if auth else None,
            "retrievalRefNo": auth.retrieval_ref_no if auth else None,
            "traceNo": auth.trace_no if auth else None,
            "txnCurrency": auth.currency if auth else "INR",
            "network": auth.network if auth else None,
            "transactionFees": from_minor(0),
        },
    }


def txn_view(
    txn: Transaction, card: Card | None, holder: CardHolder | None, account: CardAccount, reference: str | None = None
) -> dict:
    """The sandbox's earlier row (profile transactionRows=sandbox)."""
    name = " ".join(p for p in (holder.first_name, holder.last_name) if p) if holder else None
    amount = from_minor(txn.amount_minor)
    return {
        "enkashCardTxnId": txn.id,
        "enKashTransactionId": txn.id,
        "enKashCardId": txn.card_id,
        "userId": txn.user_id,
        "cardHolderName": name,
        "cardAccountId": account.id,
        "companyId": account.company_id,
        "maskedNumber": card.masked_number if card else None,
        "amount": amount,
        "cardTransactionType": txn.direction,
        "transactionType": txn.direction,
        "type": txn.type,
        "transactionCode": txn.transaction_code,
        "status": txn.status,
        "pgReferenceNumber": reference if reference is not None else txn.pg_reference_number,
        "description": txn.description,
        "remarks": txn.remarks,
        "createdBy": txn.created_by,
        "otbBalance": from_minor(txn.card_balance_after_minor) if txn.card_balance_after_minor is not None else None,
        "accountBalance": (from_minor(txn.account_balance_after_minor) if txn.account_balance_after_minor is not None else None),
        "txnDate": iso_utc(txn.created_at),
        "createdOn": java_medium(txn.created_at),
    }
