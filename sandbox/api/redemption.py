"""Redemption marketplace: cart, product configs, orders, order search and details (envelope B)."""

from __future__ import annotations

from enkash_sandbox.api.deps import any_principal, body, core, read, user, write
from enkash_sandbox.api.responses import B, json_response, ok, success_body
from enkash_sandbox.domain.auth import Principal
from enkash_sandbox.domain.requests import AddToCart, CreateOrder, OrderDetails, OrderSearch, UpdateCart
from enkash_sandbox.errors import BadRequest, Unprocessable
from fastapi import APIRouter, Depends, Request

router = APIRouter()


def _voucher_product(request: Request) -> None:
    product = request.query_params.get("product")
    if product is None:
        raise BadRequest("Mandatory parameter missing: product")
    if product != "VOUCHER":
        raise Unprocessable(f"product: must be VOUCHER (got {product})",
                            errors=[{"field": "product", "message": "must be VOUCHER"}])


@router.get("/api/v0/cart")
async def get_cart(request: Request, p: Principal = Depends(user)):
    _voucher_product(request)
    return ok(request, await read(request, core(request).redemption.get_carts, p), B)


@router.post("/api/v0/cart")
async def add_to_cart(request: Request, p: Principal = Depends(user), req: AddToCart = Depends(body(AddToCart))):
    _voucher_product(request)
    return ok(request, await write(request, core(request).redemption.add_to_cart, p, req), B)


@router.patch("/api/v0/cart")
async def update_cart(request: Request, p: Principal = Depends(user), req: UpdateCart = Depends(body(UpdateCart))):
    _voucher_product(request)
    return ok(request, await write(request, core(request).redemption.update_cart, p, req), B)


@router.get("/api/v0/partner/search-config/{product_catalog_id}")
async def product_configs(product_catalog_id: str, request: Request, p: Principal = Depends(any_principal)):
    return ok(request, core(request).redemption.product_configs(product_catalog_id), B)


@router.post("/api/v0/partner/create-order")
async def create_order(request: Request, p: Principal = Depends(user), req: CreateOrder = Depends(body(CreateOrder))):
    return ok(request, await write(request, core(request).redemption.create_order, p, req), B)


@router.post("/api/v0/partner/search-order")
async def search_order(request: Request, p: Principal = Depends(any_principal),
                 req: OrderSearch = Depends(body(OrderSearch, allow_empty=True))):
    limit, offset = _page(request)
    return ok(request, await write(request, core(request).redemption.search, p, req, limit, offset), B)


@router.post("/api/v0/order/orderDetails")
async def order_details(request: Request, p: Principal = Depends(any_principal),
                  req: OrderDetails = Depends(body(OrderDetails))):
    return ok(request, await write(request, core(request).redemption.order_details, p, req.orderId), B)


@router.get("/api/v0/partner/fetch-order-details/{order_id}")
async def fetch_order_details(order_id: str, request: Request, p: Principal = Depends(any_principal)):
    """The older GET form. Its documented response spells the payload key `paylod`; kept as documented."""
    details = await write(request, core(request).redemption.order_details, p, order_id)
    body_ = success_body(core(request).settings, details, B)
    body_["paylod"] = body_.pop("payload")
    return json_response(body_)


def _page(request: Request) -> tuple[int, int]:
    values = {}
    for name, default, low, high in (("limit", 10, 1, 1000), ("offset", 0, 0, 10**9)):
        raw = request.query_params.get(name, str(default))
        # ASCII digits only: "²".isdigit() is true but int("²") fails
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
            raise Unprocessable(f"{name}: must be a whole number between {low} and {high}",
                                errors=[{"field": name, "message": f"must be between {low} and {high}"}])
        values[name] = int(raw)
    return values["limit"], values["offset"]
