"""Money is Decimal with two places in the domain and integer paise in the store.

Integer minor units keep SQLite exact (it has no decimal type) and let a balance check and the
debit be one conditional UPDATE.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# Java's BigDecimal would take more, but nothing in a sandbox needs more than a trillion rupees, and
# bounding it keeps every amount exactly representable wherever it is rendered.
MAX_AMOUNT = Decimal("1000000000000")
# no balance grows past this (in paise): 10^15 rupees, far inside what a 64-bit integer column holds exactly
MAX_BALANCE_MINOR = 10**17


_NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")


class AmountError(ValueError):
    pass


def parse_amount(value: object, *, allow_zero: bool = False) -> Decimal:
    """Parse a JSON number or numeric string the way a Jackson BigDecimal field would, then
    apply the sandbox's money rules: finite, positive, at most two decimals, bounded."""
    if isinstance(value, bool) or value is None:
        raise AmountError("must be a number")
    if isinstance(value, float):
        value = repr(value)
    elif isinstance(value, str) and not _NUMERIC.match(value):
        # a numeric string is digits with an optional fraction, as a Jackson BigDecimal reads it
        raise AmountError("must be a number")
    elif not isinstance(value, (int, str, Decimal)):
        raise AmountError("must be a number")
    text = str(value)
    if len(text) > 64:
        raise AmountError(f"must not exceed {MAX_AMOUNT}" if _NUMERIC.match(text) else "must be a number")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError) as exc:
        raise AmountError("must be a number") from exc
    if not amount.is_finite():
        raise AmountError("must be a finite number")
    if amount < 0:
        raise AmountError("must not be negative")
    if amount == 0 and not allow_zero:
        raise AmountError("must be greater than 0")
    # the magnitude first: quantizing a 27-digit number past the context's precision would raise
    if amount > MAX_AMOUNT:
        raise AmountError(f"must not exceed {MAX_AMOUNT}")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise AmountError("must have at most 2 decimal places")
    return amount.quantize(CENT)


def to_minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def from_minor(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(CENT)
