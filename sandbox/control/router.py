"""The control plane app, mounted at /_sandbox (its own OpenAPI document at /_sandbox/openapi.json).

Handlers are thin: read the spec, call `ops` (the one implementation the dashboard and CLI share), answer
with exact JSON (money stays Decimal text, never a float)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from enkash_sandbox import __version__
from enkash_sandbox.control import cards as card_controls
from enkash_sandbox.control import faults, marketplace, payouts, spend, state, ui, webhooks
from enkash_sandbox.control.common import ops, respond, sandbox
from enkash_sandbox.control.security import AdminTokenMiddleware
from enkash_sandbox.http.quiet import quiet_fastapi
from enkash_sandbox.ops.actions import (
    ClockSpec,
    EncryptionSpec,
    FundSpec,
    LoginUnlockSpec,
    OpsError,
    ProfileSpec,
    ProvisionSpec,
    UnlockSpec,
    validation_message,
)
from fastapi import FastAPI, HTTPException, Request

if TYPE_CHECKING:
    from enkash_sandbox.container import Container
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse


def build_control_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="EnKash Sandbox control plane",
        version=__version__,
        description="Everything a test or a tester needs that EnKash does not have: tenants, funding, "
        "clock, reset, faults, journal. Not part of EnKash's API.",
        docs_url=None,
        redoc_url=None,
        **quiet_fastapi(),
    )

    @app.get("/docs", include_in_schema=False)
    def control_docs():
        return get_swagger_ui_html(
            openapi_url="/_sandbox/openapi.json",
            title="EnKash Sandbox control plane",
            swagger_js_url="/_sandbox/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/_sandbox/docs-assets/swagger-ui.css",
            swagger_favicon_url="/_sandbox/docs-assets/favicon.png",
        )

    app.state.container = container
    app.include_router(card_controls.router)
    app.include_router(marketplace.router)
    app.include_router(spend.router)
    app.include_router(payouts.router)
    app.include_router(state.router)
    app.include_router(faults.router)
    app.include_router(ui.router)
    app.include_router(webhooks.router)
    app.include_router(webhooks.ui_router)

    @app.get("/health", tags=["health"])
    def health(request: Request):
        """Readiness: answers from a worker thread without touching the write path."""
        running = sandbox(request)
        running.db.ping()
        # seed: the one ids follow now; resetSeed: the one a plain reset returns to (they differ after
        # `reset --seed N` without --keep-seed)
        # pid: the process that answered (one of several under `serve --workers N`: a caller waiting for every
        # worker to be up, like bench/run.py, counts the distinct pids)
        return {
            "status": "UP",
            "version": __version__,
            "seed": running.db.seed,
            "resetSeed": running.home_seed(),
            "pid": os.getpid(),
        }

    @app.post("/partners", status_code=201, tags=["tenants"])
    def provision_partner(request: Request, body: ProvisionSpec | None = None):
        return respond(ops(request).provision(body or ProvisionSpec()), 201)

    @app.get("/partners", tags=["tenants"])
    def list_partners(request: Request):
        return [
            {
                "partnerId": p.id,
                "name": p.name,
                "clientId": p.client_id,
                "username": p.username,
                "encryption": p.encryption,
                "locked": p.locked,
            }
            for p in sandbox(request).tenants.list_partners()
        ]

    @app.get("/demo", tags=["tenants"])
    def demo_credentials(request: Request):
        creds = sandbox(request).demo_credentials()
        if creds is None:
            raise HTTPException(404, "the demo tenant is not seeded")
        return creds

    @app.put("/partners/{partner_id}/encryption", tags=["tenants"])
    def set_encryption(partner_id: str, body: EncryptionSpec, request: Request):
        return ops(request).set_encryption(partner_id, body)

    @app.get("/partners/{partner_id}/profile", tags=["tenants"])
    def get_profile(partner_id: str, request: Request):
        """The tenant's fidelity profile (every key's effective value) and the keys it chose itself."""
        return ops(request).profile(partner_id)

    @app.patch("/partners/{partner_id}/profile", tags=["tenants"])
    def change_profile(partner_id: str, body: ProfileSpec, request: Request):
        """Set profile keys (docs/FIDELITY.md "Fidelity profile"); a key sent as null goes back to the default."""
        return ops(request).change_profile(partner_id, body)

    @app.post("/partners/{partner_id}/unlock", tags=["tenants"])
    def unlock(partner_id: str, request: Request, body: UnlockSpec | None = None):
        return ops(request).unlock(partner_id, body or UnlockSpec())

    @app.post("/unlock", tags=["tenants"])
    def unlock_login(body: LoginUnlockSpec, request: Request):
        """Unlock a login (a partner's username or a holder's mobile) in every tenant where it is locked."""
        return ops(request).unlock_login(body)

    @app.post("/card-accounts/{account_id}/fund", tags=["money"])
    def fund(account_id: str, body: FundSpec, request: Request):
        return respond(ops(request).fund(account_id, body))

    @app.get("/audit", tags=["health"])
    def audit(request: Request, partnerId: str | None = None):
        """Every balance equals its ledger, none is negative, references are unique, money is conserved,
        orders settled once, no money on replaced cards, one live card per holder and account."""
        return respond(sandbox(request).audit.run(partnerId))

    @app.get("/clock", tags=["clock"])
    def get_clock(request: Request):
        running = sandbox(request)
        running.control.refresh()
        return running.clock.state()

    @app.post("/clock", tags=["clock"])
    def change_clock(body: ClockSpec, request: Request):
        return ops(request).clock(body)

    app.add_middleware(AdminTokenMiddleware, token=container.settings.admin_token)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(OpsError)
    async def ops_error(_request: Request, exc: OpsError):
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        message = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        return JSONResponse({"error": message, "detail": errors}, status_code=422)

    return app


__all__ = ["build_control_app", "validation_message"]
