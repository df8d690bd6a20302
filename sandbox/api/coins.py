"""Point Management (EnKash coins): events, allocation, balance. Envelope B, Bearer auth, no partnerId header."""

from __future__ import annotations

from enkash_sandbox.api.deps import any_principal, body, core, partner, read, write
from enkash_sandbox.api.responses import B, ok
from enkash_sandbox.domain.auth import Principal
from enkash_sandbox.domain.requests import CoinAllocate, CoinConfigCreate, CoinConfigUpdate
from enkash_sandbox.errors import AuthError, BadRequest
from fastapi import APIRouter, Depends, Request

router = APIRouter()


@router.post("/api/v0/enkash-coins/create-coins-config")
async def create_event(request: Request, p: Principal = Depends(partner),
                 req: CoinConfigCreate = Depends(body(CoinConfigCreate))):
    return ok(request, await write(request, core(request).coins.create_config, p.partner_id, req), B)


@router.post("/api/v0/enkash-coins/allocate-coin")
async def allocate_coins(request: Request, p: Principal = Depends(partner), req: CoinAllocate = Depends(body(CoinAllocate))):
    return ok(request, await write(request, core(request).coins.allocate, p.partner_id, req), B)


@router.get("/api/v0/enkash-coins/{coin_config_id}")
async def get_event(coin_config_id: str, request: Request, p: Principal = Depends(partner)):
    return ok(request, await read(request, core(request).coins.get_config, p.partner_id, coin_config_id), B)


@router.patch("/api/v0/enkash-coins/{coin_config_id}")
async def update_event(coin_config_id: str, request: Request, p: Principal = Depends(partner),
                 req: CoinConfigUpdate = Depends(body(CoinConfigUpdate))):
    return ok(request, await write(request, core(request).coins.update_config, p.partner_id, coin_config_id, req), B)


@router.get("/api/v0/coins/balance")
async def coin_balance(request: Request, p: Principal = Depends(any_principal)):
    user_id = request.query_params.get("userId")
    if not user_id:
        raise BadRequest("Mandatory parameter missing: userId")
    if p.kind != "partner" and p.user_id != user_id:
        raise AuthError(403, "access_denied", "A card holder can read only their own coin balance")
    return ok(request, await read(request, core(request).coins.balance, p.partner_id, user_id), B)
