"""Reading payout requests field by field, with the documented patterns and messages.

The payout APIs answer each bad field with its own documented message (422 "Please provide a valid name", …) or,
inside a transfer, with a REJECTED status and a reason code; pydantic's generic messages cannot say either, so
the rules are written out here once and used by the single transfer, the batch and the beneficiary calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from enkash_sandbox import jsonio
from enkash_sandbox.products.payouts import errors as e
from enkash_sandbox.products.payouts.errors import PayoutError

BENEFICIARY_ID = re.compile(r"^[A-Za-z0-9]{1,50}$")
NAME = re.compile(r"^[A-Za-z ]{1,100}$")
IFSC = re.compile(r"^[A-Za-z]{4}0[A-Z0-9a-z]{6}$")
ACCOUNT_NUMBER = re.compile(r"^[A-Za-z0-9]{9,36}$")
# the Create Beneficiary rule: alphanumerics plus . - _ before @, and no - after it
VPA = re.compile(r"^[A-Za-z0-9._-]{1,200}@[A-Za-z0-9.]{1,60}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^((\+|00)(\d{1,3})[\s-]?)?(\d{10})$")
PINCODE = re.compile(r"^[0-9]{1,6}$")
TRANSACTION_ID = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
REMARK = re.compile(r"^[A-Za-z0-9 ]{0,50}$")
COMPANY_ID = re.compile(r"^CEK[A-Z0-9]{7}$")
FUND_SOURCE_ID = re.compile(r"^[A-Za-z0-9]{1,40}$")
FREE_TEXT_MAX = 200
MODES = ("IMPS", "NEFT", "RTGS", "UPI")
MIN_AMOUNT = Decimal("1.00")
MAX_AMOUNT = Decimal("100000000.00")  # ₹10,00,00,000.00
IMPS_LIMIT = Decimal("200000.00")
UPI_LIMIT = Decimal("100000.00")
RTGS_MINIMUM = Decimal("200000.00")
BATCH_MAX = 1000

BENEFICIARY_FIELDS = (
    "beneficiaryId",
    "beneficiaryName",
    "beneficiaryAccountNumber",
    "beneficiaryIfsc",
    "vpaHandle",
    "beneficiaryEmail",
    "beneficiaryPhone",
    "beneficiaryAddress",
    "beneficiaryCity",
    "beneficiaryState",
    "beneficiaryPincode",
    "checksum",
    "companyId",
)
TRANSFER_STRINGS = (
    "beneficiaryId",
    "transactionId",
    "transferMode",
    "transferRemark",
    "reference",
    "fundSourceId",
    "checksum",
    "debitAccountNumber",
)


def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object. The Node sample double-encodes (a JSON string holding the JSON): that is
    read too. Anything else is 422 "Invalid request format"."""
    if not raw.strip():
        raise e.invalid(e.INVALID_FORMAT, "the request body is empty; send a JSON object")
    try:
        data = jsonio.loads(raw)
        if isinstance(data, str):
            data = jsonio.loads(data)
    except (jsonio.JSONDecodeError, ValueError):
        raise e.invalid(e.INVALID_FORMAT, "the request body is not JSON") from None
    if not isinstance(data, dict):
        raise e.invalid(e.INVALID_FORMAT, "the request body must be a JSON object")
    if _has_nul(data):
        # no store keeps a NUL character in text (PostgreSQL refuses it): no field of the payout APIs needs one
        raise e.invalid(hint="a text field contains a NUL character (\\u0000)")
    return data


