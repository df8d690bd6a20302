"""The one implementation of every control action: reset, snapshots, faults, clock, tenants, funding, KYC,
order settlement, journal.

The JSON control plane, the dashboard's forms and the CLI (through the JSON API) all call these functions
with the same pydantic specs, so validation and guards — the protected reset baseline, the latency cap,
finite numbers, the clock's range — cannot drift between surfaces. Every failure is an OpsError carrying the
HTTP status the JSON API answers with and the message the dashboard shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from enkash_sandbox import profile as profiles
from enkash_sandbox.clock import ClockOutOfRange
from enkash_sandbox.errors import VendorError
from enkash_sandbox.faults.engine import ACTIONS, MAX_DELAY_MS, WEBHOOK_FAULTS
from enkash_sandbox.money import MAX_AMOUNT
from enkash_sandbox.products.rewards.schemas import SsoRequest
from enkash_sandbox.products.spend.schemas import AmountSpec, AuthorizeSpec, ClearSpec, IncrementSpec
from enkash_sandbox.store.snapshots import SnapshotConflict, SnapshotError
from enkash_sandbox.store.tables import Card, CardAccount
from enkash_sandbox.vocabulary import KYC_STATUS_LABELS
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

if TYPE_CHECKING:
    from enkash_sandbox.container import Container
    from enkash_sandbox.ops.webhooks import WebhookOps


class OpsError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{field}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse(spec: type[BaseModel], data: Any) -> Any:
    """Validate a spec from anything (a form, the CLI): 422 with a readable message on failure."""
    try:
        return spec.model_validate(data)
    except ValidationError as exc:
        raise OpsError(422, validation_message(exc)) from None


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


SnapshotName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Money = Annotated[Decimal, Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)]


# -- specs ------------------------------------------------------------------------------------------
class ResetSpec(Spec):
    seed: int | None = Field(default=None, ge=0, le=2**62, description="seed this reset only (see keepSeed)")
    keepSeed: bool = Field(default=False, description="make `seed` the one later plain resets return to")


class SnapshotSpec(Spec):
    name: SnapshotName

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name.startswith("__"):
            raise ValueError("names starting with '__' are reserved for the sandbox's own reset baseline")
        return name


class RestoreSpec(Spec):
    adoptSeed: bool = Field(
        default=False, description="restore a snapshot taken under another seed, and switch the store to that seed"
    )


def _profile_choices(value: dict[str, Any] | None, *, allow_null: bool) -> dict[str, Any] | None:
    """Fidelity profile keys and values, checked against sandbox/profile.py (unknown key or value -> 422)."""
    if value is None:
        return None
    cleared = {name for name, v in value.items() if v is None}
    if cleared and not allow_null:
        raise ValueError(f"{', '.join(sorted(cleared))}: a value is needed (null clears a choice only in PATCH)")
    unknown = sorted(cleared - set(profiles.BY_NAME))
    if unknown:
        raise ValueError(f"unknown profile key(s) {', '.join(unknown)}; keys: {', '.join(profiles.BY_NAME)}")
    try:
        checked = profiles.validate_overrides({k: v for k, v in value.items() if v is not None})
    except profiles.ProfileError as exc:
        raise ValueError(str(exc)) from None
    return {**checked, **dict.fromkeys(cleared)}


class ProvisionSpec(Spec):
    encryption: Literal["required", "optional", "off"] | None = None
    fundBalance: Decimal = Field(default=Decimal("100000"), ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False)
    companyName: str | None = Field(default=None, min_length=1, max_length=100)
    profile: dict[str, Any] | None = Field(
        default=None, description="fidelity profile keys this tenant chooses (docs/FIDELITY.md); the rest follow the settings"
    )

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _profile_choices(value, allow_null=False)


def _profile_schema(schema: dict[str, Any]) -> None:
    """The control plane's OpenAPI names every key, its options and what it chooses (null: back to the default)."""
    keys = profiles.Profile.model_json_schema(by_alias=True)["properties"]
    schema["properties"] = {
        name: {
            "anyOf": [{k: v for k, v in spec.items() if k not in ("default", "title")}, {"type": "null"}],
            "description": profiles.BY_NAME[name].summary,
        }
        for name, spec in keys.items()
    }
    schema["additionalProperties"] = False


