"""The sandbox's vocabulary: EnKash's enumerations with their labels (from the docs' seed page and field
tables), and the sandbox's own kinds as StrEnums. A StrEnum member equals its string, so a value read back
from the store or a request compares equal to the member without conversion."""

from __future__ import annotations

from enum import StrEnum


class CardStatus(StrEnum):
    """cardStatus / blockCode (seed page): L("Locked"), UL("UnLocked"), BL("Blocked"), AP("Activation InProgress")."""

    LOCKED = "L"
    UNLOCKED = "UL"
    BLOCKED = "BL"
    ACTIVATING = "AP"


class Direction(StrEnum):
    """From the card's point of view: CR = money into the card (the account's, for account-only movements)."""

    CR = "CR"
    DR = "DR"


class TxnType(StrEnum):
    """The `type` of a transaction row: EnKash's documented types plus the sandbox's own movements."""

    SALE = "SALE"
    REPAYMENT = "REPAYMENT"
    RECOVERY = "RECOVERY"
    LOAD_MONEY = "LOAD_MONEY"
    REFUND = "REFUND"
    REVERSAL = "REVERSAL"
    CREDIT = "CREDIT"
    FEE = "FEE"
    ALLOCATE_FUND = "ALLOCATE_FUND"
    ALLOCATE_POINT = "ALLOCATE_POINT"
    UNALLOCATE_POINT = "UNALLOCATE_POINT"
    # the sandbox's own
    ACCOUNT_FUNDING = "ACCOUNT_FUNDING"
    CARD_REPLACEMENT = "CARD_REPLACEMENT"
    REDEMPTION = "REDEMPTION"
    # card spending (control-plane simulations): money moved from the card onto an authorization hold, and
    # back from the hold to the card when the hold is released unused (a SALE then takes it off the hold)
    AUTH_HOLD = "AUTH_HOLD"
    AUTH_RELEASE = "AUTH_RELEASE"
    # payouts (payout_ledger_entry): money arriving in a fund source, a transfer's debit onto its in-flight
    # balance, the bank's settlement out of it, a failed transfer's refund and a reversal after success
    PAYOUT_FUND_IN = "PAYOUT_FUND_IN"
    PAYOUT_DEBIT = "PAYOUT_DEBIT"
    PAYOUT_SETTLED = "PAYOUT_SETTLED"
    PAYOUT_FAILURE_REFUND = "PAYOUT_FAILURE_REFUND"
    PAYOUT_REVERSAL = "PAYOUT_REVERSAL"


class HolderKind(StrEnum):
    """Whose balance a ledger row changes."""

    ACCOUNT = "ACCOUNT"
    CARD = "CARD"
    HOLD = "HOLD"  # an authorization hold (card_authorization.held_minor)
    PAYOUT_ACCOUNT = "PAYOUT_ACCOUNT"  # a payout fund source (payout_account.balance_minor)
    PAYOUT_TRANSIT = "PAYOUT_TRANSIT"  # a transfer's money in flight (payout_transfer.in_flight_minor)


class PrincipalKind(StrEnum):
    """Who a bearer token speaks for."""

    PARTNER = "partner"  # the partner's own login
    USER = "user"  # a card holder's password login
    SSO = "sso"  # a card holder's SSO token (bound to one card)


class FaultKind(StrEnum):
    STATUS = "status"
    BUSINESS_FAILURE = "business_failure"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    LATENCY = "latency"
    DROP = "drop"
    MALFORMED = "malformed"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"


class EnvelopeStyle(StrEnum):
    """A = {code, message, payload}; B = {response_code, response_message, payload} (the docs use both)."""

    A = "A"
    B = "B"


