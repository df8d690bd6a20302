"""The control plane app, mounted at /_sandbox (its own OpenAPI document at /_sandbox/openapi.json)."""

from __future__ import annotations

from datetime import UTC

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse

from enkash_sandbox import __version__
from enkash_sandbox.control import cards as card_controls
from enkash_sandbox.control import faults, marketplace, state, ui
from enkash_sandbox.control.schemas import ClockChange, EncryptionMode, Fund, ProvisionPartner, Unlock
from enkash_sandbox.control.security import AdminTokenMiddleware


def _core(request: Request):
    return request.app.state.core


def build_control_app(core) -> FastAPI:
    app = FastAPI(
        title="EnKash Sandbox control plane",
        version=__version__,
        description="Everything a test or a tester needs that EnKash does not have: tenants, funding, "
        "clock, reset, faults, journal. Not part of EnKash's API.",
        docs_url=None,
        redoc_url=None,
    )

    @app.get("/docs", include_in_schema=False)
    def control_docs():
        return get_swagger_ui_html(openapi_url="/_sandbox/openapi.json", title="EnKash Sandbox control plane",
                                   swagger_js_url="/_sandbox/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/_sandbox/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/_sandbox/docs-assets/favicon.png")
    app.state.core = core
    app.include_router(card_controls.router)
    app.include_router(marketplace.router)
    app.include_router(state.router)
    app.include_router(faults.router)
    app.include_router(ui.router)

    @app.get("/health", tags=["health"])
    def health(request: Request):
        sandbox = _core(request)
        sandbox.db.ping()
        return {"status": "UP", "version": __version__, "seeded": sandbox.db.get_meta("seed") is not None}

    @app.post("/partners", status_code=201, tags=["tenants"])
    def provision_partner(request: Request, body: ProvisionPartner | None = None):
        body = body or ProvisionPartner()
        return _core(request).tenants.provision(encryption=body.encryption, fund_balance=body.fundBalance,
                                                name=body.companyName)

    @app.get("/partners", tags=["tenants"])
    def list_partners(request: Request):
        return [{"partnerId": p.id, "name": p.name, "clientId": p.client_id, "username": p.username,
                 "encryption": p.encryption, "locked": p.locked}
                for p in _core(request).tenants.list_partners()]

    @app.get("/demo", tags=["tenants"])
    def demo_credentials(request: Request):
        creds = _core(request).demo_credentials()
        if creds is None:
            raise HTTPException(404, "the demo tenant is not seeded")
        return creds

    @app.put("/partners/{partner_id}/encryption", tags=["tenants"])
    def set_encryption(partner_id: str, body: EncryptionMode, request: Request):
        if not _core(request).tenants.set_encryption(partner_id, body.encryption):
            raise HTTPException(404, f"unknown partner {partner_id}")
        return {"partnerId": partner_id, "encryption": body.encryption}

    @app.post("/partners/{partner_id}/unlock", tags=["tenants"])
    def unlock(partner_id: str, request: Request, body: Unlock | None = None):
        count = _core(request).auth.unlock(partner_id, body.username if body else None)
        if count < 0:
            raise HTTPException(404, f"unknown partner {partner_id}")
        return {"partnerId": partner_id, "unlocked": count}

    @app.post("/card-accounts/{account_id}/fund", tags=["money"])
    def fund(account_id: str, body: Fund, request: Request):
        result = _core(request).tenants.fund(account_id, body.amount, body.remarks)
        if result is None:
            raise HTTPException(404, f"unknown card account {account_id}")
        return result

    @app.get("/audit", tags=["health"])
    def audit(request: Request, partnerId: str | None = None):
        """Every balance equals its ledger, none is negative, references are unique, money is conserved."""
        return _core(request).audit.run(partnerId)

    @app.get("/clock", tags=["clock"])
    def get_clock(request: Request):
        return _core(request).clock.state()

    @app.post("/clock", tags=["clock"])
    def change_clock(body: ClockChange, request: Request):
        clock = _core(request).clock
        at = body.at.astimezone(UTC).replace(tzinfo=None) if body.at and body.at.tzinfo else body.at
        if body.action == "freeze":
            clock.freeze(at)
        elif body.action == "unfreeze":
            clock.unfreeze()
        elif body.action == "set":
            if at is None:
                raise HTTPException(422, "set needs `at`")
            clock.set(at)
        elif body.action == "advance":
            if body.seconds is None:
                raise HTTPException(422, "advance needs `seconds`")
            clock.advance(body.seconds)
        else:
            clock.reset()
        return clock.state()

    app.add_middleware(AdminTokenMiddleware, token=core.settings.admin_token)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    return app
