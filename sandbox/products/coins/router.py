"""Point Management (EnKash coins): events, allocation, balance. Envelope B, Bearer auth, no partnerId header."""

from __future__ import annotations

from typing import Annotated

from enkash_sandbox.envelopes import B
from enkash_sandbox.errors import AuthError, BadRequest
from enkash_sandbox.products.coins.schemas import CoinAllocate, CoinConfigCreate, CoinConfigUpdate
from enkash_sandbox.products.coins.service import CoinService
from enkash_sandbox.products.deps import CallerDep, PartnerTokenDep, WorkDep, body, ok, service
from enkash_sandbox.vocabulary import PrincipalKind
from fastapi import APIRouter, Depends, Request, Response

router = APIRouter()

Coins = Annotated[CoinService, Depends(service("coins"))]


@router.post("/api/v0/enkash-coins/create-coins-config")
async def create_event(
    request: Request,
    p: PartnerTokenDep,
    work: WorkDep,
    coins: Coins,
    req: Annotated[CoinConfigCreate, Depends(body(CoinConfigCreate))],
) -> Response:
    return ok(request, await work.write(coins.create_config, p.partner_id, req), B)


@router.post("/api/v0/enkash-coins/allocate-coin")
async def allocate_coins(
    request: Request, p: PartnerTokenDep, work: WorkDep, coins: Coins, req: Annotated[CoinAllocate, Depends(body(CoinAllocate))]
) -> Response:
    return ok(request, await work.write(coins.allocate, p.partner_id, req), B)


@router.get("/api/v0/enkash-coins/{coin_config_id}")
async def get_event(coin_config_id: str, request: Request, p: PartnerTokenDep, work: WorkDep, coins: Coins) -> Response:
    return ok(request, await work.lookup(coins.get_config, p.partner_id, coin_config_id), B)


@router.patch("/api/v0/enkash-coins/{coin_config_id}")
async def update_event(
    coin_config_id: str,
    request: Request,
    p: PartnerTokenDep,
    work: WorkDep,
    coins: Coins,
    req: Annotated[CoinConfigUpdate, Depends(body(CoinConfigUpdate))],
) -> Response:
    return ok(request, await work.write(coins.update_config, p.partner_id, coin_config_id, req), B)


@router.get("/api/v0/coins/balance")
async def coin_balance(request: Request, p: CallerDep, work: WorkDep, coins: Coins) -> Response:
    user_id = request.query_params.get("userId")
    if not user_id:
        raise BadRequest("Mandatory parameter missing: userId")
    if p.kind != PrincipalKind.PARTNER and p.user_id != user_id:
        raise AuthError(403, "access_denied", "A card holder can read only their own coin balance")
    return ok(request, await work.lookup(coins.balance, p.partner_id, user_id), B)
