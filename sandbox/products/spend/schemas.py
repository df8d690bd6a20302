"""What the spending simulations accept. EnKash has no partner API for a purchase (the card network makes
them), so these are the sandbox's own control-plane bodies, shaped after the issuing sandboxes partners know
(Marqeta, Checkout.com, Lithic, Stripe Issuing)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from enkash_sandbox.money import MAX_AMOUNT
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Amount = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)]


class Channel(StrEnum):
    POS = "POS"
    ECOM = "ECOM"
    ATM = "ATM"
    CONTACTLESS = "CONTACTLESS"


class DeclineReason(StrEnum):
    """Why an authorization was declined, in the order they are checked (all that apply are reported)."""

    CARD_BLOCKED = "CARD_BLOCKED"
    CARD_LOCKED = "CARD_LOCKED"
    CARD_REPLACED = "CARD_REPLACED"
    CARD_EXPIRED = "CARD_EXPIRED"
    CARD_INACTIVE = "CARD_INACTIVE"
    KYC_PENDING = "KYC_PENDING"
    CHANNEL_NOT_ALLOWED = "CHANNEL_NOT_ALLOWED"
    INTERNATIONAL_NOT_ALLOWED = "INTERNATIONAL_NOT_ALLOWED"
    PER_TXN_LIMIT_EXCEEDED = "PER_TXN_LIMIT_EXCEEDED"
    DAILY_LIMIT_EXCEEDED = "DAILY_LIMIT_EXCEEDED"
    DAILY_COUNT_EXCEEDED = "DAILY_COUNT_EXCEEDED"
    MONTHLY_LIMIT_EXCEEDED = "MONTHLY_LIMIT_EXCEEDED"
    MONTHLY_COUNT_EXCEEDED = "MONTHLY_COUNT_EXCEEDED"
    YEARLY_LIMIT_EXCEEDED = "YEARLY_LIMIT_EXCEEDED"
    YEARLY_COUNT_EXCEEDED = "YEARLY_COUNT_EXCEEDED"
    CHANNEL_DAILY_LIMIT_EXCEEDED = "CHANNEL_DAILY_LIMIT_EXCEEDED"
    CHANNEL_DAILY_COUNT_EXCEEDED = "CHANNEL_DAILY_COUNT_EXCEEDED"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthorizeSpec(Spec):
    amount: Amount = Field(description="the INR amount the card is debited (billing amount)")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        default="INR", description="the transaction currency (shown as fcyCurrency; no exchange rate is applied)"
    )
    channel: Channel = Channel.POS
    international: bool = False
    merchantName: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "SANDBOX MERCHANT"
    mcc: Annotated[str, StringConstraints(pattern=r"^\d{4}$")] = "5411"
    merchantCountry: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "IND"
    capture: bool = Field(default=True, description="false places a hold to clear, reverse or increment later")


class AmountSpec(Spec):
    amount: Amount | None = Field(default=None, description="omitted: all that the operation allows")


class ClearSpec(AmountSpec):
    final: bool = Field(default=True, description="a final clearing releases what is still held")


class IncrementSpec(Spec):
    amount: Amount
