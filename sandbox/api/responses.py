"""EnKash's envelopes.

Success uses each endpoint's documented style: A = {code, message, payload}, B = {response_code,
response_message, payload}. Failures use the documented failure example everywhere:
{"response_code": 1, "response_message": msg, "payload": msg}. ENKASH_SANDBOX_ENVELOPE_STYLE forces one.
"""

from __future__ import annotations

from enkash_sandbox import jsonio
from fastapi import Response

A = "A"
B = "B"


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(content=jsonio.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _style(settings, documented: str) -> str:
    forced = settings.envelope_style
    if forced == "code":
        return A
    if forced == "response_code":
        return B
    return documented


def success_body(settings, payload, style: str) -> dict:
    if _style(settings, style) == A:
        return {"code": 0, "message": "Success", "payload": payload}
    return {"response_code": 0, "response_message": "Success", "payload": payload}


def failure_body(settings, message: str, errors: list[dict] | None = None) -> dict:
    if settings.envelope_style == "code":
        body = {"code": 1, "message": message, "payload": message}
    else:
        body = {"response_code": 1, "response_message": message, "payload": message}
    if errors:
        body["errors"] = errors
    return body


def ok(request, payload, style: str = A) -> Response:
    return json_response(success_body(request.app.state.core.settings, payload, style))
