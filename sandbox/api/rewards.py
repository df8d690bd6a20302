"""Rewards & incentives endpoints: create-and-allocate (and its alias), bulk, SSO token."""

from __future__ import annotations

from enkash_sandbox.api.deps import body, core, list_body, partner, write
from enkash_sandbox.api.responses import A, ok
from enkash_sandbox.domain.auth import Principal
from enkash_sandbox.domain.requests import AllocatePoints, SsoRequest
from enkash_sandbox.errors import BadRequest, Unprocessable
from fastapi import APIRouter, Depends, Request

router = APIRouter(prefix="/api/v0/partner/enKashCard")


async def _allocate(request: Request, p: Principal, req: AllocatePoints):
    return ok(request, await write(request, core(request).rewards.allocate, p.partner_id, req), A)


@router.post("/create-allocate-points")
async def create_allocate_points(request: Request, p: Principal = Depends(partner),
                           req: AllocatePoints = Depends(body(AllocatePoints))):
    return await _allocate(request, p, req)


@router.post("/points/allocate")
async def allocate_points_alias(request: Request, p: Principal = Depends(partner),
                          req: AllocatePoints = Depends(body(AllocatePoints))):
    """The path the Incentive Allocation guide (doc-1039496) gives for the same operation."""
    return await _allocate(request, p, req)


@router.post("/bulk-create-allocate-points-json")
async def bulk_create_allocate(request: Request, p: Principal = Depends(partner), rows: list = Depends(list_body(dict))):
    params = request.query_params
    missing = [k for k in ("companyId", "cardAccountId", "isPointsAllocation") if not params.get(k)]
    if missing:
        raise BadRequest("Mandatory parameter missing: " + ", ".join(missing))
    flag = params["isPointsAllocation"]
    if flag not in ("true", "false"):
        raise Unprocessable("isPointsAllocation: must be true or false",
                            errors=[{"field": "isPointsAllocation", "message": "must be true or false"}])
    # validated in a worker thread, then written in chunks: other requests' writes run between the chunks
    result = await core(request).rewards.bulk_async(p.partner_id, params["companyId"], params["cardAccountId"],
                                                    flag == "true", rows)
    return ok(request, result, A)


@router.post("/sso-token")
async def sso_token(request: Request, p: Principal = Depends(partner), req: SsoRequest = Depends(body(SsoRequest))):
    return ok(request, await write(request, core(request).rewards.sso_token, p.partner_id, req,
                                   str(request.base_url).rstrip("/")), A)
