"""The SSO landing pages: /sso/{token}/employee_rewards/{partner} and /sso/{token}/reward_account/{partner}."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs, urlencode

from enkash_sandbox.errors import Unprocessable, VendorError
from enkash_sandbox.products.deps import parse, service
from enkash_sandbox.products.marketplace.schemas import AddToCart
from enkash_sandbox.products.marketplace.service import RedemptionService
from enkash_sandbox.products.rewards.portal import PortalError, PortalService
from enkash_sandbox.web.render import render
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

router = APIRouter()

Portal = Annotated[PortalService, Depends(service("portal"))]
Marketplace = Annotated[RedemptionService, Depends(service("marketplace"))]


@router.get("/sso/{token}/employee_rewards/{partner}", response_class=HTMLResponse)
def employee_rewards(
    token: str, partner: str, request: Request, portal: Portal, notice: str | None = None, error: str | None = None
) -> Response:
    try:
        data = portal.employee(token)
    except PortalError as exc:
        return _error(request, exc, partner)
    request.state.journal_partner_id = data["partner_id"]
    return HTMLResponse(
        render(
            "portal_employee.html",
            partner=partner,
            notice=notice,
            error=error,
            base=f"/sso/{token}/employee_rewards/{partner}",
            **data,
        )
    )


@router.post("/sso/{token}/employee_rewards/{partner}/cart")
async def portal_add_to_cart(token: str, partner: str, request: Request, portal: Portal, market: Marketplace) -> Response:
    form = _form(await request.body())
    return await run_in_threadpool(_portal_action, request, portal, market, token, partner, "add", form)


@router.post("/sso/{token}/employee_rewards/{partner}/checkout")
async def portal_checkout(token: str, partner: str, request: Request, portal: Portal, market: Marketplace) -> Response:
    return await run_in_threadpool(_portal_action, request, portal, market, token, partner, "checkout", {})


def _portal_action(
    request: Request,
    portal: PortalService,
    market: RedemptionService,
    token: str,
    partner: str,
    action: str,
    form: dict[str, str],
) -> Response:
    """The page's forms call the same domain operations as the Cart and Create Order APIs."""
    back = f"/sso/{token}/employee_rewards/{partner}"
    try:
        principal = portal.principal(token)
    except PortalError as exc:
        return _error(request, exc, partner)
    request.state.journal_partner_id = principal.partner_id
    try:
        if action == "add":
            quantity = form.get("quantity", "1")
            if not quantity.isdigit():
                raise Unprocessable("quantity: must be a whole number")
            req = parse(
                AddToCart,
                {
                    "productCatalogId": form.get("productCatalogId"),
                    "items": {form.get("productConfigId", ""): {"quantity": int(quantity)}},
                },
            )
            market.add_to_cart(principal, req)
            message = "Added to your cart."
        else:
            orders = market.checkout(principal)
            message = f"Ordered {len(orders)} item(s). Your vouchers are below."
        query = urlencode({"notice": message})
    except VendorError as exc:
        query = urlencode({"error": exc.message})
    return RedirectResponse(f"{back}?{query}", status_code=303)


def _form(raw: bytes) -> dict[str, str]:
    try:
        return {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
    except UnicodeDecodeError:
        return {}


@router.get("/sso/{token}/reward_account/{partner}", response_class=HTMLResponse)
def reward_account(token: str, partner: str, request: Request, portal: Portal) -> Response:
    try:
        data = portal.admin(token)
    except PortalError as exc:
        return _error(request, exc, partner)
    request.state.journal_partner_id = data["partner_id"]
    # the account's primary (HR admin) card sees the company's account; any other holder their own
    template = "portal_admin.html" if data["view"] == "admin" else "portal_account_holder.html"
    return HTMLResponse(render(template, partner=partner, **data))


def _error(request: Request, exc: PortalError, partner: str) -> HTMLResponse:
    # the page says why; X-Sandbox-Explain says it too, for a client that does not render HTML
    request.state.explain = exc.message
    return HTMLResponse(
        render("portal_error.html", message=exc.message, status=exc.status, partner=partner), status_code=exc.status
    )
