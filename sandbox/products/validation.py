"""Turning pydantic's validation errors into EnKash's: 400 for a missing field, 422 for a bad one."""

from __future__ import annotations

from enkash_sandbox.errors import BadRequest, Unprocessable, VendorError
from pydantic import ValidationError


def validation_error(exc: ValidationError) -> VendorError:
    errors, missing = [], []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            missing.append(field)
            message = "is required"
        errors.append({"field": field, "message": message})
    if missing:
        return BadRequest("Mandatory parameter missing: " + ", ".join(missing), errors=errors)
    return Unprocessable("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
