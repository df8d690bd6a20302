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
