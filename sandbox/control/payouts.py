"""Payout controls: fund sources, the payouts switch, transfers (list, inspect, force the next state), settlement
and statements. Thin: every handler calls ops/payouts.py, the one implementation the dashboard and CLI share."""

from __future__ import annotations

from typing import Annotated, Literal

from enkash_sandbox.control.common import respond, sandbox
from enkash_sandbox.ops.payouts import AdvanceSpec, PayoutFundSpec, PayoutOps, PayoutsEnabledSpec
from fastapi import APIRouter, Query, Request, Response

router = APIRouter(tags=["payouts"])


def payout_ops(request: Request) -> PayoutOps:
    return PayoutOps(sandbox(request))


@router.get("/payouts/accounts")
def accounts(request: Request, partner: str | None = None) -> Response:
    """Every fund source (or one partner's) with its balance and the partner's payouts switch."""
    return respond(payout_ops(request).accounts(partner))


@router.post("/payouts/accounts/{fund_source_id}/fund")
def fund(fund_source_id: str, body: PayoutFundSpec, request: Request) -> Response:
    """Money arriving from the partner's whitelisted source account (409 if fromAccountNumber is not it)."""
    return respond(payout_ops(request).fund(fund_source_id, body))


@router.get("/payouts/accounts/{fund_source_id}/statement")
def statement(fund_source_id: str, request: Request, amount: Literal["rupees", "paise"] = "rupees") -> Response:
    """The fund source's ledger rows, as the vendor statement lists them."""
    return respond(payout_ops(request).statement(fund_source_id, amount))


@router.post("/partners/{partner_id}/payouts")
def set_enabled(partner_id: str, body: PayoutsEnabledSpec, request: Request) -> Response:
    """Switch a partner's payout APIs on or off (off: 403 "APIs not enabled")."""
    return respond(payout_ops(request).set_enabled(partner_id, body))


@router.get("/payouts/transfers")
def transfers(
    request: Request,
    partner: str | None = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Transfers, newest first (what is due is settled first)."""
    return respond(payout_ops(request).transfers(partner, status, limit))


@router.get("/payouts/transfers/{enkash_transaction_id}")
def transfer(enkash_transaction_id: str, request: Request) -> Response:
    """One transfer with its status timeline and ledger rows."""
    return respond(payout_ops(request).transfer(enkash_transaction_id))


@router.post("/payouts/transfers/{enkash_transaction_id}/advance")
def advance(enkash_transaction_id: str, body: AdvanceSpec, request: Request) -> Response:
    """Force the next state (only legal transitions; 409 otherwise), with its ledger rows and webhook."""
    return respond(payout_ops(request).advance(enkash_transaction_id, body))


@router.post("/payouts/settle")
def settle(request: Request) -> Response:
    """Settle everything due at the current sandbox clock."""
    return respond(payout_ops(request).settle())
