"""What a webhook registration may hold: EnKash's documented Webhook Data fields, checked before anything is stored.

The same field types serve the vendor body (`POST /api/v0/webhook-data`, strict as every vendor model) and the
control plane's (`POST /_sandbox/webhooks`), so the two surfaces cannot accept different registrations.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from enkash_sandbox.products.fields import Id, VendorModel
from enkash_sandbox.products.webhooks.deliverer import RESERVED_HEADERS
from enkash_sandbox.products.webhooks.outbox import EVENTS
from pydantic import AfterValidator, Field, StringConstraints

MAX_HEADERS = 20
# an HTTP header name is a token (RFC 9110 5.1); a value must not end the header line early
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e\t]{0,1000}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")


def _webhook_url(value: str) -> str:
    """http(s) with a host; localhost and private addresses are allowed (the point of a local sandbox)."""
    if _CONTROL.search(value):
        raise ValueError("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port out of range
    except ValueError:
        raise ValueError("must be an http(s) URL such as http://localhost:9000/webhooks") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL such as http://localhost:9000/webhooks")
    if port == 0:
        raise ValueError("must name a port between 1 and 65535")
    return value


def _events(value: list[str]) -> list[str]:
    # a repeated event is registered once (each event is delivered once per registration anyway)
    return list(dict.fromkeys(value))


def _headers(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for name, header_value in value.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"{name[:40]!r} is not a valid HTTP header name")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"{name} is set by the sandbox itself and cannot be overridden")
        if name.lower() in seen:
            raise ValueError(f"header {name} is given twice")
        seen.add(name.lower())
        if not _HEADER_VALUE.match(header_value):
            raise ValueError(f"the value of {name} must be printable ASCII of at most 1000 characters")
    return value


WebhookUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048), AfterValidator(_webhook_url)]
EventName = Literal[EVENTS]  # type: ignore[valid-type]
Events = Annotated[list[EventName], Field(min_length=1, max_length=50), AfterValidator(_events)]
Headers = Annotated[dict[str, str], AfterValidator(_headers)]
Certificate = Annotated[str, StringConstraints(max_length=16384)]
CompanyId = Annotated[str, StringConstraints(pattern=r"^CEK[A-Z0-9]{7}$")]


class WebhookData(VendorModel):
    """EnKash's Webhook Data request (`POST /api/v0/webhook-data`)."""

    webhookUrl: WebhookUrl
    events: Events
    headers: Headers | None = None
    enabled: bool = True
    sslCertificate: Certificate | None = None
    companyId: CompanyId | None = None


__all__ = ["CompanyId", "EventName", "Events", "Headers", "Id", "WebhookData", "WebhookUrl", "Certificate"]
