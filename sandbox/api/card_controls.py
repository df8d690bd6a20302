"""Card lifecycle endpoints under /api/v0/partner/enKashCard: OTP, PIN, block, replace, controls, VKYC."""

from __future__ import annotations

from enkash_sandbox.api.deps import body, core, partner, read, write
from enkash_sandbox.api.responses import A, ok
from enkash_sandbox.domain.auth import Principal
from enkash_sandbox.domain.requests import BlockCard, OtpRequest, ReplaceCard, SetPin, VelocityGet, VelocityRule
from enkash_sandbox.errors import BadRequest
from fastapi import APIRouter, Depends, Request

router = APIRouter(prefix="/api/v0/partner/enKashCard")


@router.post("/otp")
async def generate_otp(request: Request, p: Principal = Depends(partner), req: OtpRequest = Depends(body(OtpRequest))):
    return ok(request, await write(request, core(request).otp.send, p.partner_id, req), A)


@router.post("/setPin")
async def set_pin(request: Request, p: Principal = Depends(partner), req: SetPin = Depends(body(SetPin))):
    return ok(request, await write(request, core(request).lifecycle.set_pin, p.partner_id, req), A)


@router.post("/block")
async def block_card(request: Request, p: Principal = Depends(partner), req: BlockCard = Depends(body(BlockCard))):
    return ok(request, await write(request, core(request).lifecycle.block, p.partner_id, req), A)


@router.post("/replaceCard")
async def replace_card(request: Request, p: Principal = Depends(partner), req: ReplaceCard = Depends(body(ReplaceCard))):
    return ok(request, await write(request, core(request).lifecycle.replace, p.partner_id, req), A)


@router.post("/velocity/rule")
async def update_velocity(request: Request, p: Principal = Depends(partner),
                    req: VelocityRule = Depends(body(VelocityRule))):
    return ok(request, await write(request, core(request).lifecycle.set_velocity, p.partner_id, req), A)


@router.post("/velocity/rule/get")
async def get_velocity(request: Request, p: Principal = Depends(partner), req: VelocityGet = Depends(body(VelocityGet))):
    return ok(request, await read(request, core(request).lifecycle.get_velocity, p.partner_id, req), A)


@router.get("/vkyc/link")
async def vkyc_link(request: Request, p: Principal = Depends(partner)):
    params = request.query_params
    card_id = params.get("enKashCardId") or params.get("enkashCardId")
    if not card_id:
        raise BadRequest("Mandatory parameter missing: enKashCardId")
    base = str(request.base_url).rstrip("/")
    return ok(request, await write(request, core(request).lifecycle.vkyc_link, p.partner_id, params.get("companyId"),
                                   params.get("cardAccountId"), card_id, base), A)
