"""The error catalog: one class per kind of EnKash failure, each carrying its HTTP status and message.

One handler (app.py) turns any VendorError into EnKash's failure envelope. Not-found is signalled one way:
a NotFound subclass, raised by the scope look-ups (`products/scope.py`) and services; the control plane maps
it to its own 404.
"""

from __future__ import annotations


class VendorError(Exception):
    status = 400
    default_message = "Bad Request"
    # extra response headers (X-Sandbox-Inferred on a failure the docs do not describe)
    headers: dict[str, str] | None = None
    # what the developer should do about it, sent in X-Sandbox-Explain (never in the EnKash-shaped body)
    hint: str | None = None

    def __init__(self, message: str | None = None, *, errors: list[dict[str, str]] | None = None, hint: str | None = None):
        self.message = message or self.default_message
        self.errors = errors
        if hint is not None:
            self.hint = hint
        super().__init__(self.message)


class BadRequest(VendorError):
    """A mandatory parameter is missing or the request cannot be read (EnKash: 400 BAD_REQUEST)."""

    status = 400


class Unprocessable(VendorError):
    """Data failed validation (EnKash: 422 UNPROCESSABLE_ENTITY)."""

    status = 422
    default_message = "Unprocessable Entity"


class FieldError(Unprocessable):
    """One field failed validation: the message names it, and the `errors` list carries it alone."""

    def __init__(self, field: str, message: str, *more: tuple[str, str], summary: str | None = None, status: int | None = None):
        fields = [(field, message), *more]
        super().__init__(
            summary or "; ".join(f"{f}: {m}" for f, m in fields), errors=[{"field": f, "message": m} for f, m in fields]
        )
        if status is not None:
            self.status = status


class UnsupportedMediaType(VendorError):
    status = 415
    default_message = "Unsupported Media Type"


class NotFound(VendorError):
    status = 404
    default_message = "Not Found"


class AccountNotFound(NotFound):
    def __init__(self, company_id: str | None, account_id: str | None):
        # the wording EnKash documents for the bulk API's 404
        super().__init__(f"Card account not found for companyId: {company_id} and cardAccountId: {account_id}")


class CardNotFound(NotFound):
    def __init__(self, card_id: str | None, account_id: str | None = None):
        where = f" for cardAccountId: {account_id} and enKashCardId: {card_id}" if account_id else f": {card_id}"
        super().__init__(f"EnKash card not found{where}")


class CompanyNotFound(NotFound):
    def __init__(self, company_id: str):
        super().__init__(f"Company not found: {company_id}")


class UserNotFound(NotFound):
    def __init__(self, user_id: str, company_id: str | None = None):
        where = f" for companyId: {company_id} and userId: {user_id}" if company_id else f": {user_id}"
        super().__init__(f"User not found{where}")


class PayloadTooLarge(VendorError):
    status = 413
    default_message = "Request body is larger than the sandbox accepts"


class BusinessFailure(VendorError):
    """HTTP 200 with response_code 1: the call was understood but could not be carried out."""

    status = 200


class InsufficientBalance(BusinessFailure):
    default_message = "Insufficient balance in card account"


class CardUnusable(BusinessFailure):
    """The card's state does not allow the operation (locked, blocked, replaced, activating)."""


class AuthError(Exception):
    """Spring-OAuth shaped auth failure: {"error": ..., "error_description": ...}."""

    def __init__(self, status: int, error: str, description: str, *, hint: str | None = None):
        self.status = status
        self.error = error
        self.description = description
        # sent in X-Sandbox-Explain only: the body stays Spring-OAuth shaped
        self.hint = hint
        super().__init__(description)
