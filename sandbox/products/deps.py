"""What vendor routes declare they need, as FastAPI dependencies: the caller, the parsed body, the services.

Routes name their needs in their signatures (`PartnerDep`, `HolderDep`, `WorkDep`, a slice's service), the way
the FastAPI project template does; this module is the one place that knows where the running sandbox keeps
them. Every dependency here is `async`: FastAPI runs plain functions in its thread pool, which would cost a
thread hop per dependency per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from enkash_sandbox import jsonio
from enkash_sandbox.config import Settings
from enkash_sandbox.envelopes import INFERRED_HEADER, Inferred, success_body
from enkash_sandbox.errors import AuthError, BadRequest, Unprocessable, UnsupportedMediaType
from enkash_sandbox.products.auth.service import Principal
from enkash_sandbox.products.validation import validation_error
from enkash_sandbox.vocabulary import EnvelopeStyle, PrincipalKind
from enkash_sandbox.work import Work
from fastapi import Depends, Request, Response
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def service(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency handing a route one part of the running sandbox (built in container.py)."""

    async def provide(request: Request) -> Any:
        return getattr(request.app.state.container, name)

    provide.__name__ = f"provide_{name}"
    return provide


WorkDep = Annotated[Work, Depends(service("work"))]
SettingsDep = Annotated[Settings, Depends(service("settings"))]


# the sandbox's own asset paths in answers (card images, T&C, catalog images): anchored on the public base URL,
# as the docs show absolute URLs (each prefix, quote included, is replaced by bytes.replace: a regex substitution
# over a whole card answer cost as much as the rest of the envelope)
_ASSET_PREFIXES = (b'"/_sandbox/static/', b'"/_sandbox/catalog/images/')


# request base URLs by (scheme, server, root path, Host header): building one through Starlette's URL parser
# was ~2 % of a card search; bounded, as the Host header is the caller's
_BASES: dict[tuple[Any, ...], str] = {}
_BASES_MAX = 256


def public_base(request: Request) -> str:
    """The base of the absolute URLs in answers: ENKASH_SANDBOX_PUBLIC_BASE_URL, else the request's own base URL."""
    configured = request.app.state.container.settings.public_base_url
    if configured:
        return str(configured).rstrip("/")
    scope = request.scope
    host = next((value for name, value in scope.get("headers", ()) if name == b"host"), None)
    server = scope.get("server")  # a (host, port) pair; some ASGI callers give a list
    key = (scope.get("scheme"), tuple(server) if server else None, scope.get("root_path", ""), scope.get("app_root_path"), host)
    base = _BASES.get(key)
    if base is None:
        if len(_BASES) >= _BASES_MAX:
            _BASES.clear()
        base = _BASES[key] = str(request.base_url).rstrip("/")
    return base


def ok(request: Request, payload: Any, style: EnvelopeStyle = EnvelopeStyle.A) -> Response:
    """EnKash's success envelope (the route's documented style, unless the tenant's profile forces one)."""
    principal = request.scope.get("state", {}).get("principal")
    forced = principal.profile if principal is not None else request.app.state.container.settings
    headers = {INFERRED_HEADER: payload.inference} if isinstance(payload, Inferred) else None
    content = jsonio.dumps(success_body(forced, payload, style))
    if b'"/_sandbox/' in content:
        # views name assets by path (they run where no request is known); the answer makes them absolute
        base = public_base(request).encode()
        for prefix in _ASSET_PREFIXES:
            content = content.replace(prefix, b'"' + base + prefix[1:])
    return Response(content=content, media_type="application/json", headers=headers)


# -- routes' declared needs, read by the gateway before routing ---------------------------------------------
@dataclass(frozen=True)
class RouteNeeds:
    """What a route declares beyond the defaults: a body limit larger than the sandbox's default, granted only
    to an authenticated partner."""

    body_limit: int | None = None


DECLARED: dict[tuple[str, str], RouteNeeds] = {}


def declare(method: str, path: str, needs: RouteNeeds) -> None:
    DECLARED[(method.upper(), path)] = needs


_NO_NEEDS = RouteNeeds()


def needs_of(method: str, path: str) -> RouteNeeds:
    return DECLARED.get((method.upper(), path), _NO_NEEDS)


# -- bodies -------------------------------------------------------------------------------------------------
def parse(model: type[M], data: Any, context: dict[str, Any] | None = None) -> M:
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise validation_error(exc) from None


async def _plain_body(request: Request) -> tuple[bytes, dict[str, Any]]:
    """The (decrypted) body and the request's state; the gateway has read and opened it already (for the fault
    rules), so its bytes are taken from there."""
    state = request.scope.get("state", {})
    raw = state.get("plain_body")
    return (raw if raw is not None else await request.body()), state


