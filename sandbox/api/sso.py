"""The SSO landing pages: /sso/{token}/employee_rewards/{partner} and /sso/{token}/reward_account/{partner}."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sandbox.api.deps import core
from sandbox.control.templates import render
from sandbox.domain.portal import PortalError

router = APIRouter()


@router.get("/sso/{token}/employee_rewards/{partner}", response_class=HTMLResponse)
def employee_rewards(token: str, partner: str, request: Request):
    try:
        data = core(request).portal.employee(token)
    except PortalError as exc:
        return _error(exc, partner)
    return HTMLResponse(render("portal_employee.html", partner=partner, **data))


@router.get("/sso/{token}/reward_account/{partner}", response_class=HTMLResponse)
def reward_account(token: str, partner: str, request: Request):
    try:
        data = core(request).portal.admin(token)
    except PortalError as exc:
        return _error(exc, partner)
    return HTMLResponse(render("portal_admin.html", partner=partner, **data))


def _error(exc: PortalError, partner: str) -> HTMLResponse:
    return HTMLResponse(render("portal_error.html", message=exc.message, status=exc.status, partner=partner),
                        status_code=exc.status)