def _has_nul(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if depth > 20:
        return False
    if isinstance(value, dict):
        return any(_has_nul(k, depth + 1) or _has_nul(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v, depth + 1) for v in value)
    return False


def strings(data: dict[str, Any], names: tuple[str, ...], where: str = "") -> None:
    """Each named field, when present and not null, must be a JSON string (Jackson would refuse an object or an
    array; it would coerce a number, which the sandbox accepts as its text)."""
    for name in names:
        value = data.get(name)
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            data[name] = str(value)
            continue
        raise e.invalid(e.INVALID_FORMAT, f"{where}{name} must be a string")


def text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


@dataclass(frozen=True)
class BeneficiaryFields:
    beneficiary_id: str | None
    name: str
    account_number: str | None
    ifsc: str | None
    vpa: str | None
    email: str | None
    phone: str | None
    address: str | None
    city: str | None
    state: str | None
    pincode: str | None


class BeneficiaryInvalid(Exception):
    """A beneficiary field broke its rule: the API's answer (status, message) and the transfer's reason code."""

    def __init__(self, error: PayoutError, reason: str) -> None:
        self.error = error
        self.reason = reason
        super().__init__(error.message)


def _bad(status: int, message: str, reason: str, hint: str) -> BeneficiaryInvalid:
    return BeneficiaryInvalid(PayoutError(status, message, hint=hint), reason)


def beneficiary_fields(data: dict[str, Any], *, id_required: bool) -> BeneficiaryFields:
    """Check a beneficiary (the Create Beneficiary body, or a transfer's inline beneficiaryDetail), in the order the
    documented messages are listed. Raises BeneficiaryInvalid."""
    try:
        strings(data, BENEFICIARY_FIELDS)
    except PayoutError as exc:
        raise BeneficiaryInvalid(exc, "REJECT_BENEF_DET_ID") from None
    beneficiary_id = text(data, "beneficiaryId")
    if (beneficiary_id is None and id_required) or (beneficiary_id is not None and not BENEFICIARY_ID.match(beneficiary_id)):
        raise _bad(422, e.INVALID_BENEFICIARY_ID, "REJECT_BENEF_DET_ID", "beneficiaryId: 1-50 letters and digits")
    name = text(data, "beneficiaryName")
    if name is None or not NAME.match(name):
        raise _bad(422, e.INVALID_NAME, "REJECT_BENEF_NAME", "beneficiaryName: letters and spaces, at most 100")
    account, ifsc, vpa = text(data, "beneficiaryAccountNumber"), text(data, "beneficiaryIfsc"), text(data, "vpaHandle")
    if account and vpa:
        raise _bad(412, e.ACCOUNT_AND_VPA, "REJECT_BENEF_ACC", "send beneficiaryAccountNumber + beneficiaryIfsc, or vpaHandle")
    if vpa is None and (account is None or ifsc is None):
        missing = "beneficiaryIfsc" if account else "beneficiaryAccountNumber"
        reason = "REJECT_BENEF_IFSC" if account else "REJECT_BENEF_ACC"
        raise _bad(412, e.ACCOUNT_AND_IFSC, reason, f"{missing} is missing (or send vpaHandle for a UPI beneficiary)")
    if vpa is not None:
        if not VPA.match(vpa):
            raise _bad(422, e.INVALID_VPA, "REJECT_BENEF_ACC", "vpaHandle like name@bank (letters, digits, . _ - before @)")
        if ifsc is not None:
            raise _bad(412, e.ACCOUNT_AND_VPA, "REJECT_BENEF_IFSC", "a UPI beneficiary has no beneficiaryIfsc")
    else:
        assert account is not None and ifsc is not None
        if not ACCOUNT_NUMBER.match(account):
            raise _bad(422, e.INVALID_PARAMETER, "REJECT_BENEF_ACC", "beneficiaryAccountNumber: 9-36 letters and digits")
        if not IFSC.match(ifsc):
            raise _bad(422, e.INVALID_PARAMETER, "REJECT_BENEF_IFSC", "beneficiaryIfsc must match ^[A-Za-z]{4}0[A-Z0-9a-z]{6}$")
    email = text(data, "beneficiaryEmail")
    if email is not None and (len(email) > 200 or not EMAIL.match(email)):
        raise _bad(422, e.INVALID_EMAIL, "REJECT_BENEF_EMAIL", "beneficiaryEmail: at most 200 characters with @ and .")
    phone = text(data, "beneficiaryPhone")
    if phone is not None and not PHONE.match(phone):
        raise _bad(422, e.INVALID_PHONE, "REJECT_BENEF_DET_ID", "beneficiaryPhone: 10 digits, optionally after +91")
    pincode = text(data, "beneficiaryPincode")
    if pincode is not None and not PINCODE.match(pincode):
        raise _bad(422, e.INVALID_PARAMETER, "REJECT_BENEF_DET_ID", "beneficiaryPincode: at most 6 digits")
    free = {name_: text(data, name_) for name_ in ("beneficiaryAddress", "beneficiaryCity", "beneficiaryState")}
    for field, value in free.items():
        if value is not None and len(value) > FREE_TEXT_MAX:
            raise _bad(422, e.INVALID_PARAMETER, "REJECT_BENEF_DET_ID", f"{field}: at most {FREE_TEXT_MAX} characters")
    return BeneficiaryFields(
        beneficiary_id=beneficiary_id,
        name=name,
        account_number=account if vpa is None else None,
        ifsc=ifsc.upper() if ifsc and vpa is None else None,
        vpa=vpa,
        email=email,
        phone=phone,
        address=free["beneficiaryAddress"],
        city=free["beneficiaryCity"],
        state=free["beneficiaryState"],
        pincode=pincode,
    )


def amount_of(value: Any) -> Decimal | None:
    """transferAmount as a Decimal (a JSON number or a numeric string, as Jackson reads a BigDecimal), or None when
    it is absent. A value of another JSON type is 422 "Invalid request format"."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise e.invalid(e.INVALID_FORMAT, "transferAmount must be a number")
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise e.invalid(e.INVALID_FORMAT, "transferAmount must be a number") from None
    if not amount.is_finite():
        raise e.invalid(e.INVALID_FORMAT, "transferAmount must be a finite number")
    return amount


def valid_amount(amount: Decimal | None) -> bool:
    if amount is None or amount < MIN_AMOUNT or amount > MAX_AMOUNT:
        return False
    return amount == amount.quantize(Decimal("0.01"))


@dataclass
class TransferRequest:
    """A transfer as read from the request, before the store is asked anything."""

    transaction_id: str
    beneficiary_id: str | None
    inline: BeneficiaryFields | None
    inline_reason: str | None
    amount: Decimal | None
    mode: str | None
    mode_given: bool
    remark: str | None
    reference: str | None
    fund_source_id: str | None


def transfer_request(data: dict[str, Any], default_mode: str) -> TransferRequest:
    """Read one transfer. 422 only where no REJECTED transfer can be recorded (no usable transactionId, wrong JSON
    types, no beneficiary at all); every other problem is left for the service to reject with its reason code."""
    transaction_id = data.get("transactionId")
    if isinstance(transaction_id, (int, Decimal)) and not isinstance(transaction_id, bool):
        transaction_id = str(transaction_id)
    if not isinstance(transaction_id, str) or not TRANSACTION_ID.match(transaction_id):
        raise e.invalid(hint="transactionId: 1-50 letters, digits, _ or -")
    strings(data, TRANSFER_STRINGS)
    detail = data.get("beneficiaryDetail")
    if detail is not None and not isinstance(detail, dict):
        raise e.invalid(e.INVALID_FORMAT, "beneficiaryDetail must be an object")
    beneficiary_id = text(data, "beneficiaryId")
    if beneficiary_id is None and not detail:
        raise e.invalid(e.NO_BENEFICIARY, "send beneficiaryId (a registered beneficiary) or beneficiaryDetail")
    amount = amount_of(data.get("transferAmount"))
    inline, reason = None, None
    if beneficiary_id is None and detail:
        try:
            inline = beneficiary_fields(dict(detail), id_required=False)
        except BeneficiaryInvalid as bad:
            reason = bad.reason
    mode = text(data, "transferMode")
    return TransferRequest(
        transaction_id=transaction_id,
        beneficiary_id=beneficiary_id,
        inline=inline,
        inline_reason=reason,
        amount=amount,
        mode=mode or default_mode,
        mode_given=mode is not None,
        remark=data.get("transferRemark"),
        reference=text(data, "reference"),
        fund_source_id=text(data, "fundSourceId"),
    )
