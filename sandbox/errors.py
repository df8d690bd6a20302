"""Vendor errors: each carries EnKash's HTTP status and message; one handler renders them."""

from __future__ import annotations


class VendorError(Exception):
    status = 400
    default_message = "Bad Request"

    def __init__(self, message: str | None = None, *, errors: list[dict] | None = None):
        self.message = message or self.default_message
        self.errors = errors
        super().__init__(self.message)


class BadRequest(VendorError):
    """A mandatory parameter is missing or the request cannot be read (EnKash: 400 BAD_REQUEST)."""

    status = 400


class Unprocessable(VendorError):
    """Data failed validation (EnKash: 422 UNPROCESSABLE_ENTITY)."""

    status = 422
    default_message = "Unprocessable Entity"


class NotFound(VendorError):
    status = 404
    default_message = "Not Found"


class PayloadTooLarge(VendorError):
    status = 413
    default_message = "Request body is larger than the sandbox accepts"


class BusinessFailure(VendorError):
    """HTTP 200 with response_code 1: the call was understood but could not be carried out."""

    status = 200


class InsufficientBalance(BusinessFailure):
    default_message = "Insufficient balance in card account"


class AuthError(Exception):
    """Spring-OAuth shaped auth failure: {"error": ..., "error_description": ...}."""

    def __init__(self, status: int, error: str, description: str):
        self.status = status
        self.error = error
        self.description = description
        super().__init__(description)
