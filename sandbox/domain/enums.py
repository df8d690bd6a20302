"""EnKash's enumerations with their labels (from the docs' seed page and field tables)."""

from __future__ import annotations

ACCOUNT_TYPES = (
    "RELOADABLE_GPR", "CORPORATE", "GIFT", "MEAL", "FUEL", "VIRTUAL_ACCOUNT", "INVOICE_DISCOUNTING",
    "EMPLOYEE_REWARDS", "CHANNEL_INCENTIVE", "ENKASH_COIN", "PETTY_CASH", "FREEDOM_REWARDS", "PAYOUT",
    "E_RUPI_VOUCHER",
)

ACCOUNT_TYPE_LABELS = {
    "RELOADABLE_GPR": "Reloadable GPR", "CORPORATE": "Corporate", "GIFT": "Gift", "MEAL": "Meal",
    "FUEL": "Fuel", "VIRTUAL_ACCOUNT": "Virtual Account", "INVOICE_DISCOUNTING": "Invoice Discounting",
    "EMPLOYEE_REWARDS": "Employee Rewards", "CHANNEL_INCENTIVE": "Channel Incentive",
    "ENKASH_COIN": "EnKash Coin", "PETTY_CASH": "Petty Cash", "FREEDOM_REWARDS": "Freedom Rewards",
    "PAYOUT": "Payout", "E_RUPI_VOUCHER": "E-Rupi Voucher",
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
    "VERIFIED": "Verified", "PENDING": "Pending", "FAILED": "Failed", "UPLOADED": "Uploaded",
    "CKYC_IN_PROGRESS": "CKYC In Progress", "CKYC_PENDING": "CKYC Pending",
    "LIVENESS_PENDING": "Liveness Pending", "NOT_UPLOADED": "Not Uploaded", "OSV_VERIFIED": "OSV Verified",
    "PAPER_KYC_PENDING": "Paper KYC Pending", "MIN_KYC_VERIFIED": "Min KYC Verified",
    "KYC_NOT_ALLOWED": "KYC Not Allowed", "DRAFTED": "Drafted", "CREATED": "Created",
}

TRANSACTION_TYPES = (
    "SALE", "REPAYMENT", "RECOVERY", "LOAD_MONEY", "REFUND", "REVERSAL", "CREDIT", "FEE",
    "ALLOCATE_FUND", "ALLOCATE_POINT", "UNALLOCATE_POINT",
)
TRANSACTION_CODES = ("PRINCIPLE", "ALLOCATION")
TITLES = ("Mr", "Ms", "Mrs")
GENDERS = ("M", "F")

# Gift cards are non-reloadable: the docs say Load Balance cannot be used on them.
NON_RELOADABLE = frozenset({"GIFT"})
# Reward accounts: cards are created by allocation and carry points.
REWARD_ACCOUNTS = frozenset({"EMPLOYEE_REWARDS", "CHANNEL_INCENTIVE", "FREEDOM_REWARDS"})
