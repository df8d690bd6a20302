"""The payout control actions: fund a fund source, switch a partner's payouts on or off, list and inspect
transfers, force a transfer's next state, settle what is due, read a fund source's statement.

The JSON control plane (`/_sandbox/payouts…`, `/_sandbox/partners/{id}/payouts`), the dashboard and the CLI call
these with the same specs (`PayoutOps(container)`), so what one surface accepts the others accept too.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol

from enkash_sandbox.ledger.payouts import PayoutLimit
from enkash_sandbox.money import MAX_AMOUNT
from enkash_sandbox.ops.actions import OpsError, Spec
from enkash_sandbox.products.payouts.service import STATUSES
from pydantic import Field, StringConstraints

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.products.payouts.service import PayoutService
    from enkash_sandbox.store.control import ControlStore


class Sandbox(Protocol):
    """What the payout controls use of the running sandbox (the container has it)."""

    payouts: PayoutService
    control: ControlStore
    clock: Clock


ReasonCode = Annotated[str, StringConstraints(pattern=r"^[A-Z_]{3,40}$")]
# the shape of every id the payout controls take (fund sources, transfers, partners): anything else names nothing
_ID = re.compile(r"^[A-Za-z0-9]{1,40}$")


def _known(value: str | None, what: str) -> str | None:
    if value is not None and not _ID.match(value):
        raise OpsError(404, f"unknown {what} {value[:40]!r}")
    return value


class PayoutFundSpec(Spec):
    """Money arriving in a fund source (a PAYOUT_FUND_IN ledger row), as if sent from the partner's whitelisted
    source bank account."""

    amount: Decimal = Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)
    fromAccountNumber: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{9,36}$")


class PayoutsEnabledSpec(Spec):
    enabled: bool


class AdvanceSpec(Spec):
    """Force a transfer's next state: PENDING -> PROCESSING, PROCESSING -> SUCCESS | FAILED, SUCCESS -> REVERSED."""

    to: Literal["PROCESSING", "SUCCESS", "FAILED", "REVERSED"]
    reasonCode: ReasonCode | None = None


class PayoutOps:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._payouts = sandbox.payouts

    def accounts(self, partner_id: str | None = None) -> list[dict[str, Any]]:
        _known(partner_id, "partner")
        self._settle()
        return self._payouts.accounts(partner_id)

    def fund(self, fund_source_id: str, spec: PayoutFundSpec) -> dict[str, Any]:
        _known(fund_source_id, "fund source")
        try:
            result = self._payouts.fund(fund_source_id, spec.amount, spec.fromAccountNumber)
        except ValueError as exc:
            raise OpsError(409, str(exc)) from None
        except PayoutLimit:
            raise OpsError(422, "the fund source's balance would exceed the sandbox's limit") from None
        if result is None:
            raise OpsError(404, f"unknown fund source {fund_source_id}")
        return result

    def set_enabled(self, partner_id: str, spec: PayoutsEnabledSpec) -> dict[str, Any]:
        _known(partner_id, "partner")
        if not self._payouts.set_enabled(partner_id, spec.enabled):
            raise OpsError(404, f"unknown partner {partner_id}")
        return {"partnerId": partner_id, "payoutsEnabled": spec.enabled}

    def transfers(self, partner_id: str | None = None, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        if status is not None and status not in STATUSES:
            raise OpsError(422, f"status must be one of {', '.join(STATUSES)}")
        if not 1 <= limit <= 1000:
            raise OpsError(422, "limit must be 1-1000")
        _known(partner_id, "partner")
        self._settle()
        return self._payouts.transfers(partner_id, status, limit)

    def transfer(self, enkash_transaction_id: str) -> dict[str, Any]:
        _known(enkash_transaction_id, "transfer")
        self._settle()
        found = self._payouts.detail(enkash_transaction_id)
        if found is None:
            raise OpsError(404, f"unknown transfer {enkash_transaction_id}")
        return found

    def advance(self, enkash_transaction_id: str, spec: AdvanceSpec) -> dict[str, Any]:
        _known(enkash_transaction_id, "transfer")
        # what was already due happens first: forcing SUCCESS on a transfer whose failure was due is a conflict
        self._settle()
        try:
            found = self._payouts.advance(enkash_transaction_id, spec.to, spec.reasonCode)
        except ValueError as exc:
            raise OpsError(409, str(exc)) from None
        if found is None:
            raise OpsError(404, f"unknown transfer {enkash_transaction_id}")
        return found

    def settle(self) -> dict[str, Any]:
        """Settle everything due at the current sandbox clock; how many steps this call took."""
        return {"settled": self._settle(), "clock": self.sandbox.clock.state()}

    def statement(self, fund_source_id: str, amount: Literal["rupees", "paise"] = "rupees") -> dict[str, Any]:
        _known(fund_source_id, "fund source")
        self._settle()
        rows = self._payouts.control_statement(fund_source_id, amount)
        if rows is None:
            raise OpsError(404, f"unknown fund source {fund_source_id}")
        return {"fundSourceId": fund_source_id, "data": rows}

    def _settle(self) -> int:
        # the clock may have been moved by another worker: adopt the store's control state first
        self.sandbox.control.refresh()
        return int(self._payouts.settle_due())
