"""Request models of the rewards endpoints (create-and-allocate, bulk rows, SSO token)."""

from __future__ import annotations

from typing import Literal

from enkash_sandbox.products.fields import (
    Amount,
    Direction,
    Email,
    Gender,
    Id,
    Mobile,
    Name,
    Reference,
    Text,
    Title,
    VendorModel,
)


class AllocatePoints(VendorModel):
    """Create And Allocate Points (and its alias points/allocate).

    The API page marks all twelve fields required; the Reward Allocation guide (doc-1039425) tops a card up with
    `enkashCardId` or `cardAccountId` and `loadAmount` alone. By default (profile requiredFields=lenient) the
    guide's bodies are accepted: the direction defaults to CR + ALLOCATE_POINT (or follows the one given), the
    account and company to the card's; requiredFields=strict requires the page's twelve."""

    STRICT_REQUIRED = (
        "companyId",
        "cardAccountId",
        "transactionCode",
        "transactionType",
        "type",
        "email",
        "mobile",
        "title",
        "firstName",
        "gender",
        "loadAmount",
        ("uniqueReferenceNumber", "uniqueReferenceNum"),
    )

    companyId: Id | None = None
    cardAccountId: Id | None = None
    transactionCode: Name | None = None
    transactionType: Direction | None = None
    type: Literal["ALLOCATE_POINT", "UNALLOCATE_POINT"] | None = None
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

    @property
    def direction(self) -> tuple[str, str]:
        """(transactionType, type): as sent, the missing one following the other, CR + ALLOCATE_POINT when both
        are missing (the guide's top-up)."""
        paired = {"CR": "ALLOCATE_POINT", "DR": "UNALLOCATE_POINT"}
        if self.transactionType is not None and self.type is not None:
            return self.transactionType, self.type
        if self.transactionType is not None:
            return self.transactionType, paired[self.transactionType]
        if self.type is not None:
            return {v: k for k, v in paired.items()}[self.type], self.type
        return "CR", "ALLOCATE_POINT"


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
