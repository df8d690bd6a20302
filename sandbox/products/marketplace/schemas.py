"""Request models of the cart and order endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from enkash_sandbox.products.fields import (
    Amount,
    Id,
    Instant,
    Name,
    OptionalAmountBound,
    Reference,
    VendorModel,
    Whole,
)
from pydantic import Field, StringConstraints


class CartItem(VendorModel):
    quantity: Annotated[int, Whole, Field(ge=0, le=1000)]
    description: Annotated[str, StringConstraints(max_length=255)] | None = None
    # only for denominations with customAmountEnabled (a sandbox extension: the docs show no field for it)
    amount: Amount | None = None


CartItems = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], CartItem], Field(min_length=1, max_length=50)
]


class AddToCart(VendorModel):
    productCatalogId: Id
    items: CartItems


class UpdateCart(VendorModel):
    cartId: Annotated[int, Whole, Field(ge=1, le=2**53)]
    items: CartItems


class CreateOrder(VendorModel):
    denomination: Amount
    orderReferenceId: Reference
    productCatalogId: Id
    quantity: Annotated[int, Whole, Field(ge=1, le=1000)]


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
