"""Magic values: ordinary-looking inputs that trigger a documented outcome (Indian-sandbox style).

None of them can occur in the demo data: demo amounts are whole rupees, demo mobiles start with 6-9,
and demo references start with DEMO-. The same table is served at /_sandbox/magic-values and
written out in docs/MAGIC_VALUES.md.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

AMOUNT_FIELDS = ("amount", "loadAmount", "denomination")
REFERENCE_FIELDS = ("uniqueReferenceNumber", "uniqueReferenceNum", "orderReferenceId", "requestId")

# amount -> (fault kind, HTTP status)
MAGIC_AMOUNTS: dict[Decimal, tuple[str, int]] = {
    Decimal("1.11"): ("insufficient_balance", 200),
    Decimal("4.22"): ("status", 422),
    Decimal("4.04"): ("status", 404),
    Decimal("5.55"): ("status", 500),
    Decimal("9.99"): ("slow", 200),
}

# reference prefix -> (fault kind, HTTP status)
MAGIC_REFERENCES: dict[str, tuple[str, int]] = {
    "SBX-INSUFFICIENT-": ("insufficient_balance", 200),
    "SBX-422-": ("status", 422),
    "SBX-404-": ("status", 404),
    "SBX-500-": ("status", 500),
    "SBX-503-": ("status", 503),
    "SBX-429-": ("rate_limit", 429),
    "SBX-TIMEOUT-": ("timeout", 504),
    "SBX-SLOW-": ("slow", 200),
}

# handled by the domain, not by the fault engine
KYC_PENDING_MOBILE = "5000000001"
KYC_FAILED_MOBILE = "5000000002"
PENDING_THEN_SUCCESS = "SBX-PENDING-OK"
PENDING_THEN_FAILURE = "SBX-PENDING-FAIL"
# card spending simulations (POST /_sandbox/cards/{id}/authorize)
DECLINE_MERCHANT_PREFIX = "DECLINE_"
INSUFFICIENT_PAISE = 51
TIMEOUT_MERCHANT = "SBX-TIMEOUT"


def kyc_for_mobile(mobile: str | None) -> str | None:
    return {KYC_PENDING_MOBILE: "PENDING", KYC_FAILED_MOBILE: "FAILED"}.get(mobile or "")


def match(body: object) -> tuple[str, int, str] | None:
    """(kind, status, trigger) of the first magic value in a decrypted JSON object body, else None."""
    if not isinstance(body, dict):
        return None
    for field in AMOUNT_FIELDS:
        value = body.get(field)
        if value is None or isinstance(value, bool):
            continue
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            continue
        if amount in MAGIC_AMOUNTS:
            kind, status = MAGIC_AMOUNTS[amount]
            return kind, status, f"{field}={amount}"
    for field in REFERENCE_FIELDS:
        value = body.get(field)
        if isinstance(value, str):
            for prefix, (kind, status) in MAGIC_REFERENCES.items():
                if value.startswith(prefix):
                    return kind, status, f"{field} starts with {prefix}"
    return None


def table(slow_seconds: float, timeout_seconds: float, pending_seconds: int) -> list[dict]:
    """The documented table, one row per magic value."""
    outcome = {
        "insufficient_balance": 'HTTP 200 {"response_code":1,"response_message":"Insufficient balance in card account"}; '
        "nothing moves",
        "status": "HTTP {status} in EnKash's failure envelope; nothing moves",
        "rate_limit": "HTTP 429 with Retry-After: 1; nothing moves",
        "timeout": f"no answer for {timeout_seconds:g} s, then HTTP 504; nothing moves",
        "slow": f"answered normally after {slow_seconds:g} s",
    }
    rows = []
    for amount, (kind, status) in MAGIC_AMOUNTS.items():
        rows.append(
            {
                "trigger": f"amount / loadAmount / denomination = {amount}",
                "endpoints": "any vendor POST",
                "outcome": outcome[kind].replace("{status}", str(status)),
            }
        )
    for prefix, (kind, status) in MAGIC_REFERENCES.items():
        rows.append(
            {
                "trigger": f"uniqueReferenceNumber / uniqueReferenceNum / orderReferenceId / requestId starting with {prefix}",
                "endpoints": "any vendor POST",
                "outcome": outcome[kind].replace("{status}", str(status)),
            }
        )
    rows += [
        {
            "trigger": f"holder mobile {KYC_PENDING_MOBILE}",
            "endpoints": "create card, create-allocate-points, bulk",
            "outcome": "the card is issued with kycStatus PENDING",
        },
        {
            "trigger": f"holder mobile {KYC_FAILED_MOBILE}",
            "endpoints": "create card, create-allocate-points, bulk",
            "outcome": "the card is issued with kycStatus FAILED",
        },
        {
            "trigger": f"orderReferenceId starting with {PENDING_THEN_SUCCESS}",
            "endpoints": "create-order",
            "outcome": f"order PENDING (points debited), SUCCESS with vouchers {pending_seconds} s later (sandbox clock)",
        },
        {
            "trigger": f"orderReferenceId starting with {PENDING_THEN_FAILURE}",
            "endpoints": "create-order",
            "outcome": f"order PENDING (points debited), FAILED and refunded through the ledger {pending_seconds} s later",
        },
        {
            "trigger": f"merchantName {DECLINE_MERCHANT_PREFIX}<REASON> (e.g. {DECLINE_MERCHANT_PREFIX}CARD_INACTIVE)",
            "endpoints": "POST /_sandbox/cards/{id}/authorize",
            "outcome": "DECLINED with that one reason (any reason code); nothing moves",
        },
        {
            "trigger": f"amount ending in .{INSUFFICIENT_PAISE} (e.g. 10.{INSUFFICIENT_PAISE})",
            "endpoints": "POST /_sandbox/cards/{id}/authorize",
            "outcome": "DECLINED with INSUFFICIENT_BALANCE (after any other reason that applies); nothing moves",
        },
        {
            "trigger": f"merchantName {TIMEOUT_MERCHANT}",
            "endpoints": "POST /_sandbox/cards/{id}/authorize",
            "outcome": f"the card network never answers: HTTP 504 after {timeout_seconds:g} s; nothing is recorded",
        },
    ]
    return rows
