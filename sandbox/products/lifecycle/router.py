"""Card lifecycle endpoints under /api/v0/partner/enKashCard: OTP, PIN, block, replace, controls, VKYC."""

from __future__ import annotations

from typing import Annotated

from enkash_sandbox.envelopes import A
from enkash_sandbox.errors import BadRequest
from enkash_sandbox.products.deps import PartnerDep, WorkDep, body, ok, public_base, service
from enkash_sandbox.products.lifecycle.otp import OtpService
from enkash_sandbox.products.lifecycle.schemas import (
    BlockCard,
    OtpRequest,
    ReplaceCard,
    SetPin,
    VelocityGet,
    VelocityRule,
    WalletDetails,
)
from enkash_sandbox.products.lifecycle.service import LifecycleService
from fastapi import APIRouter, Depends, Request, Response

router = APIRouter(prefix="/api/v0/partner/enKashCard")

Otps = Annotated[OtpService, Depends(service("otp"))]
Lifecycle = Annotated[LifecycleService, Depends(service("lifecycle"))]


@router.post("/otp")
async def generate_otp(
    request: Request, p: PartnerDep, work: WorkDep, otps: Otps, req: Annotated[OtpRequest, Depends(body(OtpRequest))]
) -> Response:
    sent = await work.write(otps.send, p.partner_id, req)
    # the docs type the payload as a string (profile otpResponse=string): the id the OTP-checked calls take
    return ok(request, sent["otpRequestId"] if p.profile.otp_response == "string" else sent, A)


@router.post("/setPin")
async def set_pin(
    request: Request, p: PartnerDep, work: WorkDep, lifecycle: Lifecycle, req: Annotated[SetPin, Depends(body(SetPin))]
) -> Response:
    return ok(request, await work.write(lifecycle.set_pin, p.partner_id, req), A)


@router.post("/block")
async def block_card(
    request: Request, p: PartnerDep, work: WorkDep, lifecycle: Lifecycle, req: Annotated[BlockCard, Depends(body(BlockCard))]
) -> Response:
    return ok(request, await work.write(lifecycle.block, p.partner_id, req), A)


@router.post("/replaceCard")
async def replace_card(
    request: Request, p: PartnerDep, work: WorkDep, lifecycle: Lifecycle, req: Annotated[ReplaceCard, Depends(body(ReplaceCard))]
) -> Response:
    replaced = await work.write(lifecycle.replace, p.partner_id, req)
    # the docs' response is a plain string (profile replaceCardResponse=string): the new card's id, the one fact
    # a partner must learn from the call
    return ok(request, replaced["enKashCardId"] if p.profile.replace_card_response == "string" else replaced, A)


@router.post("/velocity/rule")
async def update_velocity(
    request: Request,
    p: PartnerDep,
    work: WorkDep,
    lifecycle: Lifecycle,
    req: Annotated[VelocityRule, Depends(body(VelocityRule))],
) -> Response:
    return ok(request, await work.write(lifecycle.set_velocity, p.partner_id, req), A)


@router.post("/wallet-details")
async def wallet_details(
    request: Request,
    p: PartnerDep,
    work: WorkDep,
    lifecycle: Lifecycle,
    req: Annotated[WalletDetails, Depends(body(WalletDetails))],
) -> Response:
    """G3's Get Wallet Details: described as the card's KYC and activation status, user details, limits and
    configuration; its answer was not captured, so the sandbox gives the card (as /search shows it) with its
    velocity rules and usage under `limits` (envelope A, like the other card reads)."""
    return ok(request, await work.read(lifecycle.wallet_details, p.partner_id, req), A)


@router.post("/velocity/rule/get")
async def get_velocity(
    request: Request, p: PartnerDep, work: WorkDep, lifecycle: Lifecycle, req: Annotated[VelocityGet, Depends(body(VelocityGet))]
) -> Response:
    return ok(request, await work.lookup(lifecycle.get_velocity, p.partner_id, req), A)


@router.get("/vkyc/link")
async def vkyc_link(request: Request, p: PartnerDep, work: WorkDep, lifecycle: Lifecycle) -> Response:
    params = request.query_params
    card_id = params.get("enKashCardId") or params.get("enkashCardId")
    if not card_id:
        raise BadRequest("Mandatory parameter missing: enKashCardId")
    base = public_base(request)
    return ok(
        request,
        await work.write(lifecycle.vkyc_link, p.partner_id, params.get("companyId"), params.get("cardAccountId"), card_id, base),
        A,
    )