def _json_of(raw: bytes, state: dict[str, Any]) -> Any:
    """The body's JSON (None when empty): the gateway's parse when it made one, else parsed here."""
    if "parsed_body" in state:
        return state["parsed_body"]
    try:
        return jsonio.loads(raw) if raw.strip() else None
    except jsonio.JSONDecodeError:
        raise BadRequest("Malformed JSON request body") from None


def body(model: type[M], *, allow_empty: bool = False) -> Callable[[Request], Awaitable[M]]:
    """A dependency that reads the (already decrypted) JSON body into `model`."""

    async def dependency(request: Request) -> M:
        raw, state = await _plain_body(request)
        if not raw.strip():
            if allow_empty:
                return model()
            raise BadRequest("Request body is missing")
        content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if content_type and content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(f"Content-Type {content_type[:60]} is not supported; use application/json")
        data = _json_of(raw, state)
        if isinstance(data, dict) and set(data) == {"request"} and isinstance(data["request"], str):
            raise BadRequest("Encrypted body received but encryption is off for this partner; send plain JSON")
        if not isinstance(data, dict):
            raise BadRequest("Request body must be a JSON object")
        # the tenant's profile reaches the field rules that depend on it (the card id key's spelling)
        principal = state.get("principal")
        context = None
        if principal is not None:
            context = {
                "id_key_casing": principal.profile.id_key_casing,
                "numeric_strings": principal.profile.numeric_strings,
                "required_fields": principal.profile.required_fields,
            }
        return parse(model, data, context)

    dependency.__name__ = f"body_{model.__name__}"
    return dependency


def list_body(max_items: int = 10_000) -> Callable[[Request], Awaitable[list[Any]]]:
    """A dependency for endpoints whose body is a JSON array (bulk APIs); rows are validated one by one."""

    async def dependency(request: Request) -> list[Any]:
        data = _json_of(*await _plain_body(request))
        if not isinstance(data, list):
            raise BadRequest("Request body must be a JSON array")
        if len(data) > max_items:
            raise Unprocessable(f"At most {max_items} rows are accepted in one call")
        return data

    return dependency


# -- callers ------------------------------------------------------------------------------------------------
def _bearer(request: Request) -> Principal:
    """The caller the gateway resolved from the Bearer token (in a worker thread, before the body was read)."""
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    if principal is not None:
        return principal
    header = request.headers.get("authorization")
    if not header:
        raise AuthError(401, "unauthorized", "Full authentication is required to access this resource")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "unauthorized", "Full authentication is required to access this resource")
    raise AuthError(401, "invalid_token", "Invalid access token")


def _partner_token(request: Request) -> Principal:
    principal = _bearer(request)
    if principal.kind != PrincipalKind.PARTNER:
        raise AuthError(403, "access_denied", "Access is denied: this endpoint needs a partner token")
    return principal


async def partner_with_header(request: Request) -> Principal:
    """A partner token and a partnerId header that names the token's partner (the card APIs)."""
    principal = _partner_token(request)
    values = request.headers.getlist("partnerid")
    if not values:
        raise BadRequest("Mandatory header missing: partnerId", hint=f"send the header 'partnerId: {principal.partner_id}'")
    if len(set(values)) > 1:
        raise BadRequest(
            "partnerId header was sent more than once with different values",
            hint=f"send one header 'partnerId: {principal.partner_id}'",
        )
    if values[0] != principal.partner_id:
        raise AuthError(
            401,
            "invalid_token",
            "partnerId does not match the access token",
            hint=f"the partnerId header {values[0][:40]} does not match the token's partner {principal.partner_id}; "
            f"send 'partnerId: {principal.partner_id}', or get a token with the clientId and secret of {values[0][:40]}",
        )
    return principal


async def partner_token(request: Request) -> Principal:
    """A partner token; no partnerId header is documented for these APIs (coins)."""
    return _partner_token(request)


async def holder(request: Request) -> Principal:
    """A card holder's token: password grant as the user, or an SSO token."""
    principal = _bearer(request)
    if principal.kind not in (PrincipalKind.USER, PrincipalKind.SSO):
        raise AuthError(403, "access_denied", "Access is denied: this endpoint needs a card holder's token")
    return principal


async def any_caller(request: Request) -> Principal:
    return _bearer(request)


PartnerDep = Annotated[Principal, Depends(partner_with_header)]
PartnerTokenDep = Annotated[Principal, Depends(partner_token)]
HolderDep = Annotated[Principal, Depends(holder)]
CallerDep = Annotated[Principal, Depends(any_caller)]
