"""Request models of the card endpoints (accounts, cards, loads, search, transactions)."""

from __future__ import annotations

from typing import Annotated, Literal

from enkash_sandbox.products.fields import (
    MAX_OFFSET,
    Amount,
    Direction,
    Email,
    Gender,
    Id,
    Instant,
    Mobile,
    Name,
    OptionalAmountBound,
    Pincode,
    Reference,
    Text,
    Title,
    TxnType,
    VendorModel,
    _special_date,
)
from enkash_sandbox.vocabulary import ACCOUNT_TYPES
from pydantic import AfterValidator, Field, StringConstraints


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
    pincode: Pincode | None = None
    documents: list[Document] | None = Field(default=None, max_length=10)


class CreateCard(HolderFields):
    # G1 marks all three optional; the wallet pages require mobile and email (profile requiredFields)
    STRICT_REQUIRED = (("userId", "mobile", "email"),)

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
    deliveryPincode: Pincode | None = None
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
