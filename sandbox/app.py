"""create_app(): the ASGI app — the vendor routers of every product slice, the /_sandbox control plane, the
middleware, and the one set of error handlers."""

from __future__ import annotations

import gc
import importlib.util
import logging
from pathlib import Path
from typing import Any

from enkash_sandbox import __version__
from enkash_sandbox.config import Settings
from enkash_sandbox.container import Container, build
from enkash_sandbox.contract import router as contract_router
from enkash_sandbox.control.router import build_control_app
from enkash_sandbox.envelopes import Styled, failure_body, json_response
from enkash_sandbox.errors import AuthError, VendorError
from enkash_sandbox.http.bodies import BodyGuardMiddleware
from enkash_sandbox.http.dispatch import VendorDispatch
from enkash_sandbox.http.gateway import VENDOR_PREFIXES, GatewayMiddleware
from enkash_sandbox.http.hosts import HostCheckMiddleware, allowed_hosts
from enkash_sandbox.http.quiet import quiet_fastapi
from enkash_sandbox.http.serving import redact_access_log
from enkash_sandbox.products.auth import router as auth_router
from enkash_sandbox.products.cards import router as cards_router
from enkash_sandbox.products.coins import router as coins_router
from enkash_sandbox.products.lifecycle import router as lifecycle_router
from enkash_sandbox.products.marketplace import router as marketplace_router
from enkash_sandbox.products.payouts import router as payouts_router
from enkash_sandbox.products.payouts.errors import PayoutError
from enkash_sandbox.products.rewards import pages as sso_pages
from enkash_sandbox.products.rewards import router as rewards_router
from enkash_sandbox.products.validation import validation_error
from enkash_sandbox.products.webhooks import router as webhooks_router
from enkash_sandbox.timefmt import iso_utc
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("enkash_sandbox")
STATIC = Path(__file__).resolve().parent / "web" / "static"


def docs_assets() -> Path:
    """Swagger UI and ReDoc bundles, shipped inside the fastapi-offline wheel: the docs load nothing from a CDN."""
    spec = importlib.util.find_spec("fastapi_offline")
    assert spec is not None and spec.origin is not None, "fastapi-offline is a dependency"
    return Path(spec.origin).parent / "static"


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    container = container or build(settings)
    container.start()
    redact_access_log()
    app = FastAPI(title="EnKash Sandbox", version=__version__, docs_url=None, redoc_url=None, openapi_url=None, **quiet_fastapi())
    app.state.container = container

    for router in (
        auth_router.router,
        cards_router.router,
        lifecycle_router.router,
        rewards_router.router,
        coins_router.router,
        marketplace_router.router,
        webhooks_router.router,
        payouts_router.router,
        sso_pages.router,
        contract_router.router,
    ):
        app.include_router(router)

    # the webhook deliverer runs in every worker process that serves (each builds its own app), and stops with it
    app.router.add_event_handler("startup", container.deliverer.start)
    app.router.add_event_handler("shutdown", container.deliverer.stop)
    # the payout settlement sweep, likewise in every serving worker process
    app.router.add_event_handler("startup", container.payout_sweeper.start)
    app.router.add_event_handler("shutdown", container.payout_sweeper.stop)
    # last: what start-up built lives as long as the process
    app.router.add_event_handler("startup", _freeze_start_up_objects)

    control = build_control_app(container)
    control.mount("/static", StaticFiles(directory=STATIC), name="static")
    control.mount("/docs-assets", StaticFiles(directory=docs_assets()), name="docs-assets")
    app.mount("/_sandbox", control)

    handlers = _install_error_handlers(app, container)
    # innermost: vendor routes dispatched in a straight line (http/dispatch.py), everything else to FastAPI
    app.add_middleware(VendorDispatch, fastapi=app, prefixes=VENDOR_PREFIXES, handlers=handlers)
    app.add_middleware(GatewayMiddleware, container=container)
    app.add_middleware(
        BodyGuardMiddleware, limit=container.settings.max_body_bytes, timeout=container.settings.body_timeout_seconds
    )
    app.add_middleware(HostCheckMiddleware, allowed=allowed_hosts(container.settings))
    return app


def _freeze_start_up_objects() -> None:
    """Leave what start-up built (modules, routes, models, validators: ~150,000 objects) out of the garbage
    collector's full collections. Each full collection walked them all: measured 140-220 ms on this project's
    machine, a pause every few seconds under load, which was the p99 of every write benchmark. No collection
    first: at this point it freed nothing and cost 126 ms before the first answer.

    Full collections are then made ten times rarer (after 100 collections of the middle generation instead of
    10). What a running sandbox keeps (journal, caches: ~20,000 objects) took 13-20 ms to walk, every 2 s under
    load, and each walk held up every request in flight. The request path's garbage is freed by reference
    counting; the few cycles it makes are caught young (measured: 0-281 objects found per full collection)."""
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
    gc.enable()  # `serve` turns collection off while it starts


# middle-generation collections between two full collections (CPython's default: 10)
FULL_COLLECTION_EVERY = 100


def app_from_env() -> FastAPI:
    """Factory for uvicorn --reload / --workers: every process builds the app from ENKASH_SANDBOX_*."""
    return create_app(Settings())


def _explain(request: Request, hint: str | None) -> None:
    """Hand the raise site's hint to the gateway, which puts it in X-Sandbox-Explain (http/explain.py)."""
    if hint is not None:
        request.scope.setdefault("state", {})["explain"] = hint


def _install_error_handlers(app: FastAPI, container: Container) -> dict[type[Exception], Any]:
    settings = container.settings

    def style(request: Request) -> Styled:
        # the caller's profile names the envelope style; before a token is known, the settings' default
        principal = request.scope.get("state", {}).get("principal")
        return principal.profile if principal is not None else settings

    @app.exception_handler(VendorError)
    async def vendor_error(request: Request, exc: VendorError) -> Response:
        _explain(request, exc.hint)
        return json_response(failure_body(style(request), exc.message, exc.errors), exc.status, exc.headers)

    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> Response:
        _explain(request, exc.hint)
        headers = {"WWW-Authenticate": f'Bearer error="{exc.error}"'} if exc.status == 401 else None
        return json_response({"error": exc.error, "error_description": exc.description}, exc.status, headers)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> Response:
        err = validation_error(ValidationError.from_exception_data("request", list(exc.errors())))
        return json_response(failure_body(style(request), err.message, err.errors), err.status)

    @app.exception_handler(StarletteHTTPException)
    async def spring_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Spring Boot's default error body, which is what EnKash answers for unknown paths and methods
        phrase = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        body = {"timestamp": iso_utc(container.clock.now()), "status": exc.status_code, "error": phrase, "path": request.url.path}
        return json_response(body, exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response(failure_body(style(request), "Internal Server Error"), 500)

    # the payout APIs' documented failures: {"response_code": <HTTP status>, "response_message": ...}
    app.add_exception_handler(PayoutError, payouts_router.payout_error)  # type: ignore[arg-type]
    return {
        PayoutError: payouts_router.payout_error,
        VendorError: vendor_error,
        AuthError: auth_error,
        RequestValidationError: request_validation,
        StarletteHTTPException: spring_http_error,
        Exception: unexpected,
    }
