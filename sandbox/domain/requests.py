"""Request models for the vendor API, typed as the EnKash docs document them.

Lenient where a Java/Jackson server is (numbers as strings, unknown fields ignored), strict where
the docs set a rule (patterns, enums, positive amounts with two decimals).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from enkash_sandbox.domain.enums import ACCOUNT_TYPES, TRANSACTION_TYPES
from enkash_sandbox.money import AmountError, parse_amount
from enkash_sandbox.timefmt import parse_iso
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

# the largest offset a page may start at (every store's integers hold it; no account has more rows)
MAX_OFFSET = 10**9
EMAIL_PATTERN = r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$"
MOBILE_PATTERN = r"^\d{10}$"
PAN_PATTERN = r"^[A-Z]{5}[0-9]{4}[A-Z]$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _amount(value: object) -> Decimal:
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise ValueError(str(exc)) from exc


def _amount_or_zero(value: object) -> Decimal:
    try:
        return parse_amount(value, allow_zero=True)
    except AmountError as exc:
        raise ValueError(str(exc)) from exc


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _special_date(value: str) -> str:
    for fmt in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            datetime.strptime(value, fmt)
            return value
        except ValueError:
            continue
    raise ValueError("must be a date as dd-MM-yyyy (e.g. 02-09-2001)")


def _instant(value: str) -> str:
    try:
        parse_iso(value)
    except ValueError as exc:
        raise ValueError("must be an ISO-8601 date-time such as 2025-01-24T08:47:01.505Z") from exc
    return value


Amount = Annotated[Decimal, BeforeValidator(_amount)]
OptionalAmountBound = Annotated[Decimal, BeforeValidator(_amount_or_zero)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)]
Text = Annotated[str, StringConstraints(max_length=255), AfterValidator(_printable)]
Name = Annotated[str, StringConstraints(max_length=100), AfterValidator(_printable)]
Mobile = Annotated[str, StringConstraints(pattern=MOBILE_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_printable)]
Title = Literal["Mr", "Ms", "Mrs"]
Gender = Literal["M", "F"]
Direction = Literal["CR", "DR"]
TxnType = Literal[TRANSACTION_TYPES]  # type: ignore[valid-type]
Instant = Annotated[str, AfterValidator(_instant)]


class VendorModel(BaseModel):
    # strict types (a string is a string, a boolean a boolean); amounts and limits are the documented
    # exception: they accept numeric strings through their own validators, as Jackson's BigDecimal does
    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)


class CardAccountCreate(VendorModel):
    companyId: Id
    companyName: Name
    userId: Id | None = None
    planMasterId: Id
    email: Email
    mobile: Mobile
    accountTitle: Name
    accountType: Literal[ACCOUNT_TYPES]  # type: ignore[valid-type]


class AccountRef(VendorModel):
    cardAccountId: Id
    companyId: Id


class Document(VendorModel):
    docType: Literal["PAN", "AADHAAR", "PASSPORT", "DRIVING_LICENSE", "VOTER_ID"]
    docNo: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class HolderFields(VendorModel):
    email: Email | None = None
    mobile: Mobile | None = None
    title: Title | None = None
    firstName: Name | None = None
    middleName: Name | None = None
    lastName: Name | None = None
    gender: Gender | None = None
    specialDate: Annotated[str, AfterValidator(_special_date)] | None = None
    address: Text | None = None
    address2: Text | None = None
    city: Name | None = None
    state: Name | None = None
    country: Name | None = None
    pincode: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    documents: list[Document] | None = Field(default=None, max_length=10)


class CreateCard(HolderFields):
    userId: Id | None = None
    companyId: Id
    cardAccountId: Id
    primaryEnKashCard: bool = False
    physicalCard: bool = False
    loadAmount: Amount | None = None
    remarks: Text | None = None
    createdBy: Name | None = None
    physicalDeliveryAddressFlag: bool = False
    deliveryAddress: Text | None = None
    deliveryAddress2: Text | None = None
    deliveryCity: Name | None = None
    deliveryState: Name | None = None
    deliveryCountry: Name | None = None
    deliveryPincode: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    transactionCode: Name | None = None
    transactionType: Direction | None = None
    type: TxnType | None = None
    uniqueReferenceNumber: Reference | None = None
    uniqueReferenceNum: Reference | None = None

    @property
    def reference(self) -> str | None:
        return self.uniqueReferenceNumber or self.uniqueReferenceNum


class LoadBalance(VendorModel):
    companyId: Id | None = None
    cardAccountId: Id | None = None
    enKashCardId: Id
    createdBy: Name | None = None
    amount: Amount
    transactionType: Direction
    description: Text | None = None
    type: TxnType | None = None
    transactionCode: Name | None = None
    uniqueReferenceNumber: Reference | None = None
    uniqueReferenceNum: Reference | None = None
    remarks: Text | None = None

    @property
    def reference(self) -> str | None:
        return self.uniqueReferenceNumber or self.uniqueReferenceNum


class CardSearch(VendorModel):
    cardAccountId: Id
    companyId: Id
    enKashCardId: Id | None = None
    # not documented; a sandbox extension for large accounts (absent = every card, as documented)
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    limit: int | None = Field(default=None, ge=1, le=10_000)


class TransactionSearch(VendorModel):
    companyId: Id
    cardAccountId: Id
    companyName: Name | None = None
    cardHolderName: Name | None = None
    userId: Id | None = None
    enKashCardId: Id | None = None
    status: Name | None = None
    enKashTransactionIds: list[Id] | None = Field(default=None, max_length=1000)
    enKashTransactionId: Id | None = None
    cardTransactionType: Direction | None = None
    amountFrom: OptionalAmountBound | None = None
    amountTo: OptionalAmountBound | None = None
    pgReferenceNumbers: list[Reference] | None = Field(default=None, max_length=1000)
    pgReferenceNumber: Reference | None = None
    txnDateFrom: Instant | None = None
    txnDateTo: Instant | None = None
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    limit: int | None = Field(default=None, ge=1, le=10_000)


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
LIMIT_FIELDS = ("perTxnLimit", "dtd", "mtd", "ytd", "posDailyLimit", "ecomDailyLimit", "contactLessDailyLimit",
                "atmDailyLimit", "autoLoadAmount")
COUNT_FIELDS = ("dtdCount", "mtdCount", "ytdCount", "posDailyLimitCount", "ecomDailyLimitCount",
                "contactLessDailyLimitCount", "atmDailyLimitCount")
FLAG_FIELDS = ("posAllowed", "onlineAllowed", "atmAllowed", "contactlessAllowed", "internationalAllowed",
               "autoFundLoadingEnabled", "excludeFromBulkLoad", "useOwnAutoLoadAmount")


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


class AllocatePoints(VendorModel):
    """Create And Allocate Points (and its alias points/allocate)."""

    companyId: Id
    cardAccountId: Id
    transactionCode: Name | None = None
    transactionType: Direction
    type: Literal["ALLOCATE_POINT", "UNALLOCATE_POINT"]
    enkashCardId: Id | None = None
    enKashCardId: Id | None = None
    email: Email | None = None
    mobile: Mobile | None = None
    title: Title | None = None
    firstName: Name | None = None
    lastName: Name | None = None
    gender: Gender | None = None
    loadAmount: Amount
    remarks: Text | None = None
    uniqueReferenceNumber: Reference | None = None
    uniqueReferenceNum: Reference | None = None

    @property
    def reference(self) -> str | None:
        return self.uniqueReferenceNumber or self.uniqueReferenceNum

    @property
    def card_id(self) -> str | None:
        return self.enKashCardId or self.enkashCardId


class BulkRow(VendorModel):
    title: Title
    name: Name
    email: Email
    mobile: Mobile
    loadAmount: Amount
    remarks: Text | None = None
    uniqueReferenceNumber: Reference


class SsoRequest(VendorModel):
    cardAccountId: Id
    companyId: Id
    enkashCardId: Id | None = None
    enKashCardId: Id | None = None

    @property
    def card_id(self) -> str | None:
        return self.enkashCardId or self.enKashCardId


CoinConfiguration = Literal["CUSTOM", "DEFAULT"]
CoinEvent = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
Coins = Annotated[int, Field(gt=0, le=10_000_000)]


class CoinConfigCreate(VendorModel):
    configuration: CoinConfiguration
    companyId: Id
    event: CoinEvent
    amount: Coins


class CoinConfigUpdate(VendorModel):
    amount: Coins | None = None
    configuration: CoinConfiguration | None = None
    companyId: Id | None = None
    event: CoinEvent | None = None


class CoinAllocate(VendorModel):
    companyId: Id
    event: CoinEvent
    requestId: Reference
    userId: Id


class CartItem(VendorModel):
    quantity: Annotated[int, Field(ge=0, le=1000)]
    description: Annotated[str, StringConstraints(max_length=255)] | None = None
    # only for denominations with customAmountEnabled (a sandbox extension: the docs show no field for it)
    amount: Amount | None = None


CartItems = Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], CartItem],
                      Field(min_length=1, max_length=50)]


class AddToCart(VendorModel):
    productCatalogId: Id
    items: CartItems


class UpdateCart(VendorModel):
    cartId: Annotated[int, Field(ge=1, le=2**53)]
    items: CartItems


class CreateOrder(VendorModel):
    denomination: Amount
    orderReferenceId: Reference
    productCatalogId: Id
    quantity: Annotated[int, Field(ge=1, le=1000)]




class OrderSearch(VendorModel):
    """Order Search filters; every one is optional (the page marks them all required, an apidoc artefact)."""

    aggregator: Name | None = None
    aggregatorDiscountFrom: OptionalAmountBound | None = None
    aggregatorDiscountTo: OptionalAmountBound | None = None
    aggregatorOrderId: Id | None = None
    aggregatorProductId: Id | None = None
    amountFrom: OptionalAmountBound | None = None
    amountTo: OptionalAmountBound | None = None
    brand: list[Name] | None = Field(default=None, max_length=100)
    category: list[Name] | None = Field(default=None, max_length=100)
    companyId: Id | None = None
    createdOnFrom: Instant | None = None
    createdOnTo: Instant | None = None
    direction: Literal["ASC", "DESC", "asc", "desc"] = "DESC"
    ekUserId: Id | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    enkashDiscountFrom: OptionalAmountBound | None = None
    enkashDiscountTo: OptionalAmountBound | None = None
    orderStatus: Name | None = None
    paymentStatus: Name | None = None
    orderReferenceId: Reference | None = None
    orderId: Id | None = None
    productCatalogId: Id | None = None


class OrderDetails(VendorModel):
    orderId: Reference
