"""create_app(settings): the ASGI app — vendor routers, the /_sandbox control plane, and the middleware."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from enkash_sandbox import __version__
from enkash_sandbox.api import card_controls, cards, coins, contract, oauth, redemption, rewards, sso
from enkash_sandbox.api.responses import failure_body, json_response
from enkash_sandbox.config import Settings
from enkash_sandbox.control.router import build_control_app
from enkash_sandbox.core import Sandbox
from enkash_sandbox.domain.validation import validation_error
from enkash_sandbox.errors import AuthError, VendorError
from enkash_sandbox.middleware.bodies import BodyGuardMiddleware
from enkash_sandbox.middleware.gateway import GatewayMiddleware
from enkash_sandbox.middleware.hosts import HostCheckMiddleware, allowed_hosts
from enkash_sandbox.timefmt import iso_utc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("enkash_sandbox")
STATIC = Path(__file__).resolve().parent / "static"
# Swagger UI and ReDoc bundles, shipped inside the fastapi-offline wheel: the docs pages load nothing from a CDN
DOCS_ASSETS = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"


def create_app(settings: Settings | None = None, core: Sandbox | None = None) -> FastAPI:
    core = core or Sandbox(settings)
    core.start()
    app = FastAPI(title="EnKash Sandbox", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.core = core

    app.include_router(oauth.router)
    app.include_router(cards.router)
    app.include_router(card_controls.router)
    app.include_router(rewards.router)
    app.include_router(coins.router)
    app.include_router(redemption.router)
    app.include_router(sso.router)
    app.include_router(contract.router)

    control = build_control_app(core)
    control.mount("/static", StaticFiles(directory=STATIC), name="static")
    control.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.mount("/_sandbox", control)

    _install_error_handlers(app)
    app.add_middleware(GatewayMiddleware, core=core)
    app.add_middleware(BodyGuardMiddleware, limit=core.settings.max_body_bytes,
                       timeout=core.settings.body_timeout_seconds)
    app.add_middleware(HostCheckMiddleware, allowed=allowed_hosts(core.settings))
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn --reload / --workers: every process builds the app from ENKASH_SANDBOX_*."""
    return create_app(Settings())


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VendorError)
    async def vendor_error(request: Request, exc: VendorError):
        return json_response(failure_body(request.app.state.core.settings, exc.message, exc.errors), exc.status)

    @app.exception_handler(AuthError)
    async def auth_error(_request: Request, exc: AuthError):
        headers = {"WWW-Authenticate": f'Bearer error="{exc.error}"'} if exc.status == 401 else None
        return json_response({"error": exc.error, "error_description": exc.description}, exc.status, headers)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError):
        err = validation_error(ValidationError.from_exception_data("request", list(exc.errors())))
        return json_response(failure_body(request.app.state.core.settings, err.message, err.errors), err.status)

    @app.exception_handler(StarletteHTTPException)
    async def spring_http_error(request: Request, exc: StarletteHTTPException):
        # Spring Boot's default error body, which is what EnKash answers for unknown paths and methods
        phrase = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "Error")
        body = {"timestamp": iso_utc(request.app.state.core.clock.now()), "status": exc.status_code,
                "error": phrase, "path": request.url.path}
        return json_response(body, exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response(failure_body(request.app.state.core.settings, "Internal Server Error"), 500)
