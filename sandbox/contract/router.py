"""Serving the contract: /openapi.json, /openapi.yaml and Swagger UI at /docs (assets served locally)."""

from __future__ import annotations

from enkash_sandbox import contract
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)
ASSETS = "/_sandbox/docs-assets"


@router.get("/openapi.json")
def openapi_json():
    return Response(contract.spec_json(), media_type="application/json")


@router.get("/openapi.yaml")
def openapi_yaml():
    return Response(contract.spec_text(), media_type="application/yaml")


@router.get("/docs")
def swagger_ui():
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="EnKash partner APIs — sandbox contract",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )


@router.get("/redoc")
def redoc():
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="EnKash partner APIs — sandbox contract",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
