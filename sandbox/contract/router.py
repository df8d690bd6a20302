"""Serving the contract: /openapi.json, /openapi.yaml and Swagger UI at /docs (assets served locally)."""

from __future__ import annotations

import json
import re

from enkash_sandbox import contract
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)
ASSETS = "/_sandbox/docs-assets"


SERVERS_LINE = re.compile(r"^(servers:\n  - url: )\S+", re.M)


def base_url(request: Request) -> str:
    """The address this document was fetched from (the Host header, which HostCheckMiddleware vouched for):
    Swagger's "Try it out" and imported collections call the sandbox that served them, whatever its port,
    replica or host name, instead of the file's 127.0.0.1:8080."""
    return str(request.base_url).rstrip("/")


@router.get("/openapi.json")
def openapi_json(request: Request):
    servers = [{"url": base_url(request), "description": "this sandbox (where this document was fetched from)"}]
    return Response(json.dumps({**contract.spec(), "servers": servers}, separators=(",", ":")), media_type="application/json")


@router.get("/openapi.yaml")
def openapi_yaml(request: Request):
    text = SERVERS_LINE.sub(lambda m: m.group(1) + base_url(request), contract.spec_text(), count=1)
    return Response(text, media_type="application/yaml")


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
