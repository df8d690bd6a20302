"""Request plumbing shared by the vendor routers: body parsing and the callers' identities."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from enkash_sandbox import jsonio
from enkash_sandbox.domain.auth import Principal
from enkash_sandbox.domain.validation import validation_error
from enkash_sandbox.errors import AuthError, BadRequest, Unprocessable, VendorError
from fastapi import Request
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class UnsupportedMediaType(VendorError):
    status = 415


def core(request: Request):
    return request.app.state.core


async def read(request: Request, fn: Callable[..., T], *args) -> T:
    """Run store reads in a worker thread (never on the event loop)."""
    return await request.app.state.core.work.read(fn, *args)


async def write(request: Request, fn: Callable[..., T], *args) -> T:
    """Run a store write in the write pool (never on the event loop)."""
    return await request.app.state.core.work.write(fn, *args)


def parse(model: type[M], data) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def body(model: type[M], *, allow_empty: bool = False) -> Callable:
    """A dependency that reads the (already decrypted) JSON body into `model`."""

    async def dependency(request: Request) -> M:
        raw = await request.body()
        if not raw.strip():
            if allow_empty:
                return model()
            raise BadRequest("Request body is missing")
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if content_type and content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(f"Content-Type {content_type} is not supported; use application/json")
        try:
            data = jsonio.loads(raw)
        except jsonio.JSONDecodeError:
            raise BadRequest("Malformed JSON request body") from None
        if isinstance(data, dict) and set(data) == {"request"} and isinstance(data["request"], str):
            raise BadRequest('Encrypted body received but encryption is off for this partner; send plain JSON')
        if not isinstance(data, dict):
            raise BadRequest("Request body must be a JSON object")
        return parse(model, data)

    return dependency


def list_body(model: type[M], max_items: int = 10_000) -> Callable:
    """A dependency for endpoints whose body is a JSON array of `model` (bulk APIs)."""

    async def dependency(request: Request) -> list[dict]:
        raw = await request.body()
        try:
            data = jsonio.loads(raw) if raw.strip() else None
        except jsonio.JSONDecodeError:
            raise BadRequest("Malformed JSON request body") from None
        if not isinstance(data, list):
            raise BadRequest("Request body must be a JSON array")
        if len(data) > max_items:
            raise Unprocessable(f"At most {max_items} rows are accepted in one call")
        return data

    return dependency


def _bearer(request: Request) -> Principal:
    """The caller the gateway resolved from the Bearer token (in a worker thread, before the body was read)."""
    principal = request.scope.get("state", {}).get("principal")
    if principal is not None:
        return principal
    header = request.headers.get("authorization")
    if not header:
        raise AuthError(401, "unauthorized", "Full authentication is required to access this resource")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "unauthorized", "Full authentication is required to access this resource")
    raise AuthError(401, "invalid_token", "Invalid access token")


async def partner(request: Request) -> Principal:
    """A partner token, and on /enKashCard paths a partnerId header that names the token's partner."""
    principal = _bearer(request)
    if principal.kind != "partner":
        raise AuthError(403, "access_denied", "Access is denied: this endpoint needs a partner token")
    if "/enKashCard" in request.url.path:
        values = request.headers.getlist("partnerid")
        if not values:
            raise BadRequest("Mandatory header missing: partnerId")
        if len(set(values)) > 1:
            raise BadRequest("partnerId header was sent more than once with different values")
        if values[0] != principal.partner_id:
            raise AuthError(401, "invalid_token", "partnerId does not match the access token")
    return principal


async def user(request: Request) -> Principal:
    """A card holder's token: password grant as the user, or an SSO token."""
    principal = _bearer(request)
    if principal.kind not in ("user", "sso"):
        raise AuthError(403, "access_denied", "Access is denied: this endpoint needs a card holder's token")
    return principal


async def any_principal(request: Request) -> Principal:
    return _bearer(request)
