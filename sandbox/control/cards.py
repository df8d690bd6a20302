"""Control-plane views of the card lifecycle: the OTP inbox, KYC, and the VKYC page."""

from __future__ import annotations

from typing import Annotated

from enkash_sandbox.control.common import ops, sandbox
from enkash_sandbox.errors import VendorError
from enkash_sandbox.ops.actions import KycSpec
from enkash_sandbox.timefmt import java_medium
from enkash_sandbox.web.render import render
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

router = APIRouter()


@router.get("/otps", tags=["inboxes"])
def otp_inbox(
    request: Request,
    enKashCardId: str | None = None,
    mobile: str | None = None,
    partnerId: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """OTPs the sandbox "sent" by SMS, newest first (the OTP value is shown: this is a sandbox). A mobile
    number needs partnerId (or enKashCardId) beside it: tenants may share numbers."""
    return ops(request).otps(card_id=enKashCardId, mobile=mobile, partner_id=partnerId, limit=limit)


@router.put("/cards/{card_id}/kyc", tags=["cards"])
def set_kyc(card_id: str, body: KycSpec, request: Request):
    return ops(request).set_kyc(card_id, body)


@router.get("/vkyc/{token}", response_class=HTMLResponse, tags=["cards"], include_in_schema=False)
def vkyc_page(token: str, request: Request):
    return _vkyc(request, token)


@router.post("/vkyc/{token}/complete", tags=["cards"])
def vkyc_complete(token: str, request: Request):
    """Complete a VKYC session (what the holder's video call does): the card moves to VERIFIED."""
    running = sandbox(request)
    try:
        card_id = running.lifecycle.complete_vkyc(token)
    except VendorError as exc:
        if "text/html" in request.headers.get("accept", ""):
            return _vkyc(request, token, error=exc.message, status=exc.status if exc.status != 200 else 409)
        raise HTTPException(404 if exc.status == 404 else 409, exc.message) from None
    if "text/html" in request.headers.get("accept", ""):
        return _vkyc(request, token)
    return {"enKashCardId": card_id, "kycStatus": "VERIFIED"}


def _vkyc(request: Request, token: str, error: str | None = None, status: int = 200):
    running = sandbox(request)
    found = running.lifecycle.vkyc_session(token)
    if found is None:
        return HTMLResponse(render("vkyc.html", error="This VKYC link is not valid."), status_code=404)
    session, card, holder = found
    if error is None and not session.completed and session.expires_at <= running.clock.now():
        error, status = "This VKYC link has expired. Ask the partner app for a new one.", 410
    name = " ".join(p for p in (holder.first_name, holder.last_name) if p)
    return HTMLResponse(
        render("vkyc.html", session=session, card=card, holder_name=name, error=error, expires=java_medium(session.expires_at)),
        status_code=status,
    )
