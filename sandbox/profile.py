"""The fidelity profile: every place where EnKash's docs disagree with themselves, or are silent, and a partner
could reasonably want either answer, as a named per-tenant choice.

Each key's default is what EnKash's UAT most likely does (the reason is in KEYS and in docs/FIDELITY.md, whose
table is generated from KEYS by `profile_table()` and checked by a unit test). Defaults come from the settings
(`ENKASH_SANDBOX_PROFILE_<KEY>`, or the older setting a key grew out of); a tenant stores only the keys it
overrides, so a changed default reaches every tenant that did not choose otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from enkash_sandbox.config import Settings

# the token lifetime's bounds: a minute (shorter tokens expire inside one test) to the refresh token's 30 days
MIN_TOKEN_TTL = 60
MAX_TOKEN_TTL = 30 * 86400


@dataclass(frozen=True)
class Key:
    """One profile key: its JSON name, the Settings attribute its default comes from, and why that default."""

    name: str
    setting: str
    summary: str
    uat: str
    options: tuple[str, ...] = ()
    # an older setting that decides when this key's own setting is unset
    fallback: str | None = None

    @property
    def env(self) -> str:
        return "ENKASH_SANDBOX_" + self.setting.upper()


KEYS: tuple[Key, ...] = (
    Key(
        "searchById",
        "profile_search_by_id",
        "`/search` with `enKashCardId`: `list` = envelope A `{recordsCount, data[]}` holding the one card; "
        "`card` = envelope B with the bare card object",
        "the docs' id-matched example (api-24480520) is the list form; the bare-card page has no request example",
        ("list", "card"),
    ),
    Key(
        "transactionRows",
        "profile_transaction_rows",
        "`transaction/all` rows: `webhook` = the field set partner code reads (`enKashCardTransactionId`, "
        "`principalAmount`, `balance`, `maskedCard`, `enkashCardId`, `txnDetails{…}`, status CREATED), as in the "
        "card-transaction webhook; `sandbox` = the sandbox's earlier names (`enkashCardTxnId`, `amount`, "
        "`otbBalance`, status SUCCESS)",
        "the docs capture no response; a public partner integration written against UAT reads the webhook names, "
        "and CREATED is the only documented status",
        ("webhook", "sandbox"),
    ),
    Key(
        "balanceDebit",
        "profile_balance_debit",
        '`/balance` with `transactionType: DR`: `refuse` = business failure "DR not allowed on this card" and the '
        "documented `type`/`transactionCode` pairs validated; `allow` = DR unloads the card to its account, any "
        "pair accepted",
        "the load page says DR is not allowed on the card (api-8990345); the G1 page's DR example is the only contrary hint",
        ("refuse", "allow"),
    ),
    Key(
        "giftLoadAmount",
        "profile_gift_load_amount",
        "card create on a GIFT account without `loadAmount`: `optional` = the card is issued empty; `required` = 400 "
        '"loadAmount is required for GIFT card accounts"',
        "the G1 gift-card create page (the seed page) has no `loadAmount` at all; only the G3 text calls it mandatory",
        ("optional", "required"),
    ),
    Key(
        "otpResponse",
        "profile_otp_response",
        "`/otp` payload: `string` = the OTP request id as a string; `object` = `{otpRequestId, otpReferenceId, "
        "enKashCardId, cardOtpAction, mobile, expiresInSeconds}`",
        "the docs type the payload as a string (api-26007577)",
        ("string", "object"),
    ),
    Key(
        "replaceCardResponse",
        "profile_replace_card_response",
        '`/replaceCard` payload: `string` = "Success"; `object` = the new card with `oldEnKashCardId`',
        'the docs show a string payload; the response section says "Not configured" (api-8990359)',
        ("string", "object"),
    ),
    Key(
        "redemptionAuth",
        "profile_redemption_auth",
        "who may call cart, create-order, orderDetails and search-order: `both` = the partner token (acting as "
        "the partner's login user and its primary card) or a card holder's / SSO token; `partner` = the partner "
        "token only; `holder` = card holders' and SSO tokens only",
        "UAT answers these with the partner's own token (its login user's userId matches its primary card); "
        "holder logins are the sandbox's extension, kept on",
        ("both", "partner", "holder"),
    ),
    Key(
        "getEncryption",
        "profile_get_encryption",
        'GET answers of a `required` partner: `sealed` = encrypted as `{"request": …}` like every other answer; '
        "`plain` = plain JSON (a GET has no body to mirror)",
        "the docs say responses are encrypted when encryption is mandatory, with no exception for GET",
        ("sealed", "plain"),
    ),
    Key(
        "tokenTtlSeconds",
        "token_ttl_seconds",
        f"`expires_in` of a new access token, {MIN_TOKEN_TTL}–{MAX_TOKEN_TTL} s (the docs' prose says 300)",
        "the docs' token example answers 86399 (a day, Spring's usual setting); the \"5 minutes\" prose is older",
    ),
    Key(
        "magicValues",
        "profile_magic_values",
        "the gateway's magic amounts and references (docs/MAGIC_VALUES.md): `on` = they fire on every request, each "
        "one announced with an `X-Sandbox-Magic: <trigger>` answer header; `header` = only on requests that send "
        "`X-Sandbox-Magic: on`; `off` = never (the `SBX-PENDING-*` order references, the KYC mobiles and the "
        "spending simulations' merchants are opt-in by their own names and stay on)",
        "UAT has no magic values; they are on so a partner can reach failures without set-up, and announced so "
        "a surprise is visible",
        ("on", "header", "off"),
        fallback="magic_values",
    ),
    Key(
        "idKeyCasing",
        "profile_id_key_casing",
        "the card id key: `both` = `enKashCardId` and `enkashCardId` (the Getting Started spelling) accepted on "
        "every card endpoint; `strict` = each endpoint's documented spelling only, the other refused with 422",
        "the docs spell it both ways across pages and examples; Jackson with case-insensitive properties (common "
        "in Spring partner APIs) accepts both",
        ("both", "strict"),
    ),
    Key(
        "numericStrings",
        "profile_numeric_strings",
        "amounts and integer fields (`amount`, `loadAmount`, `denomination`, `quantity`, `cartId`, coin `amount`) "
        'sent as strings (`"10"`): `accept` = read as the number; `refuse` = 422 naming the field (velocity limits, '
        "which G3 documents as strings, are always accepted)",
        "EnKash's APIs are Spring; its Jackson coerces numeric strings into number fields unless told not to",
        ("accept", "refuse"),
    ),
    Key(
        "envelopeStyle",
        "envelope_style",
        "success envelope: `documented` = each endpoint's documented style; `code` = `{code, message, payload}` "
        "everywhere; `response_code` = `{response_code, response_message, payload}` everywhere",
        "the docs use both styles, endpoint by endpoint",
        ("documented", "code", "response_code"),
    ),
    Key(
        "duplicateReference",
        "duplicate_reference",
        "a repeated `uniqueReferenceNumber` on one card account: `reject` = business failure, nothing moves, the "
        "answer carries `X-Sandbox-Inferred: duplicate-reference` (the check is the sandbox's); `replay` = the first "
        "request's answer again, with `X-Sandbox-Inferred: duplicate-reference-replay`",
        "the docs say nothing about repeats; partners need idempotency, and a refusal is what a unique reference column gives",
        ("reject", "replay"),
    ),
    Key(
        "tokenCasing",
        "profile_token_casing",
        "`/oauth/token` answer keys: `snake` = `access_token, token_type, expires_in, refresh_token, scope` (Spring); "
        "`camel` = `accessToken, tokenType, expiresIn, refreshToken` (the V3 payout token page)",
        "the sibling products' concrete example and the V1 payout page are snake_case; only the newest payout page "
        "shows camelCase",
        ("snake", "camel"),
    ),
    Key(
        "defaultTransferMode",
        "profile_default_transfer_mode",
        "a payout transfer sent without `transferMode`: `IMPS` (the Payout Methods page) or `NEFT` (the field's description)",
        'the Payout Methods page says "IMPS is the default mode"; the field description\'s NEFT is older wording',
        ("IMPS", "NEFT"),
    ),
    Key(
        "inFlightStatus",
        "profile_in_flight_status",
        "a transfer sent to the bank: `PROCESSING` (V3) or `CALL_MADE` = `IMPS_CALL_MADE` / `NEFT_CALL_MADE` / "
        "`UPI_CALL_MADE` (V2; RTGS stays `PROCESSING`)",
        "the newest status page lists only PROCESSING",
        ("PROCESSING", "CALL_MADE"),
    ),
    Key(
        "statementAmount",
        "profile_statement_amount",
        "payout statement `transactionAmount`: `rupees` = an exact JSON number in rupees; `paise` = an integer in "
        "paise (the schema types it integer)",
        "the schema's integer would lose the paise of a rupee amount; rupees keep every statement row exact",
        ("rupees", "paise"),
    ),
    Key(
        "errorBodies",
        "profile_error_bodies",
        "failed answers (non-2xx, and business failures with response_code 1) to an encrypted request (or a sealed "
        '`required` GET): `sealed` = encrypted as `{"request": …}` like every other answer; `plain` = plain JSON, '
        "readable with curl or Postman (X-Sandbox-Explain is sent either way)",
        "the guides say responses are encrypted and must be decrypted, with no exception for failures (the payout "
        'codes include 403 "Encryption failed for response", an answer about sealing itself); DESIGN: a response '
        "is encrypted exactly when its request was",
        ("sealed", "plain"),
    ),
    Key(
        "requiredFields",
        "profile_required_fields",
        "fields one doc page marks required and another leaves out: `lenient` = required only where every page "
        "agrees (the reward guide's top-up `{enkashCardId, loadAmount}` with CR/ALLOCATE_POINT, the account and "
        "company taken from the card; a top-up by `cardAccountId` alone credits the account's primary card; a card "
        "created without `userId`, `mobile` or `email` goes to a new holder; `setPin` without `otpRequired`); "
        '`strict` = every field any page marks required, else 400 "Mandatory parameter missing" (the allocation '
        "page's twelve fields, a holder identifier on card create, `otpRequired` on setPin)",
        "the guides and examples show the shorter bodies working (written against UAT); the API pages mark every "
        "schema field required, which the examples on the same pages do not follow",
        ("lenient", "strict"),
    ),
)
BY_NAME = {key.name: key for key in KEYS}

# the JSON name of each attribute (the model's attributes are snake_case so Python code reads naturally)
_ALIASES = {
    "search_by_id": "searchById",
    "transaction_rows": "transactionRows",
    "balance_debit": "balanceDebit",
    "gift_load_amount": "giftLoadAmount",
    "otp_response": "otpResponse",
    "replace_card_response": "replaceCardResponse",
    "redemption_auth": "redemptionAuth",
    "get_encryption": "getEncryption",
    "token_ttl_seconds": "tokenTtlSeconds",
    "magic_values": "magicValues",
    "id_key_casing": "idKeyCasing",
    "numeric_strings": "numericStrings",
    "envelope_style": "envelopeStyle",
    "duplicate_reference": "duplicateReference",
    "token_casing": "tokenCasing",
    "default_transfer_mode": "defaultTransferMode",
    "in_flight_status": "inFlightStatus",
    "statement_amount": "statementAmount",
    "error_bodies": "errorBodies",
    "required_fields": "requiredFields",
}


class Profile(BaseModel):
    """A tenant's effective profile (every key set). Frozen: principals share it across requests."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=lambda name: _ALIASES[name], populate_by_name=True)

    search_by_id: Literal["list", "card"] = "list"
    transaction_rows: Literal["webhook", "sandbox"] = "webhook"
    balance_debit: Literal["refuse", "allow"] = "refuse"
    gift_load_amount: Literal["optional", "required"] = "optional"
    otp_response: Literal["string", "object"] = "string"
    replace_card_response: Literal["string", "object"] = "string"
    redemption_auth: Literal["both", "partner", "holder"] = "both"
    get_encryption: Literal["sealed", "plain"] = "sealed"
    token_ttl_seconds: int = Field(default=86399, ge=MIN_TOKEN_TTL, le=MAX_TOKEN_TTL)
    magic_values: Literal["on", "header", "off"] = "on"
    id_key_casing: Literal["both", "strict"] = "both"
    numeric_strings: Literal["accept", "refuse"] = "accept"
    envelope_style: Literal["documented", "code", "response_code"] = "documented"
    duplicate_reference: Literal["reject", "replay"] = "reject"
    token_casing: Literal["snake", "camel"] = "snake"
    default_transfer_mode: Literal["IMPS", "NEFT"] = "IMPS"
    in_flight_status: Literal["PROCESSING", "CALL_MADE"] = "PROCESSING"
    statement_amount: Literal["rupees", "paise"] = "rupees"
    error_bodies: Literal["sealed", "plain"] = "sealed"
    required_fields: Literal["lenient", "strict"] = "lenient"

    def public(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class ProfileError(ValueError):
    """A profile override that names an unknown key or a value the key does not take."""


def defaults(settings: Settings) -> dict[str, Any]:
    """Each key's default, read from its setting (JSON names)."""
    out: dict[str, Any] = {}
    for key in KEYS:
        value = getattr(settings, key.setting)
        if value is None and key.fallback == "magic_values":
            # the older boolean switch decides when the profile's own setting is not given
            value = "on" if settings.magic_values else "off"
        out[key.name] = value
    return out


def validate_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Check overrides against the model (unknown keys, bad values): the valid ones back, JSON names."""
    unknown = sorted(set(overrides) - set(BY_NAME))
    if unknown:
        raise ProfileError(f"unknown profile key(s) {', '.join(unknown)}; keys: {', '.join(BY_NAME)}")
    try:
        checked = Profile.model_validate(overrides).public()
    except ValidationError as exc:
        parts = []
        for err in exc.errors(include_url=False):
            field = ".".join(str(p) for p in err["loc"])
            options = BY_NAME[field].options if field in BY_NAME else ()
            allowed = f" (one of {', '.join(options)})" if options else ""
            parts.append(f"{field}: {err['msg'].removeprefix('Value error, ')}{allowed}")
        raise ProfileError("; ".join(parts)) from None
    # the validated values ("300" from a form becomes 300), only the keys given
    return {name: checked[name] for name in overrides}


def resolve(settings: Settings, overrides: dict[str, Any] | None) -> Profile:
    """The effective profile: the settings' defaults, then the tenant's overrides. An override the model no
    longer accepts (a key removed since it was stored) is ignored rather than locking the tenant out."""
    merged = defaults(settings)
    for name, value in (overrides or {}).items():
        if name in BY_NAME:
            merged[name] = value
    try:
        return Profile.model_validate(merged)
    except ValidationError:
        return Profile.model_validate(defaults(settings))


def describe(settings: Settings, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """What GET /_sandbox/partners/{id}/profile answers: the effective values, which ones the tenant set, and
    the settings' defaults the others follow."""
    profile = resolve(settings, overrides)
    chosen = sorted(name for name in (overrides or {}) if name in BY_NAME)
    return {"profile": profile.public(), "overrides": chosen, "defaults": defaults(settings)}


def profile_table(settings: Settings) -> str:
    """The Markdown table docs/FIDELITY.md carries (a unit test compares the two)."""
    defaults_now = defaults(settings)
    lines = [
        "| key | options | default | setting (default's source) | what it chooses | why the default (UAT) |",
        "|---|---|---|---|---|---|",
    ]
    for key in KEYS:
        options = ", ".join(f"`{o}`" for o in key.options) if key.options else f"integer {MIN_TOKEN_TTL}–{MAX_TOKEN_TTL}"
        source = f"`{key.env}`" + (f" (unset: `ENKASH_SANDBOX_{key.fallback.upper()}`)" if key.fallback else "")
        lines.append(f"| `{key.name}` | {options} | `{defaults_now[key.name]}` | {source} | {key.summary} | {key.uat} |")
    return "\n".join(lines)
