"""Bodies of control-plane calls."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ControlModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProvisionPartner(ControlModel):
    encryption: Literal["required", "optional", "off"] | None = None
    fundBalance: Decimal = Field(default=Decimal("100000"), ge=0, le=Decimal("1000000000000"), decimal_places=2)
    companyName: str | None = Field(default=None, max_length=100)


class EncryptionMode(ControlModel):
    encryption: Literal["required", "optional", "off"]


class Fund(ControlModel):
    amount: Decimal = Field(gt=0, le=Decimal("1000000000000"), decimal_places=2)
    remarks: str | None = Field(default=None, max_length=255)


class Unlock(ControlModel):
    username: str | None = None


class ClockChange(ControlModel):
    action: Literal["freeze", "unfreeze", "set", "advance", "reset"]
    at: datetime | None = Field(default=None, description="ISO-8601 instant, for set (and optionally freeze)")
    seconds: float | None = Field(default=None, description="for advance; may be negative")
