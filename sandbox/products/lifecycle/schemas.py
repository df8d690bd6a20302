"""Request models of the card lifecycle endpoints (OTP, PIN, block, replace, velocity)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from enkash_sandbox.money import AmountError, parse_amount
from enkash_sandbox.products.fields import (
    Id,
    Name,
    Reference,
    Text,
    VendorModel,
)
from pydantic import BeforeValidator, Field, StringConstraints

OTP_ACTIONS = ("TRANSACTION_OTP", "SET_PIN", "BLOCK_CARD", "REPLACE_CARD", "VIEW_CARD")
BLOCK_CODES = ("L", "UL", "BL", "AP")
OTP_MEDIUMS = ("MOBILE", "MFA")


def _pin(value: object) -> str:
    # the docs' own example sends the PIN as a JSON number (9078)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not re.fullmatch(r"\d{4,6}", value):
        raise ValueError("must be a 4 to 6 digit PIN")
    return value


class CardRef(VendorModel):
    companyId: Id | None = None
    cardAccountId: Id | None = None
    enKashCardId: Id


class OtpRequest(CardRef):
    cardOtpAction: Literal[OTP_ACTIONS]  # type: ignore[valid-type]
    cardAccountId: Id


class OtpProof(VendorModel):
    otpMedium: Literal[OTP_MEDIUMS] | None = None  # type: ignore[valid-type]
    otpRequestId: Id | None = None
    otpReferenceId: Id | None = None
    otp: Annotated[str, StringConstraints(max_length=12)] | None = None
    mfaCode: Annotated[str, StringConstraints(max_length=12)] | None = None

    @property
    def request_id(self) -> str | None:
        return self.otpRequestId or self.otpReferenceId


class SetPin(CardRef, OtpProof):
    # the field table marks otpRequired required; the page's own example leaves it out (profile requiredFields)
    STRICT_REQUIRED = ("otpRequired",)

    cardAccountId: Id
    pinBlock: Annotated[str, BeforeValidator(_pin)]
    otpRequired: bool = False


class BlockCard(CardRef, OtpProof):
    cardAccountId: Id
    blockCode: Literal[BLOCK_CODES]  # type: ignore[valid-type]
    otpMedium: Literal[OTP_MEDIUMS]  # type: ignore[valid-type]
    reason: Text | None = None
    createdBy: Name | None = None
    otpRequired: bool = True


class ReplaceCard(CardRef, OtpProof):
    otpMedium: Literal[OTP_MEDIUMS]  # type: ignore[valid-type]
    reason: Text | None = None


def _limit(value: object) -> Decimal | None:
    """Limits arrive as numbers, numeric strings or JsonNullable objects {present, value} — all three
    shapes appear in the docs. {present: false} (or null) clears the limit."""
    if isinstance(value, dict):
        present = value.get("present")
        if not isinstance(present, bool):
            raise ValueError("a JsonNullable limit needs a boolean `present`")
        if not present:
            return None
        value = value.get("value")
        if isinstance(value, str):
            raise ValueError("`value` must be a number or null")
    if value is None or value == "":
        return None
    try:
        return parse_amount(value, allow_zero=True)
    except AmountError as exc:
        raise ValueError(str(exc)) from exc


def _count(value: object) -> int | None:
    if isinstance(value, str) and not value.isdigit():
        raise ValueError("must be a whole number")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("must be a whole number")
    amount = _limit(value)
    if amount is None:
        return None
    if amount != amount.to_integral_value():
        raise ValueError("must be a whole number")
    return int(amount)


def _id_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


Limit = Annotated[Decimal | None, BeforeValidator(_limit)]
CountLimit = Annotated[int | None, BeforeValidator(_count)]
LIMIT_FIELDS = (
    "perTxnLimit",
    "dtd",
    "mtd",
    "ytd",
    "posDailyLimit",
    "ecomDailyLimit",
    "contactLessDailyLimit",
    "atmDailyLimit",
    "autoLoadAmount",
)
COUNT_FIELDS = (
    "dtdCount",
    "mtdCount",
    "ytdCount",
    "posDailyLimitCount",
    "ecomDailyLimitCount",
    "contactLessDailyLimitCount",
    "atmDailyLimitCount",
)
FLAG_FIELDS = (
    "posAllowed",
    "onlineAllowed",
    "atmAllowed",
    "contactlessAllowed",
    "internationalAllowed",
    "autoFundLoadingEnabled",
    "excludeFromBulkLoad",
    "useOwnAutoLoadAmount",
)


class VelocityRule(VendorModel):
    companyId: Id | None = None
    cardAccountId: Id
    enKashCardIds: Annotated[list[Id], BeforeValidator(_id_list), Field(min_length=1, max_length=100)]
    adminUser: bool = False
    createdBy: Name | None = None
    posAllowed: bool | None = None
    onlineAllowed: bool | None = None
    atmAllowed: bool | None = None
    contactlessAllowed: bool | None = None
    internationalAllowed: bool | None = None
    autoFundLoadingEnabled: bool | None = None
    excludeFromBulkLoad: bool | None = None
    useOwnAutoLoadAmount: bool | None = None
    perTxnLimit: Limit = None
    dtd: Limit = None
    mtd: Limit = None
    ytd: Limit = None
    posDailyLimit: Limit = None
    ecomDailyLimit: Limit = None
    contactLessDailyLimit: Limit = None
    atmDailyLimit: Limit = None
    autoLoadAmount: Limit = None
    dtdCount: CountLimit = None
    mtdCount: CountLimit = None
    ytdCount: CountLimit = None
    posDailyLimitCount: CountLimit = None
    ecomDailyLimitCount: CountLimit = None
    contactLessDailyLimitCount: CountLimit = None
    atmDailyLimitCount: CountLimit = None


class VelocityGet(CardRef):
    cardAccountId: Id


class WalletDetails(CardRef):
    """G3's Get Wallet Details body: the card, its account and company, and the partner's own reference."""

    cardAccountId: Id
    companyId: Id
    clientReferenceId: Reference | None = None
