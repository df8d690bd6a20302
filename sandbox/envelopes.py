"""EnKash's envelopes: the one definition of success and failure bodies, used by the gateway and the routes.

Success uses each endpoint's documented style: A = {code, message, payload}, B = {response_code,
response_message, payload}. Failures use the documented failure example everywhere:
{"response_code": 1, "response_message": msg, "payload": msg}. The fidelity profile's envelopeStyle (default
ENKASH_SANDBOX_ENVELOPE_STYLE) forces one: the caller passes the tenant's profile, or the settings when no tenant
is known yet.
"""

from __future__ import annotations

from typing import Any, Protocol

from enkash_sandbox import jsonio
from enkash_sandbox.vocabulary import EnvelopeStyle
from starlette.responses import Response


class Styled(Protocol):
    """Whatever names the envelope style: a tenant's Profile, or the Settings (its default)."""

    @property
    def envelope_style(self) -> str: ...


A = EnvelopeStyle.A
B = EnvelopeStyle.B

INFERRED_HEADER = "X-Sandbox-Inferred"


class Inferred(dict):
    """A success payload that rests on a rule the docs do not state (a replayed duplicate, a top-up the guide
    leaves to the account's primary card): the answer names the rule in the X-Sandbox-Inferred header, so a
    partner sees where the sandbox chose for UAT."""

    def __init__(self, payload: dict, inference: str) -> None:
        super().__init__(payload)
        self.inference = inference


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(content=jsonio.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _style(settings: Styled, documented: EnvelopeStyle) -> EnvelopeStyle:
    forced = settings.envelope_style
    if forced == "code":
        return A
    if forced == "response_code":
        return B
    return documented


def success_body(settings: Styled, payload: Any, style: EnvelopeStyle) -> dict[str, Any]:
    if _style(settings, style) == A:
        return {"code": 0, "message": "Success", "payload": payload}
    return {"response_code": 0, "response_message": "Success", "payload": payload}


def failure_body(settings: Styled, message: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any]
    if settings.envelope_style == "code":
        body = {"code": 1, "message": message, "payload": message}
    else:
        body = {"response_code": 1, "response_message": message, "payload": message}
    if errors:
        body["errors"] = errors
    return body
