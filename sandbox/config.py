"""The one Settings object. Every knob is an ENKASH_SANDBOX_* environment variable."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
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

    token_ttl_seconds: int = 86399
    refresh_ttl_seconds: int = 30 * 86400
    max_failed_logins: int = 3
    default_encryption: EncryptionMode = "required"
    # reject: a repeated uniqueReferenceNumber is a business failure; replay: answer with the first result.
    duplicate_reference: Literal["reject", "replay"] = "reject"
    # documented: each endpoint's documented envelope; code / response_code: force one style everywhere.
    envelope_style: Literal["documented", "code", "response_code"] = "documented"
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
    # EnKash offers VKYC only 10:00-18:00 IST on working days; off by default so tests run any time
    vkyc_working_hours: bool = False

    # fault injection: how long a "timeout" fault holds the request, and a "slow" magic value delays it
    fault_timeout_seconds: float = 30.0
    # answer magic amounts/references with their faults (docs/MAGIC_VALUES.md); off for contract fuzzing
    magic_values: bool = True
    magic_slow_seconds: float = 3.0

    admin_token: str | None = None
    journal_size: int = 1000
    max_body_bytes: int = 1024 * 1024
    # bulk allocation takes up to 10 000 rows in one (encrypted) body
    max_bulk_body_bytes: int = 16 * 1024 * 1024

    def database_target(self) -> str:
        """The SQLAlchemy URL the store opens."""
        if self.database_url:
            return self.database_url
        if self.db == ":memory:":
            return "sqlite://"
        path = Path(self.db) if self.db else self.data_dir / "enkash_sandbox.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
