"""Card spending simulations: what a card network would do to a card (EnKash has no partner API for it)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from enkash_sandbox.control.common import ops, respond, sandbox
from enkash_sandbox.ops.actions import OpsError
from enkash_sandbox.products.spend.schemas import AmountSpec, AuthorizeSpec, ClearSpec, IncrementSpec
from enkash_sandbox.products.spend.service import MagicTimeout
from fastapi import APIRouter, Query, Request, Response

router = APIRouter(tags=["spending"])


@router.post("/cards/{card_id}/authorize")
async def authorize(card_id: str, body: AuthorizeSpec, request: Request) -> Response:
    """A purchase on the card: approved (a SALE, or a hold with `capture: false`) or declined with every
    reason that applies. Checks, in order: card state, KYC, channel switches, per-transaction / daily /
    monthly / yearly limits and counts (IST windows on the sandbox clock), per-channel daily limits, balance."""
    try:
        # a short prebuilt-SQL write: on SQLite it runs on the loop when the store is free (work.py)
        return respond(await sandbox(request).work.write_now(ops(request).authorize, card_id, body))
    except MagicTimeout:
        # the network never answers (magic merchant SBX-TIMEOUT): nothing was recorded; waiting here on the
        # event loop holds no thread and no lock, so other callers are not affected
        await asyncio.sleep(sandbox(request).settings.fault_timeout_seconds)
        raise OpsError(504, "the card network did not answer (magic merchant SBX-TIMEOUT); nothing was recorded") from None


@router.get("/cards/{card_id}/authorizations")
def card_authorizations(card_id: str, request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
    """The card's authorizations (newest first) and its spending in the current IST day, month and year."""
    return respond(ops(request).card_authorizations(card_id, limit))


@router.get("/transactions/{txn_id}")
def authorization(txn_id: str, request: Request) -> Response:
    return respond(ops(request).authorization(txn_id))


@router.post("/transactions/{txn_id}/clear")
def clear(txn_id: str, request: Request, body: ClearSpec | None = None) -> Response:
    """Capture a hold, fully (no amount) or partly; a final clearing (the default) releases the rest."""
    return respond(ops(request).clear(txn_id, body or ClearSpec()))


@router.post("/transactions/{txn_id}/reverse")
def reverse(txn_id: str, request: Request, body: AmountSpec | None = None) -> Response:
    """Release a hold, fully (no amount) or partly, back to the card."""
    return respond(ops(request).reverse(txn_id, body or AmountSpec()))


@router.post("/transactions/{txn_id}/refund")
def refund(txn_id: str, request: Request, body: AmountSpec | None = None) -> Response:
    """Money back from the merchant after clearing: at most what was cleared, over one or more refunds."""
    return respond(ops(request).refund(txn_id, body or AmountSpec()))


@router.post("/transactions/{txn_id}/increment")
def increment(txn_id: str, body: IncrementSpec, request: Request) -> Response:
    """Raise an open hold by an amount."""
    return respond(ops(request).increment(txn_id, body))
