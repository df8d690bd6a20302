"""Redemption marketplace: cart, product configs, orders, order search and details (envelope B)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from enkash_sandbox.envelopes import B, json_response, success_body
from enkash_sandbox.errors import AuthError, BadRequest, BusinessFailure, FieldError
from enkash_sandbox.products.auth.service import Principal
from enkash_sandbox.products.deps import CallerDep, WorkDep, any_caller, body, ok, service
from enkash_sandbox.products.marketplace.schemas import AddToCart, CreateOrder, OrderDetails, OrderSearch, UpdateCart
from enkash_sandbox.products.marketplace.service import RedemptionService
from fastapi import APIRouter, Depends, Request, Response

router = APIRouter()

Marketplace = Annotated[RedemptionService, Depends(service("marketplace"))]


async def redeemer(request: Request) -> Principal:
    """Who may redeem, by the tenant's profile (redemptionAuth): on UAT the partner's own token, acting as its
    login user (the company admin) and that user's primary reward card; card holders' password and SSO tokens
    are the sandbox's extension. `both` (the default) takes either."""
    principal = await any_caller(request)
    mode = principal.profile.redemption_auth
    if principal.kind != "partner":
        if mode == "partner":
            raise AuthError(403, "access_denied", "Access is denied: this endpoint needs the partner token")
        return principal
    if mode == "holder":
        raise AuthError(403, "access_denied", "Access is denied: this endpoint needs a card holder's token")
    market: RedemptionService = request.app.state.container.marketplace
    user_id = await request.app.state.container.work.lookup(market.partner_login_user, principal.partner_id)
    if user_id is None:
        raise BusinessFailure("No reward card found for this user")
    # still a partner token (search-order and orderDetails show the tenant's orders), now with a user to pay as
    return dataclasses.replace(principal, user_id=user_id)


RedeemerDep = Annotated[Principal, Depends(redeemer)]


def _voucher_product(request: Request) -> None:
    product = request.query_params.get("product")
    if product is None:
        raise BadRequest("Mandatory parameter missing: product")
    if product != "VOUCHER":
        raise FieldError("product", f"must be VOUCHER (got {product[:40]})")


@router.get("/api/v0/cart")
async def get_cart(request: Request, p: RedeemerDep, work: WorkDep, market: Marketplace) -> Response:
    _voucher_product(request)
    return ok(request, await work.lookup(market.get_carts, p), B)


@router.post("/api/v0/cart")
async def add_to_cart(
    request: Request, p: RedeemerDep, work: WorkDep, market: Marketplace, req: Annotated[AddToCart, Depends(body(AddToCart))]
) -> Response:
    _voucher_product(request)
    return ok(request, await work.write(market.add_to_cart, p, req), B)


@router.patch("/api/v0/cart")
async def update_cart(
    request: Request, p: RedeemerDep, work: WorkDep, market: Marketplace, req: Annotated[UpdateCart, Depends(body(UpdateCart))]
) -> Response:
    _voucher_product(request)
    return ok(request, await work.write(market.update_cart, p, req), B)


@router.get("/api/v0/partner/search-config/{product_catalog_id}")
async def product_configs(product_catalog_id: str, request: Request, p: CallerDep, market: Marketplace) -> Response:
    return ok(request, market.product_configs(product_catalog_id), B)


@router.post("/api/v0/partner/create-order")
async def create_order(
    request: Request, p: RedeemerDep, work: WorkDep, market: Marketplace, req: Annotated[CreateOrder, Depends(body(CreateOrder))]
) -> Response:
    return ok(request, await work.write(market.create_order, p, req), B)


@router.post("/api/v0/partner/search-order")
async def search_order(
    request: Request,
    p: RedeemerDep,
    work: WorkDep,
    market: Marketplace,
    req: Annotated[OrderSearch, Depends(body(OrderSearch, allow_empty=True))],
) -> Response:
    limit, offset = _page(request)
    # a search settles the orders whose time has come first (a write), then reads
    return ok(request, await work.write(market.search, p, req, limit, offset), B)


@router.post("/api/v0/order/orderDetails")
async def order_details(
    request: Request,
    p: RedeemerDep,
    work: WorkDep,
    market: Marketplace,
    req: Annotated[OrderDetails, Depends(body(OrderDetails))],
) -> Response:
    return ok(request, await work.write(market.order_details, p, req.orderId), B)


@router.get("/api/v0/partner/fetch-order-details/{order_id}")
async def fetch_order_details(order_id: str, p: RedeemerDep, work: WorkDep, market: Marketplace) -> Response:
    """The older GET form. Its documented response spells the payload key `paylod`; kept as documented."""
    details = await work.write(market.order_details, p, order_id)
    reply = success_body(p.profile, details, B)
    reply["paylod"] = reply.pop("payload")
    return json_response(reply)


def _page(request: Request) -> tuple[int, int]:
    values = {}
    for name, default, low, high in (("limit", 10, 1, 1000), ("offset", 0, 0, 10**9)):
        raw = request.query_params.get(name, str(default))
        # ASCII digits only: "²".isdigit() is true but int("²") fails
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
            raise FieldError(name, f"must be a whole number between {low} and {high}")
        values[name] = int(raw)
    return values["limit"], values["offset"]
