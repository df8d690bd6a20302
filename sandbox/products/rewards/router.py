"""Rewards & incentives endpoints: create-and-allocate (and its alias), bulk, SSO token."""

from __future__ import annotations

from typing import Annotated, Any

from enkash_sandbox.envelopes import A
from enkash_sandbox.errors import BadRequest, FieldError
from enkash_sandbox.products.deps import PartnerDep, RouteNeeds, WorkDep, body, declare, list_body, ok, public_base, service
from enkash_sandbox.products.rewards.schemas import AllocatePoints, SsoRequest
from enkash_sandbox.products.rewards.service import RewardService
from fastapi import APIRouter, Depends, Request, Response

PREFIX = "/api/v0/partner/enKashCard"
router = APIRouter(prefix=PREFIX)

Rewards = Annotated[RewardService, Depends(service("rewards"))]
Allocation = Annotated[AllocatePoints, Depends(body(AllocatePoints))]

# 10,000 encrypted rows need more than the default 1 MiB; granted to an authenticated partner only
BULK_BODY_BYTES = 16 * 1024 * 1024
declare("POST", f"{PREFIX}/bulk-create-allocate-points-json", RouteNeeds(body_limit=BULK_BODY_BYTES))


@router.post("/create-allocate-points")
async def create_allocate_points(request: Request, p: PartnerDep, work: WorkDep, rewards: Rewards, req: Allocation) -> Response:
    return ok(request, await work.write(rewards.allocate, p.partner_id, req, p.profile), A)


@router.post("/points/allocate")
async def allocate_points_alias(request: Request, p: PartnerDep, work: WorkDep, rewards: Rewards, req: Allocation) -> Response:
    """The path the Incentive Allocation guide (doc-1039496) gives for the same operation."""
    return ok(request, await work.write(rewards.allocate, p.partner_id, req, p.profile), A)


@router.post("/bulk-create-allocate-points-json")
async def bulk_create_allocate(
    request: Request, p: PartnerDep, rewards: Rewards, rows: Annotated[list[Any], Depends(list_body())]
) -> Response:
    params = request.query_params
    missing = [k for k in ("companyId", "cardAccountId", "isPointsAllocation") if not params.get(k)]
    if missing:
        raise BadRequest("Mandatory parameter missing: " + ", ".join(missing))
    flag = params["isPointsAllocation"]
    if flag not in ("true", "false"):
        raise FieldError("isPointsAllocation", "must be true or false")
    # validated in a worker thread, then written in chunks: other requests' writes run between the chunks
    result = await rewards.bulk_async(p.partner_id, params["companyId"], params["cardAccountId"], flag == "true", rows)
    return ok(request, result, A)


@router.post("/sso-token")
async def sso_token(
    request: Request, p: PartnerDep, work: WorkDep, rewards: Rewards, req: Annotated[SsoRequest, Depends(body(SsoRequest))]
) -> Response:
    return ok(request, await work.write(rewards.sso_token, p.partner_id, req, public_base(request)), A)
