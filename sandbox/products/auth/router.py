"""POST /oauth/token — the Spring-OAuth token endpoint (never encrypted)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from enkash_sandbox import profile as profiles
from enkash_sandbox.envelopes import json_response
from enkash_sandbox.errors import AuthError
from enkash_sandbox.products.auth.service import AuthService
from enkash_sandbox.products.deps import service
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

router = APIRouter()

Auth = Annotated[AuthService, Depends(service("auth"))]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post("/oauth/token")
async def token(request: Request, auth: Auth) -> Response:
    partner = await run_in_threadpool(auth.authenticate_client, request.headers.get("authorization"))
    # the journal attributes this call to the partner only now that its Basic credentials checked out
    request.state.journal_partner_id = partner.id
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if content_type != "application/x-www-form-urlencoded":
        raise AuthError(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    try:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        raise AuthError(400, "invalid_request", "Form body is not UTF-8") from None
    client_id = form.get("clientId")
    if client_id is not None and client_id != partner.client_id:
        raise AuthError(401, "invalid_client", "clientId does not match the Basic credentials")
    grant = form.get("grant_type")
    if grant == "password":
        missing = [k for k in ("username", "password", "clientId") if not form.get(k)]
        if missing:
            raise AuthError(400, "invalid_request", "Missing parameter(s): " + ", ".join(missing))
        result = await _threaded(request, auth.password_grant, partner, form["username"], form["password"])
    elif grant == "refresh_token":
        if not form.get("refresh_token"):
            raise AuthError(400, "invalid_request", "Missing parameter(s): refresh_token")
        result = await _threaded(request, auth.refresh_grant, partner, form["refresh_token"])
    elif not grant:
        raise AuthError(400, "invalid_request", "Missing grant type")
    else:
        raise AuthError(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")
    if profiles.resolve(auth.settings, partner.profile).token_casing == "camel":
        result = camel_token(result)
    return json_response(result, headers=NO_STORE)


def camel_token(result: dict[str, Any]) -> dict[str, Any]:
    """The V3 payout token page's keys (profile tokenCasing=camel): accessToken, tokenType, expiresIn,
    refreshToken — and no scope, which that page does not list."""
    return {
        "accessToken": result["access_token"],
        "tokenType": result["token_type"],
        "expiresIn": result["expires_in"],
        "refreshToken": result["refresh_token"],
    }


async def _threaded(request: Request, fn: Any, *args: Any) -> Any:
    return await run_in_threadpool(fn, *args)
