"""Request models of the EnKash coins endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from enkash_sandbox.products.fields import (
    Id,
    Reference,
    VendorModel,
    Whole,
)
from pydantic import Field, StringConstraints

CoinConfiguration = Literal["CUSTOM", "DEFAULT"]
CoinEvent = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
Coins = Annotated[int, Whole, Field(gt=0, le=10_000_000)]


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
