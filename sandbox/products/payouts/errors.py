"""The payout APIs' documented failures (Payout API Response Codes): the HTTP status is the code, and the body is
`{"response_code": <code>, "response_message": "<documented message>"}` (sealed like any answer when the request
was encrypted)."""

from __future__ import annotations

from enkash_sandbox.errors import VendorError

BENEFICIARY_EXISTS = "Beneficiary ID already exists"
TRANSACTION_EXISTS = "Transaction ID already exists"
BATCH_EXISTS = "Batch Transaction ID already exists"
ACCOUNT_AND_IFSC = "Bank account and IFSC both are required"
ACCOUNT_AND_VPA = "Bank account and VPA both provided; provide only one to add the beneficiary"
INVALID_COMPANY = "Invalid Company ID"
INVALID_BENEFICIARY_ID = "Please provide a valid Beneficiary ID"
INVALID_NAME = "Please provide a valid name"
INVALID_VPA = "Please provide a valid Virtual Payee Address (VPA)"
INVALID_EMAIL = "Please provide a valid email"
INVALID_PHONE = "Please provide a valid phone number"
NO_BENEFICIARY = "No beneficiary details present"
INVALID_FORMAT = "Invalid request format"
INVALID_PARAMETER = "Invalid or missing parameter in the request"
NOT_ENABLED = "APIs not enabled"


class PayoutError(VendorError):
    """One of the documented payout failures; `status` is both the HTTP status and the body's response_code."""

    def __init__(self, status: int, message: str, *, hint: str | None = None) -> None:
        self.status = status
        super().__init__(message, hint=hint)

    def body(self) -> dict[str, object]:
        return {"response_code": self.status, "response_message": self.message}


def conflict(message: str) -> PayoutError:
    return PayoutError(409, message)


def precondition(message: str, hint: str | None = None) -> PayoutError:
    return PayoutError(412, message, hint=hint)


def invalid(message: str = INVALID_PARAMETER, hint: str | None = None) -> PayoutError:
    return PayoutError(422, message, hint=hint)
