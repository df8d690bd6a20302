"""The field types every slice's request models share, typed as the EnKash docs document them.

Lenient where a Java/Jackson server is (numbers as strings, unknown fields ignored), strict where
the docs set a rule (patterns, enums, positive amounts with two decimals).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from enkash_sandbox.errors import BadRequest, FieldError
from enkash_sandbox.money import AmountError, parse_amount
from enkash_sandbox.timefmt import parse_iso
from enkash_sandbox.vocabulary import TRANSACTION_TYPES
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints, ValidationInfo, model_validator

# the largest offset a page may start at (every store's integers hold it; no account has more rows)
MAX_OFFSET = 10**9
EMAIL_PATTERN = r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$"
MOBILE_PATTERN = r"^\d{10}$"
PAN_PATTERN = r"^[A-Z]{5}[0-9]{4}[A-Z]$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _amount(value: object) -> Decimal:
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise ValueError(str(exc)) from exc


def _amount_or_zero(value: object) -> Decimal:
    try:
        return parse_amount(value, allow_zero=True)
    except AmountError as exc:
        raise ValueError(str(exc)) from exc


def _json_number(value: object, info: ValidationInfo) -> object:
    """Under the profile's numericStrings=refuse, a number sent as a string is refused (Jackson with scalar
    coercion off); by default it goes on to be read as the number."""
    if isinstance(value, str) and (info.context or {}).get("numeric_strings") == "refuse":
        raise ValueError("must be a JSON number, not a string (this tenant's profile: numericStrings=refuse)")
    return value


def whole_number(value: object, info: ValidationInfo) -> object:
    """A JSON integer, or a numeric string of one ("5"): Jackson coerces scalars into int fields by default, so
    a Java server takes both (unless the profile refuses strings). Anything else goes on to the field's own
    strict check (which refuses it)."""
    value = _json_number(value, info)
    if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit() and len(value.strip()) <= 19:
        return int(value.strip())
    return value


# the docs' tables say Mr/Ms/Mrs and M/F, their prose "Mr." and Male/Female: both are read as the table's value
_TITLES = {"mr.": "Mr", "ms.": "Ms", "mrs.": "Mrs"}
_GENDERS = {"male": "M", "female": "F"}


def _title(value: object) -> object:
    return _TITLES.get(value.lower(), value) if isinstance(value, str) else value


def _gender(value: object) -> object:
    return _GENDERS.get(value.lower(), value) if isinstance(value, str) else value


def _postal_code(value: object) -> object:
    """A pincode as the docs type it: a string, with no pattern ("Postal code of the user's address"; the examples
    are 6 digits), or a JSON number, which Jackson coerces into a String field."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _special_date(value: str) -> str:
    for fmt in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            datetime.strptime(value, fmt)
            return value
        except ValueError:
            continue
    raise ValueError("must be a date as dd-MM-yyyy (e.g. 02-09-2001)")


def _instant(value: str) -> str:
    try:
        parse_iso(value)
    except ValueError as exc:
        raise ValueError("must be an ISO-8601 date-time such as 2025-01-24T08:47:01.505Z") from exc
    return value


# before-validators run last-listed first: the profile's string check, then the reading
Amount = Annotated[Decimal, BeforeValidator(_amount), BeforeValidator(_json_number)]
OptionalAmountBound = Annotated[Decimal, BeforeValidator(_amount_or_zero), BeforeValidator(_json_number)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_printable)]
Text = Annotated[str, StringConstraints(max_length=255), AfterValidator(_printable)]
Name = Annotated[str, StringConstraints(max_length=100), AfterValidator(_printable)]
Mobile = Annotated[str, StringConstraints(pattern=MOBILE_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(_printable)]
Title = Annotated[Literal["Mr", "Ms", "Mrs"], BeforeValidator(_title)]
Gender = Annotated[Literal["M", "F"], BeforeValidator(_gender)]
Pincode = Annotated[
    str, StringConstraints(min_length=1, max_length=12), AfterValidator(_printable), BeforeValidator(_postal_code)
]
# an integer field: a JSON number or a numeric string, as Jackson coerces them
Whole = BeforeValidator(whole_number)
Direction = Literal["CR", "DR"]
TxnType = Literal[TRANSACTION_TYPES]  # type: ignore[valid-type]
Instant = Annotated[str, AfterValidator(_instant)]


# the card id key's two spellings in EnKash's docs: the API pages' enKashCardId and Getting Started's
# enkashCardId (and the velocity rule's list)
CARD_ID_SPELLINGS = (("enKashCardId", "enkashCardId"), ("enKashCardIds", "enkashCardIds"))


class VendorModel(BaseModel):
    # strict types (a string is a string, a boolean a boolean); amounts and limits are the documented
    # exception: they accept numeric strings through their own validators, as Jackson's BigDecimal does
    # defer_build: each request model's validator is built on its first use rather than at import (a tenth of
    # a second of every start, for endpoints a given run may never call)
    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True, defer_build=True)
    # fields a doc page marks required that the sandbox reads as optional, because another page's example or
    # guide leaves them out (profile requiredFields=lenient, the default); under requiredFields=strict each is
    # required. One entry is a field, or a tuple of alternatives of which one must be sent.
    STRICT_REQUIRED: ClassVar[tuple[str | tuple[str, ...], ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _strictly_required(cls, data: object, info: ValidationInfo) -> object:
        if not cls.STRICT_REQUIRED or not isinstance(data, dict) or (info.context or {}).get("required_fields") != "strict":
            return data
        missing = []
        for entry in cls.STRICT_REQUIRED:
            names = (entry,) if isinstance(entry, str) else entry
            if all(data.get(name) in (None, "") for name in names):
                missing.append(" or ".join(names))
        if missing:
            raise BadRequest(
                "Mandatory parameter missing: " + ", ".join(missing) + " (this tenant's profile: requiredFields=strict)",
                errors=[{"field": name, "message": "is required"} for name in missing],
            )
        return data

    @model_validator(mode="before")
    @classmethod
    def _card_id_spelling(cls, data: object, info: ValidationInfo) -> object:
        """The other spelling of the card id key is never ignored (an ignored id widens a search to the whole
        account): it is read as the documented one, or, under the profile's idKeyCasing=strict, refused."""
        if not isinstance(data, dict):
            return data
        for wanted, sent in _spelling_pairs(cls):
            if sent in data:
                if (info.context or {}).get("id_key_casing") == "strict":
                    raise FieldError(sent, f"is not a field of this request: spell it {wanted}")
                if wanted in data and data[wanted] != data[sent]:
                    raise FieldError(sent, f"names another card than {wanted}; send one of them")
                data = {**data, wanted: data[sent]}
                del data[sent]
        return data


# per request model: the (field it has, other spelling it lacks) pairs; read once, as pydantic's model_fields
# is a property that builds its answer on every access (three of them per request, every request)
_SPELLING_PAIRS: dict[type, tuple[tuple[str, str], ...]] = {}


def _spelling_pairs(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    pairs = _SPELLING_PAIRS.get(model)
    if pairs is None:
        fields = model.model_fields
        pairs = _SPELLING_PAIRS[model] = tuple(
            (wanted, sent)
            for documented, other in CARD_ID_SPELLINGS
            for wanted, sent in ((documented, other), (other, documented))
            if wanted in fields and sent not in fields
        )
    return pairs