class ProfileSpec(Spec):
    """PATCH /_sandbox/partners/{id}/profile: each key given is set; a key given as null goes back to the default."""

    # the keys are checked against sandbox/profile.py by the validator below (the model keeps them as extras)
    model_config = ConfigDict(extra="allow", json_schema_extra=_profile_schema)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a JSON object of profile keys")
        if not data:
            raise ValueError(f"name at least one profile key; keys: {', '.join(profiles.BY_NAME)}")
        return _profile_choices(data, allow_null=True)

    def changes(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def profile_changes_from_pairs(pairs: list[str]) -> ProfileSpec:
    """`key=value` pairs (the CLI's --set, the dashboard's form) into the spec; `key=` clears a choice."""
    data: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise OpsError(422, f"{pair!r}: expected key=value (key= clears the tenant's choice)")
        data[name.strip()] = value.strip() or None
    return parse(ProfileSpec, data)


class EncryptionSpec(Spec):
    encryption: Literal["required", "optional", "off"]


class FundSpec(Spec):
    amount: Money
    remarks: str | None = Field(default=None, max_length=255)


class UnlockSpec(Spec):
    username: str | None = Field(default=None, max_length=100)


class LoginUnlockSpec(Spec):
    username: str = Field(min_length=1, max_length=100, description="a partner's username or a card holder's mobile")


class KycSpec(Spec):
    kycStatus: Literal[tuple(KYC_STATUS_LABELS)]  # type: ignore[valid-type]


class SettleSpec(Spec):
    status: Literal["SUCCESS", "FAILED"]


class ClockSpec(Spec):
    action: Literal["freeze", "unfreeze", "set", "advance", "reset"]
    at: datetime | None = Field(default=None, description="ISO-8601 instant, for set (and optionally freeze)")
    seconds: float | None = Field(
        default=None, allow_inf_nan=False, ge=-100 * 366 * 86400, le=100 * 366 * 86400, description="for advance; may be negative"
    )

    @model_validator(mode="after")
    def _needs(self):
        if self.action == "set" and self.at is None:
            raise ValueError("set needs `at`")
        if self.action == "advance" and self.seconds is None:
            raise ValueError("advance needs `seconds`")
        return self


class BodyField(Spec):
    name: str = Field(min_length=1, max_length=100, description="dotted path into the decrypted JSON body")
    equals: str | int | float | bool

    @field_validator("equals")
    @classmethod
    def _finite(cls, value):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


Latency = Annotated[float, Field(ge=0, le=MAX_DELAY_MS, allow_inf_nan=False)]


class FaultAction(Spec):
    type: Literal[ACTIONS]  # type: ignore[valid-type]
    status: int | None = Field(default=None, ge=400, le=599, description="for type=status")
    message: str | None = Field(default=None, min_length=1, max_length=500)
    latencyMs: Latency | list[Latency] | None = Field(
        default=None, description=f"fixed ms, or [min, max] per hit (at most {MAX_DELAY_MS})"
    )
    retryAfter: int | None = Field(default=None, ge=0, le=3600)

    @model_validator(mode="after")
    def _consistent(self):
        if self.type == "status" and self.status is None:
            raise ValueError("type=status needs `status`")
        if self.type != "status" and self.status is not None:
            raise ValueError("`status` goes with type=status only")
        if isinstance(self.latencyMs, list) and (len(self.latencyMs) != 2 or self.latencyMs[0] > self.latencyMs[1]):
            raise ValueError("latencyMs range must be [min, max]")
        if self.type == "latency" and self.latencyMs is None:
            raise ValueError("type=latency needs `latencyMs`")
        return self


class FaultRuleSpec(Spec):
    method: str | None = Field(default=None, pattern=r"^[A-Za-z]{1,10}$")
    path: str = Field(default="*", min_length=1, max_length=300, description="glob over the request path, e.g. /api/v0/partner/*")
    partnerId: str | None = Field(default=None, min_length=1, max_length=64, description="only this tenant's requests")
    bodyField: BodyField | None = None
    action: FaultAction
    times: int | None = Field(default=None, ge=1, le=1_000_000, description="apply to the next N matching requests")
    probability: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False, description="apply with this probability")
    seed: int = Field(default=0, ge=0, le=2**62, description="seed of the probability draws: same seed, same sequence")
    target: Literal["request", "webhook"] = Field(
        default="request",
        description="request: partners' calls (path = request path); webhook: the sandbox's webhook deliveries "
        "(path = a glob over the event type, e.g. CARD_TRANSACTION_*; actions drop, latency, timeout, status)",
    )

    @model_validator(mode="after")
    def _webhook_target(self):
        if self.target == "webhook":
            if self.method is not None or self.bodyField is not None:
                raise ValueError("a webhook rule matches the event type (path) and partnerId, not method or bodyField")
            if self.action.type not in WEBHOOK_FAULTS:
                raise ValueError(f"a webhook rule's action is one of {', '.join(WEBHOOK_FAULTS)}")
        return self