class EncryptionMode(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    OFF = "off"


class CardOperation(StrEnum):
    """What a card is asked to do; `ensure_usable` says whether its state allows it."""

    CREDIT = "credit"  # money into the card (load, allocation, refund)
    SPEND = "spend"  # money out to a merchant or a voucher
    UNLOAD = "unload"  # money back to its account (DR load, unallocation)


ACCOUNT_TYPES = (
    "RELOADABLE_GPR",
    "CORPORATE",
    "GIFT",
    "MEAL",
    "FUEL",
    "VIRTUAL_ACCOUNT",
    "INVOICE_DISCOUNTING",
    "EMPLOYEE_REWARDS",
    "CHANNEL_INCENTIVE",
    "ENKASH_COIN",
    "PETTY_CASH",
    "FREEDOM_REWARDS",
    "PAYOUT",
    "E_RUPI_VOUCHER",
)

ACCOUNT_TYPE_LABELS = {
    "RELOADABLE_GPR": "Reloadable GPR",
    "CORPORATE": "Corporate",
    "GIFT": "Gift",
    "MEAL": "Meal",
    "FUEL": "Fuel",
    "VIRTUAL_ACCOUNT": "Virtual Account",
    "INVOICE_DISCOUNTING": "Invoice Discounting",
    "EMPLOYEE_REWARDS": "Employee Rewards",
    "CHANNEL_INCENTIVE": "Channel Incentive",
    "ENKASH_COIN": "EnKash Coin",
    "PETTY_CASH": "Petty Cash",
    "FREEDOM_REWARDS": "Freedom Rewards",
    "PAYOUT": "Payout",
    "E_RUPI_VOUCHER": "E-Rupi Voucher",
}

# The six account types a sandbox tenant gets by default.
DEFAULT_ACCOUNT_TYPES = ("EMPLOYEE_REWARDS", "CHANNEL_INCENTIVE", "GIFT", "MEAL", "FUEL", "RELOADABLE_GPR")

# binType values are not listed in the docs; GIFT_CARD/"Gift Card" is the one the seed page shows,
# the rest follow its pattern (sandbox decision, see docs/FIDELITY.md).
BIN_TYPES = {
    "GIFT": ("GIFT_CARD", "Gift Card"),
    "MEAL": ("MEAL_CARD", "Meal Card"),
    "FUEL": ("FUEL_CARD", "Fuel Card"),
    "RELOADABLE_GPR": ("GPR_CARD", "GPR Card"),
    "EMPLOYEE_REWARDS": ("REWARD_CARD", "Reward Card"),
    "CHANNEL_INCENTIVE": ("REWARD_CARD", "Reward Card"),
    "FREEDOM_REWARDS": ("REWARD_CARD", "Reward Card"),
}
DEFAULT_BIN_TYPE = ("PREPAID_CARD", "Prepaid Card")

KIT_TYPES = {"RUPAY": "Rupay", "VISA": "Visa", "MASTERCARD": "Mastercard"}

# cardStatus: L("Locked"), UL("UnLocked"), BL("Blocked"), AP("Activation InProgress") — seed page
CARD_STATUS_LABELS = {"L": "Locked", "UL": "UnLocked", "BL": "Blocked", "AP": "Activation InProgress"}

KYC_STATUS_LABELS = {
    "VERIFIED": "Verified",
    "PENDING": "Pending",
    "FAILED": "Failed",
    "UPLOADED": "Uploaded",
    "CKYC_IN_PROGRESS": "CKYC In Progress",
    "CKYC_PENDING": "CKYC Pending",
    "LIVENESS_PENDING": "Liveness Pending",
    "NOT_UPLOADED": "Not Uploaded",
    "OSV_VERIFIED": "OSV Verified",
    "PAPER_KYC_PENDING": "Paper KYC Pending",
    "MIN_KYC_VERIFIED": "Min KYC Verified",
    "KYC_NOT_ALLOWED": "KYC Not Allowed",
    "DRAFTED": "Drafted",
    "CREATED": "Created",
}

# the documented types a partner may send (the sandbox's own movement types are not accepted in requests)
TRANSACTION_TYPES = tuple(t.value for t in TxnType)[:11]
TRANSACTION_CODES = ("PRINCIPLE", "ALLOCATION")
TITLES = ("Mr", "Ms", "Mrs")
GENDERS = ("M", "F")

# Gift cards are non-reloadable: the docs say Load Balance cannot be used on them.
NON_RELOADABLE = frozenset({"GIFT"})
# Reward accounts: cards are created by allocation and carry points.
REWARD_ACCOUNTS = frozenset({"EMPLOYEE_REWARDS", "CHANNEL_INCENTIVE", "FREEDOM_REWARDS"})
