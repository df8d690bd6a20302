"""The one Settings object. Every knob is an ENKASH_SANDBOX_* environment variable."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from enkash_sandbox.profile import MAX_TOKEN_TTL, MIN_TOKEN_TTL
from pydantic import Field, PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

EncryptionMode = Literal["required", "optional", "off"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENKASH_SANDBOX_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".enkash-sandbox")
    # A file path, or ":memory:". Unset means <data_dir>/sandbox.db.
    db: str | None = None
    # A full SQLAlchemy URL (e.g. postgresql+psycopg://...) wins over `db`.
    database_url: str | None = None
    seed: int = 42
    fixtures_dir: Path | None = None
    seed_demo: bool = True

    # the default of the profile key tokenTtlSeconds (sandbox/profile.py): the docs' example answers 86399
    token_ttl_seconds: int = Field(default=86399, ge=MIN_TOKEN_TTL, le=MAX_TOKEN_TTL)
    refresh_ttl_seconds: int = 30 * 86400
    max_failed_logins: int = 3
    # a locked login unlocks by itself this long after the lock (sandbox clock), so a shared demo login does not
    # stay locked for good
    lockout_seconds: int = Field(default=900, ge=1, le=366 * 86400)
    default_encryption: EncryptionMode = "required"
    # reject: a repeated uniqueReferenceNumber is a business failure; replay: answer with the first result.
    duplicate_reference: Literal["reject", "replay"] = "reject"
    # documented: each endpoint's documented envelope; code / response_code: force one style everywhere.
    envelope_style: Literal["documented", "code", "response_code"] = "documented"
    # the fidelity profile's defaults (sandbox/profile.py, docs/FIDELITY.md "Fidelity profile"); a tenant may
    # override each one. duplicate_reference, envelope_style and token_ttl_seconds are profile keys too.
    profile_search_by_id: Literal["list", "card"] = "list"
    profile_transaction_rows: Literal["webhook", "sandbox"] = "webhook"
    profile_balance_debit: Literal["refuse", "allow"] = "refuse"
    profile_gift_load_amount: Literal["optional", "required"] = "optional"
    profile_otp_response: Literal["string", "object"] = "string"
    profile_replace_card_response: Literal["string", "object"] = "string"
    profile_redemption_auth: Literal["both", "partner", "holder"] = "both"
    profile_get_encryption: Literal["sealed", "plain"] = "sealed"
    profile_id_key_casing: Literal["both", "strict"] = "both"
    profile_numeric_strings: Literal["accept", "refuse"] = "accept"
    profile_error_bodies: Literal["sealed", "plain"] = "sealed"
    profile_required_fields: Literal["lenient", "strict"] = "lenient"
    # payouts (issue 20): the token response's key casing, the transfer mode when none is sent, the in-flight
    # status name, and how the statement writes amounts
    profile_token_casing: Literal["snake", "camel"] = "snake"
    profile_default_transfer_mode: Literal["IMPS", "NEFT"] = "IMPS"
    profile_in_flight_status: Literal["PROCESSING", "CALL_MADE"] = "PROCESSING"
    profile_statement_amount: Literal["rupees", "paise"] = "rupees"
    # unset: ENKASH_SANDBOX_MAGIC_VALUES decides (true -> on, false -> off)
    profile_magic_values: Literal["on", "header", "off"] | None = None
    default_fund_balance: str = "100000"
    # password of every card holder the sandbox creates (username = the holder's mobile)
    holder_password: str = "Holder@1234"

    otp_value: str = "123456"
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 3
    # the one authenticator code that passes when otpMedium is MFA (any other code fails)
    mfa_code: str = "123456"
    vkyc_link_ttl_seconds: int = 3600
    # an SSO token can be reused until it expires (pages reload; a portal embeds the URL)
    sso_ttl_seconds: int = 900
    # how long an order with a pending magic reference stays PENDING (sandbox clock)
    pending_order_seconds: int = 60
    # how long an authorization hold lasts before it is released unused (sandbox clock): 7 days, as card
    # networks commonly let an uncleared authorization stand
    hold_expiry_seconds: int = Field(default=7 * 86400, ge=1, le=366 * 86400)
    # EnKash offers VKYC only 10:00-18:00 IST on working days; off by default so tests run any time
    vkyc_working_hours: bool = False

    # fault injection: how long a "timeout" fault holds the request, and a "slow" magic value delays it
    fault_timeout_seconds: float = 30.0
    # answer magic amounts/references with their faults (docs/MAGIC_VALUES.md); off for contract fuzzing
    magic_values: bool = True
    magic_slow_seconds: float = 3.0

    admin_token: str | None = None
    # `serve` beyond loopback without an admin token would open reset, funding and the demo credentials to the
    # network: it refuses, unless this says the port is published on loopback only (the compose file does)
    allow_open_control_plane: bool = False
    # extra Host names a loopback-bound sandbox answers to (comma-separated; "*" for any)
    allowed_hosts: str = ""
    # where partners reach this sandbox (e.g. https://sandbox.example.com behind a proxy): the absolute URLs of
    # answers — card images, T&C, catalog images, SSO and VKYC links — start with it. Unset: the base URL each
    # request arrived on
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    journal_size: int = 1000
    # the journal keeps at most this much of each body (the rest is marked truncated) and this much in all
    journal_body_bytes: int = 64 * 1024
    journal_max_bytes: int = 32 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    # the event loop uvicorn runs: asyncio (fair tails under load, bench/README) or uvloop
    loop: Literal["asyncio", "uvloop"] = "asyncio"
    # a connection whose request headers are not complete by then is closed (slow clients hold nothing)
    header_timeout_seconds: float = 10.0
    # a client that has not sent its whole body by then gets 408 (a trickling client holds nothing for ever)
    body_timeout_seconds: float = 30.0

    # webhooks (docs/WEBHOOKS.md): attempts before a delivery gives up and its subscription is marked failing;
    # the receiver's timeout; the waits between attempts on the sandbox clock (the last one repeats); how often
    # each worker process looks for due deliveries; off: no process delivers (deliveries stay queued)
    webhook_max_attempts: int = Field(default=5, ge=1, le=100)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    webhook_backoff_seconds: str = "30,120,600,3600,21600"
    webhook_poll_seconds: float = Field(default=0.15, gt=0, le=60)
    webhook_deliverer: bool = True

    _memory_dir: Path | None = PrivateAttr(default=None)

    def webhook_backoff(self) -> list[float]:
        """The retry waits in seconds, e.g. "30,120,600" (30 s after the first failure, then 2 min, then 10 min)."""
        try:
            waits = [float(part) for part in self.webhook_backoff_seconds.split(",") if part.strip()]
        except ValueError:
            raise ValueError("ENKASH_SANDBOX_WEBHOOK_BACKOFF_SECONDS must be comma-separated seconds, e.g. 30,120,600") from None
        if not waits or any(not 0 <= w <= 366 * 86400 for w in waits):
            raise ValueError("ENKASH_SANDBOX_WEBHOOK_BACKOFF_SECONDS must be comma-separated seconds between 0 and a year")
        return waits

    def database_target(self) -> str:
        """The SQLAlchemy URL the store opens.

        `:memory:` is a throw-away store: a SQLite file in a private temporary folder, removed when the
        process exits. (A true in-memory database cannot be shared by the threads that serve requests
        without serialising every read behind every write.)"""
        if self.database_url:
            return self.database_url
        if self.db == ":memory:":
            if self._memory_dir is None:
                self._memory_dir = Path(tempfile.mkdtemp(prefix="enkash-sandbox-memory-"))
                atexit.register(shutil.rmtree, self._memory_dir, ignore_errors=True)
            return f"sqlite:///{self._memory_dir / 'sandbox.db'}"
        path = Path(self.db) if self.db else self.data_dir / "enkash_sandbox.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
