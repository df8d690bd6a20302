"""Control-plane views of the marketplace: the catalog, its images, and settling pending orders."""

from __future__ import annotations

from enkash_sandbox.control.common import ops, respond, sandbox
from enkash_sandbox.ops.actions import SettleSpec
from fastapi import APIRouter, HTTPException, Request, Response

router = APIRouter()


@router.get("/catalog", tags=["marketplace"])
def catalog(request: Request):
    """The voucher catalog (ids, brands, denominations): the docs do not show EnKash's Search Catalog path."""
    return respond(sandbox(request).catalog.summary())


@router.get("/catalog/images/{product_catalog_id}/{kind}.svg", tags=["marketplace"], include_in_schema=False)
def catalog_image(product_catalog_id: str, kind: str, request: Request):
    product = sandbox(request).catalog.get(product_catalog_id)
    if product is None or kind not in ("BRAND_IMAGE", "LOGO_IMAGE", "LOGO_IMAGE_SMALL"):
        raise HTTPException(404, "no such image")
    return Response(product.logo_svg(kind), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


@router.post("/orders/settle", tags=["marketplace"])
def settle_due(request: Request):
    """Settle every pending order whose time has come by the sandbox clock."""
    return ops(request).settle_due()


@router.post("/orders/{order_id}/settle", tags=["marketplace"])
def settle_one(order_id: str, body: SettleSpec, request: Request):
    """Force a pending order to SUCCESS or FAILED now (a failed order refunds through the ledger)."""
    return ops(request).settle(order_id, body)