def fault_spec_from_form(form: dict[str, str]) -> FaultRuleSpec:
    """The dashboard's fault form, read into the same spec the JSON API takes (empty fields are absent)."""

    def given(key: str) -> str | None:
        value = (form.get(key) or "").strip()
        return value or None

    action: dict[str, Any] = {"type": given("type")}
    for key in ("status", "message", "latencyMs", "retryAfter"):
        if given(key) is not None:
            action[key] = given(key)
    body: dict[str, Any] = {"action": action, "path": given("path") or "*"}
    for key in ("method", "partnerId", "times", "probability", "target"):
        if given(key) is not None:
            body[key] = given(key)
    return parse(FaultRuleSpec, body)


def rule_view(rule) -> dict:
    return {"id": rule.id, "partnerId": rule.partner_id, **rule.spec, "remaining": rule.remaining, "hits": rule.hits}


# -- the actions ------------------------------------------------------------------------------------
class Ops:
    def __init__(self, sandbox: Container) -> None:
        self.sandbox = sandbox

    # state
    def reset(self, spec: ResetSpec) -> dict:
        started = time.perf_counter()
        if spec.keepSeed and spec.seed is None:
            raise OpsError(422, "keepSeed needs a seed to keep")
        result = self.sandbox.reset(spec.seed, keep_seed=spec.keepSeed)
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        return {"reset": True, "seed": result["seed"], "homeSeed": result["homeSeed"], "elapsedMs": elapsed}

    def reset_tenant(self, partner_id: str) -> dict:
        if not self.sandbox.tenants.reset(partner_id):
            raise OpsError(404, f"unknown partner {partner_id}")
        return {"reset": True, "partnerId": partner_id}

    def take_snapshot(self, spec: SnapshotSpec) -> dict:
        try:
            return self.sandbox.state.take(spec.name)
        except SnapshotError as exc:
            raise OpsError(422, str(exc)) from None

    def restore_snapshot(self, name: str, spec: RestoreSpec) -> dict:
        name = parse(SnapshotSpec, {"name": name}).name
        started = time.perf_counter()
        # a restore copies a whole state, meta included: the seed a plain reset returns to stays what it was
        home = self.sandbox.home_seed()
        try:
            seed = self.sandbox.state.restore(name, adopt_seed=spec.adoptSeed)
        except KeyError:
            raise OpsError(404, f"no snapshot named {name}") from None
        except SnapshotConflict as exc:
            raise OpsError(409, str(exc)) from None
        except SnapshotError as exc:
            raise OpsError(422, str(exc)) from None
        self.sandbox.keep_home_seed(home)
        return {"restored": name, "seed": seed, "elapsedMs": round((time.perf_counter() - started) * 1000, 2)}

    def delete_snapshot(self, name: str) -> dict:
        name = parse(SnapshotSpec, {"name": name}).name
        if not self.sandbox.state.delete(name):
            raise OpsError(404, f"no snapshot named {name}")
        return {"deleted": name}

    def snapshots(self) -> list[dict]:
        state = self.sandbox.state
        return [state.describe(name) for name in state.names()]

    # tenants and money
    def provision(self, spec: ProvisionSpec) -> dict:
        return self.sandbox.tenants.provision(
            encryption=spec.encryption, fund_balance=spec.fundBalance, name=spec.companyName, profile=spec.profile
        )

    def profile(self, partner_id: str) -> dict:
        found = self.sandbox.tenants.profile(partner_id)
        if found is None:
            raise OpsError(404, f"unknown partner {partner_id}")
        return found

    def change_profile(self, partner_id: str, spec: ProfileSpec) -> dict:
        changed = self.sandbox.tenants.change_profile(partner_id, spec.changes())
        if changed is None:
            raise OpsError(404, f"unknown partner {partner_id}")
        return changed

    def set_encryption(self, partner_id: str, spec: EncryptionSpec) -> dict:
        if not self.sandbox.tenants.set_encryption(partner_id, spec.encryption):
            raise OpsError(404, f"unknown partner {partner_id}")
        return {"partnerId": partner_id, "encryption": spec.encryption}

    def unlock(self, partner_id: str, spec: UnlockSpec) -> dict:
        count = self.sandbox.auth.unlock(partner_id, spec.username)
        if count < 0:
            raise OpsError(404, f"unknown partner {partner_id}")
        return {"partnerId": partner_id, "unlocked": count}

    def holder_page(self, card_id: str, page: Literal["portal", "vkyc"]) -> dict:
        """A fresh link to what the card's holder sees: the rewards portal (an SSO token, as the partner's
        sso-token call makes it) or the VKYC page (as vkyc/link makes it). The dashboard opens it."""
        with self.sandbox.db.read() as s:
            card = s.get(Card, card_id)
            account = s.get(CardAccount, card.account_id) if card is not None else None
        if card is None or account is None:
            raise OpsError(404, f"unknown card {card_id}")
        if page == "portal":
            request = SsoRequest(cardAccountId=account.id, companyId=account.company_id, enkashCardId=card.id)
            return {"url": self.sandbox.rewards.sso_token(account.partner_id, request, "")["employeeRewardsUrl"]}
        link = self.sandbox.lifecycle.vkyc_link(account.partner_id, account.company_id, account.id, card.id, "")
        return {"url": link["vkycLink"]}

    def unlock_login(self, spec: LoginUnlockSpec) -> dict:
        """Unlock a login in whichever tenants have it locked (the CLI's `unlock USER` without --partner)."""
        found = self.sandbox.auth.unlock_login(spec.username)
        return {"username": spec.username, "unlocked": sum(found.values()), "partners": sorted(found)}

    def fund(self, account_id: str, spec: FundSpec) -> dict:
        try:
            result = self.sandbox.tenants.fund(account_id, spec.amount, spec.remarks)
        except VendorError as exc:
            raise OpsError(422 if exc.status == 200 else exc.status, exc.message) from None
        if result is None:
            raise OpsError(404, f"unknown card account {account_id}")
        return result

    def set_kyc(self, card_id: str, spec: KycSpec) -> dict:
        if not self.sandbox.lifecycle.set_kyc(card_id, spec.kycStatus):
            raise OpsError(404, f"unknown card {card_id}")
        return {"enKashCardId": card_id, "kycStatus": spec.kycStatus}

    def set_card_status(self, card_id: str, block_code: str) -> dict:
        if block_code not in ("L", "UL", "BL"):
            raise OpsError(422, "blockCode must be L, UL or BL")
        try:
            self.sandbox.lifecycle.admin_set_status(card_id, block_code)
        except VendorError as exc:
            raise OpsError(404 if exc.status == 404 else 409, exc.message) from None
        return {"enKashCardId": card_id, "blockCode": block_code}

    def settle_due(self) -> dict:
        return {"settled": self.sandbox.marketplace.settle()}

    def settle(self, order_id: str, spec: SettleSpec) -> dict:
        count = self.sandbox.marketplace.settle(order_id, force=spec.status)
        if not count:
            raise OpsError(404, f"no pending order {order_id}")
        return {"settled": count, "orderStatus": spec.status}

    # faults
    def add_fault(self, spec: FaultRuleSpec) -> dict:
        # a request rule is stored as before (no target key); a webhook rule says so
        body = spec.model_dump(
            exclude_none=True, exclude={"partnerId", "times"} | ({"target"} if spec.target == "request" else set())
        )
        return rule_view(self.sandbox.faults.add_rule(body, spec.partnerId, spec.times))

    def faults(self) -> list[dict]:
        """The rules with their live counters (read from the store, not this worker's copy)."""
        return [rule_view(rule) for rule in self.sandbox.faults.stored_rules()]

    def delete_fault(self, rule_id: str) -> dict:
        if not self.sandbox.faults.delete_rule(rule_id):
            raise OpsError(404, f"no fault rule {rule_id}")
        return {"deleted": rule_id}

    def clear_faults(self) -> dict:
        return {"deleted": self.sandbox.faults.delete_rule()}

    # clock
    def clock(self, spec: ClockSpec) -> dict:
        try:
            at = spec.at.astimezone(UTC).replace(tzinfo=None) if spec.at and spec.at.tzinfo else spec.at
            if spec.action == "freeze":
                self.sandbox.control.change_clock(lambda c: c.freeze(at))
            elif spec.action == "unfreeze":
                self.sandbox.control.change_clock(lambda c: c.unfreeze())
            elif spec.action == "set":
                assert at is not None  # ClockSpec requires `at` for set
                self.sandbox.control.change_clock(lambda c: c.set(at))
            elif spec.action == "advance":
                seconds = spec.seconds
                assert seconds is not None  # ClockSpec requires `seconds` for advance
                self.sandbox.control.change_clock(lambda c: c.advance(seconds))
            else:
                from enkash_sandbox.clock import ClockState

                self.sandbox.control.change_clock(lambda c: ClockState())
        except (ClockOutOfRange, OverflowError) as exc:
            raise OpsError(422, str(exc) or "the clock would leave its range") from None
        # holds whose time has now passed are released at once (reads release them too, lazily)
        self.sandbox.spend.expire_due()
        # retries that became due run now, not at this process's next poll (others poll within ~150 ms)
        self.sandbox.deliverer.wake()
        return self.sandbox.clock.state()

    # card spending (simulations: EnKash has no partner API for a purchase)
    def authorize(self, card_id: str, spec: AuthorizeSpec) -> dict:
        return self._spending(lambda: self.sandbox.spend.authorize(card_id, spec))

    def clear(self, txn_id: str, spec: ClearSpec) -> dict:
        return self._spending(lambda: self.sandbox.spend.clear(txn_id, spec.amount, spec.final))

    def reverse(self, txn_id: str, spec: AmountSpec) -> dict:
        return self._spending(lambda: self.sandbox.spend.reverse(txn_id, spec.amount))

    def refund(self, txn_id: str, spec: AmountSpec) -> dict:
        return self._spending(lambda: self.sandbox.spend.refund(txn_id, spec.amount))

    def increment(self, txn_id: str, spec: IncrementSpec) -> dict:
        return self._spending(lambda: self.sandbox.spend.increment(txn_id, spec.amount))

    def authorization(self, txn_id: str) -> dict:
        return self._spending(lambda: self.sandbox.spend.get(txn_id))

    def card_authorizations(self, card_id: str, limit: int = 100) -> dict:
        def read() -> dict:
            return {
                "enKashCardId": card_id,
                "usage": self.sandbox.spend.usage(card_id),
                "authorizations": self.sandbox.spend.of_card(card_id, limit),
            }

        return self._spending(read)

    @staticmethod
    def _spending(action: Callable[[], dict]) -> dict:
        try:
            return action()
        except VendorError as exc:
            # not found -> 404; a state the operation does not allow -> 409; an amount it cannot take -> 422
            raise OpsError(exc.status if exc.status != 200 else 409, exc.message) from None

    # webhooks (ops/webhooks.py: registrations, deliveries, redeliver, fire)
    @property
    def webhooks(self) -> WebhookOps:
        from enkash_sandbox.ops.webhooks import WebhookOps  # imports this module's OpsError and Spec

        return WebhookOps(self.sandbox)

    # journal
    def journal(self, **filters) -> list[dict]:
        return self.sandbox.journal.query(**filters)

    def journal_entry(self, entry_id: int) -> dict:
        entry = self.sandbox.journal.get(entry_id)
        if entry is None:
            # the journal is a bounded ring per worker process: an old entry, or one another worker served
            raise OpsError(404, f"no journal entry {entry_id} in this worker's journal (it keeps the latest entries)")
        return entry

    def clear_journal(self) -> dict:
        return {"deleted": self.sandbox.journal.clear()}

    # OTP inbox
    def otps(self, *, card_id: str | None, mobile: str | None, partner_id: str | None, limit: int) -> list[dict]:
        for name, value in (("enKashCardId", card_id), ("mobile", mobile), ("partnerId", partner_id)):
            if value is not None and not value.strip():
                raise OpsError(422, f"{name} must not be empty")
        if mobile and not (partner_id or card_id):
            # one mobile can belong to holders of several tenants (parallel tests reuse numbers)
            raise OpsError(422, "a mobile number is not unique across tenants: add partnerId (or enKashCardId)")
        return self.sandbox.otp.inbox(card_id=card_id, mobile=mobile, partner_id=partner_id, limit=limit)
