"""SQLModel tables. Money columns hold integer paise (see sandbox.money)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, LargeBinary, Table, UniqueConstraint, text
from sqlalchemy.sql.elements import TextClause
from sqlmodel import Field, SQLModel

# Every table model below defers building its pydantic validator to its first use. The sandbox never needs it:
# the ORM constructs and loads rows without validating them (requests are validated by the slices' own request
# models), and building them cost a quarter of these classes' import time, at every start. Set on SQLModel's
# base config because a table model reads its config from its bases when it is defined.
SQLModel.model_config["defer_build"] = True

# one live (not replaced) card per holder and account, enforced by the store on every engine
LIVE_CARD = text("replaced_by IS NULL")


def _money() -> Column:
    return Column(BigInteger, nullable=False, default=0)


def partial_index(
    name: str, *columns: str, where: TextClause, postgresql_where: TextClause | None = None, unique: bool = False
) -> Index:
    """An index over the rows that match `where` (PostgreSQL's predicate may be spelled differently). The
    PostgreSQL predicate is attached by use_postgresql() when a PostgreSQL store opens: naming it here
    (`postgresql_where=`) makes SQLAlchemy import its PostgreSQL dialect and drivers' modules, which every
    SQLite sandbox would then pay for at start-up."""
    index = Index(name, *columns, unique=unique, sqlite_where=where)
    index.info["postgresql_where"] = where if postgresql_where is None else postgresql_where
    return index


def use_postgresql() -> None:
    """Give every partial index its PostgreSQL predicate; before a PostgreSQL store's first DDL (idempotent)."""
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            where = index.info.get("postgresql_where")
            if where is not None:
                index.dialect_kwargs["postgresql_where"] = where


def table_of(model: type[SQLModel]) -> Table:
    """A table model's Core table, for Core statements (bulk inserts of plain rows)."""
    # SQLAlchemy's declarative mapping sets __table__ on every table model; SQLModel's types do not declare it
    return model.__table__  # type: ignore[attr-defined]


def _ts(nullable: bool = False) -> Any:  # Any, like the sqlmodel.Field() it returns
    # naive UTC everywhere; a plain DateTime column keeps SQLModel from demanding tz-aware values
    return Field(default=None if nullable else ..., sa_column=Column(DateTime, nullable=nullable))


class Meta(SQLModel, table=True):
    """Small key/value facts about the store: seed, seeded flag, clock state."""

    key: str = Field(primary_key=True)
    value: str


class ControlState(SQLModel, table=True):
    """The one row every worker process reads at the start of a request: the sandbox clock, the store's
    seed, the fault-rule version and the epoch (a random token replaced by every reset, restore and
    tenant reset, so a worker knows to drop what it cached from the store)."""

    __tablename__ = "control_state"
    id: int = Field(default=1, primary_key=True)
    epoch: str
    seed: int
    faults_version: int = 0
    clock_offset_us: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    clock_frozen_at: datetime | None = _ts(nullable=True)


class SnapshotBlob(SQLModel, table=True):
    """Named snapshots (and the reset baseline) of a PostgreSQL store, kept in the store itself so that every
    worker and replica sees the same list. SQLite stores keep theirs as files beside the database."""

    __tablename__ = "snapshot_blob"
    __table_args__ = ({"info": {"survives_reset": True, "survives_tenant_reset": True}},)
    name: str = Field(primary_key=True)
    seed: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _ts()


class StoreSecret(SQLModel, table=True):
    """Secrets of the store itself (the dashboard's CSRF key), shared by every worker and kept across resets."""

    __tablename__ = "store_secret"
    __table_args__ = ({"info": {"survives_reset": True, "survives_tenant_reset": True}},)
    name: str = Field(primary_key=True)
    value: str


class IdSequence(SQLModel, table=True):
    __tablename__ = "id_sequence"
    kind: str = Field(primary_key=True)
    next_value: int = 0


class Partner(SQLModel, table=True):
    id: str = Field(primary_key=True)
    name: str
    client_id: str = Field(index=True, unique=True)
    client_secret: str
    username: str
    password_hash: str
    encryption: str = "required"
    # the fidelity profile keys this tenant chose (JSON names, sandbox/profile.py); the rest follow the settings
    profile: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    failed_logins: int = 0
    locked: bool = False
    # when the lock was set (sandbox clock); it lifts ENKASH_SANDBOX_LOCKOUT_SECONDS later
    locked_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class Company(SQLModel, table=True):
    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    name: str
    email: str | None = None
    mobile: str | None = None
    created_at: datetime = _ts()


class CardAccount(SQLModel, table=True):
    __tablename__ = "card_account"
    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    company_id: str = Field(index=True, foreign_key="company.id")
    account_type: str
    title: str
    plan_master_id: str | None = None
    email: str | None = None
    mobile: str | None = None
    balance_minor: int = Field(sa_column=_money())
    primary_card_id: str | None = None
    created_at: datetime = _ts()


class CardHolder(SQLModel, table=True):
    """An EnKash user (EK...) of a company; may log in with the password grant."""

    __tablename__ = "card_holder"
    __table_args__ = (
        # a mobile identifies one holder in a company: two racing creates cannot both make one
        partial_index("ix_holder_company_mobile", "company_id", "mobile", unique=True, where=text("mobile IS NOT NULL")),
        Index("ix_holder_company_email", "company_id", "email"),
        Index("ix_holder_partner_mobile", "partner_id", "mobile"),
    )
    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    company_id: str = Field(foreign_key="company.id")
    title: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    gender: str | None = None
    special_date: str | None = None
    pan: str | None = None
    # address, delivery address and KYC documents: read whole, never queried by field
    profile: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    password_hash: str | None = None
    failed_logins: int = 0
    locked: bool = False
    # when the lock was set (sandbox clock); it lifts ENKASH_SANDBOX_LOCKOUT_SECONDS later
    locked_at: datetime | None = _ts(nullable=True)
    coin_balance: int = 0
    created_at: datetime = _ts()


class Card(SQLModel, table=True):
    __table_args__ = (
        Index("ix_card_account_user", "account_id", "user_id"),
        partial_index("uq_card_live_holder", "account_id", "user_id", unique=True, where=LIVE_CARD),
        Index("ix_card_account_seq", "account_id", "seq"),
    )
    id: str = Field(primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))  # issue order
    partner_id: str = Field(index=True, foreign_key="partner.id")
    account_id: str = Field(foreign_key="card_account.id")
    user_id: str = Field(index=True, foreign_key="card_holder.id")
    token: str
    masked_number: str
    expiry_month: str
    expiry_year: str
    balance_minor: int = Field(sa_column=_money())
    status: str = "UL"
    kyc_status: str = "NOT_UPLOADED"
    bin_type: str
    kit_type: str = "RUPAY"
    physical_card: bool = False
    primary_card: bool = False
    card_activated: bool = True
    load_amount_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    last_allocated_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    remarks: str | None = None
    # usage controls and their admin overrides, velocity limits, PIN hash: read whole with the card
    controls: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    replaced_by: str | None = None
    pin_hash: str | None = None
    created_at: datetime = _ts()
    modified_at: datetime = _ts()


class Transaction(SQLModel, table=True):
    """One movement a partner can see (ECT...). Its ledger rows carry the balance changes."""

    __table_args__ = (
        UniqueConstraint("account_id", "pg_reference_number", name="uq_txn_account_reference"),
        # a card's history is always asked for within its account: one index serves the account's list and
        # the card's (SQLite, without statistics, would otherwise pick the account index and filter)
        Index("ix_txn_account_card_created", "account_id", "card_id", "created_at"),
        Index("ix_txn_account_created", "account_id", "created_at"),
        # an order is refunded at most once, whichever worker or clock tick settles it
        partial_index("uq_txn_order_refund", "order_id", unique=True, where=text("type = 'REFUND'")),
    )
    id: str = Field(primary_key=True)
    # the order transactions happened in, even when the (frozen) clock gives them one timestamp
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    partner_id: str = Field(index=True, foreign_key="partner.id")
    account_id: str = Field(foreign_key="card_account.id")
    card_id: str | None = None
    user_id: str | None = None
    # direction from the card's point of view (CR = money into the card); account-only movements
    # (funding) use the account's point of view
    direction: str
    type: str
    transaction_code: str | None = None
    amount_minor: int = Field(sa_column=_money())
    card_balance_after_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    account_balance_after_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    pg_reference_number: str | None = None
    status: str = "SUCCESS"
    description: str | None = None
    remarks: str | None = None
    created_by: str | None = None
    # the voucher order a REDEMPTION or REFUND belongs to
    order_id: str | None = None
    # what the first request was answered with, for duplicate_reference=replay
    response: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts()


class CardAuthorization(SQLModel, table=True):
    """A simulated card purchase (POST /_sandbox/cards/{id}/authorize), approved or declined. Its id is the id
    of the transaction that recorded it (ECT...). An approved one's money is always in exactly one place:
    authorized = held + cleared + released (the audit checks it); held is a ledger balance of its own (holder
    kind HOLD), so a hold shows in the ledger like any card or account balance."""

    __tablename__ = "card_authorization"
    __table_args__ = (
        # a card's authorizations, newest first
        Index("ix_auth_card_created", "card_id", "created_at"),
        # the hold-expiry sweep, store-wide and for one card (before each of its authorizations)
        Index("ix_auth_state_expires", "state", "hold_expires_at"),
        Index("ix_auth_card_state_expires", "card_id", "state", "hold_expires_at"),
    )
    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    company_id: str
    account_id: str = Field(foreign_key="card_account.id")
    card_id: str
    user_id: str
    # APPROVED | DECLINED (the decision); state follows the money: HELD, CLEARED, REVERSED, EXPIRED, DECLINED
    decision: str
    state: str
    decline_reasons: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    capture: bool = True
    amount_minor: int = Field(sa_column=_money())  # asked for first (increments add to authorized, not to this)
    authorized_minor: int = Field(sa_column=_money())
    held_minor: int = Field(sa_column=_money())
    cleared_minor: int = Field(sa_column=_money())
    released_minor: int = Field(sa_column=_money())
    refunded_minor: int = Field(sa_column=_money())
    currency: str = "INR"
    channel: str
    international: bool = False
    merchant_name: str
    mcc: str
    merchant_country: str = "IND"
    network: str = "RUPAY"
    retrieval_ref_no: str
    trace_no: str
    hold_expires_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    modified_at: datetime = _ts()


class CardUsage(SQLModel, table=True):
    """A card's spending in one velocity period (an IST day, month or year, or a day on one channel): the running
    sums every authorization reads instead of re-adding the card's history. Written in the transaction that
    approves, increments or releases an authorization; the audit recomputes them from the authorizations."""

    __tablename__ = "card_usage"
    card_id: str = Field(primary_key=True)
    # D:2026-12-01, M:2026-12, Y:2026, C:2026-12-01:POS (IST)
    period: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    amount_minor: int = Field(sa_column=_money())
    count: int = 0


class LedgerEntry(SQLModel, table=True):
    """A signed change to one balance (an account's or a card's), written with the change itself."""

    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_holder", "holder_kind", "holder_id"),)
    id: int | None = Field(default=None, primary_key=True)
    txn_id: str = Field(index=True, foreign_key="transaction.id")
    partner_id: str = Field(index=True)
    holder_kind: str  # ACCOUNT | CARD | HOLD
    holder_id: str
    amount_minor: int = Field(sa_column=_money())
    balance_after_minor: int = Field(sa_column=_money())
    created_at: datetime = _ts()


class Token(SQLModel, table=True):
    # sessions outlive a tenant's data reset: a test suite keeps its token across resets
    __table_args__ = ({"info": {"survives_tenant_reset": True}},)
    access_token: str = Field(primary_key=True)
    refresh_token: str | None = Field(default=None, index=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    user_id: str | None = None
    card_id: str | None = None  # the card an SSO token was issued for
    kind: str  # partner | user | sso
    expires_at: datetime = _ts()
    refresh_expires_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()


class Otp(SQLModel, table=True):
    """An OTP "sent" to a card holder's mobile; the sandbox keeps it in an inbox instead of an SMS."""

    __table_args__ = (Index("ix_otp_card", "card_id"), Index("ix_otp_mobile", "mobile"))
    id: str = Field(primary_key=True)  # otpRequestId / otpReferenceId
    partner_id: str = Field(index=True, foreign_key="partner.id")
    card_id: str
    mobile: str | None = None
    action: str
    code: str
    attempts: int = 0
    used: bool = False
    expires_at: datetime = _ts()
    created_at: datetime = _ts()


class VkycSession(SQLModel, table=True):
    __tablename__ = "vkyc_session"
    token: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    card_id: str = Field(index=True)
    completed: bool = False
    expires_at: datetime = _ts()
    created_at: datetime = _ts()


class CoinConfig(SQLModel, table=True):
    """A coin event configuration (WCC...): how many EnKash coins one occurrence of an event earns."""

    __tablename__ = "coin_config"
    __table_args__ = (UniqueConstraint("company_id", "event", name="uq_coin_event"),)
    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    company_id: str = Field(foreign_key="company.id")
    event: str
    configuration: str
    amount: int
    created_at: datetime = _ts()
    modified_at: datetime = _ts()


class CoinEntry(SQLModel, table=True):
    """The coin ledger: one row per allocation, with the holder's balance after it."""

    __tablename__ = "coin_entry"
    __table_args__ = (UniqueConstraint("partner_id", "request_id", name="uq_coin_request"), Index("ix_coin_user", "user_id"))
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    company_id: str
    user_id: str
    config_id: str
    event: str
    request_id: str
    amount: int
    balance_after: int
    created_at: datetime = _ts()


class Cart(SQLModel, table=True):
    """A card holder's cart for one product catalog (EnKash keeps one cart per brand)."""

    __table_args__ = (UniqueConstraint("user_id", "product_catalog_id", name="uq_cart_user_catalog"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    user_id: str = Field(index=True)
    product_catalog_id: str
    created_at: datetime = _ts()
    modified_at: datetime = _ts()


class CartLine(SQLModel, table=True):
    __tablename__ = "cart_line"
    __table_args__ = (UniqueConstraint("cart_id", "product_config_id", name="uq_cart_line"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    cart_id: int = Field(index=True, foreign_key="cart.id")
    product_config_id: str
    quantity: int
    custom_amount_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    description: str | None = None


class Order(SQLModel, table=True):
    """A voucher order paid from a reward card (OR...). order_reference is the partner's orderReferenceId."""

    __tablename__ = "voucher_order"
    __table_args__ = (
        UniqueConstraint("user_id", "order_reference", name="uq_order_user_reference"),
        Index("ix_order_partner_created", "partner_id", "created_at"),
    )
    id: str = Field(primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    partner_id: str = Field(foreign_key="partner.id")
    company_id: str
    user_id: str = Field(index=True)
    card_id: str
    account_id: str
    order_reference: str
    product_catalog_id: str
    product_config_id: str
    brand: str
    category: str
    aggregator: str
    denomination_minor: int = Field(sa_column=_money())
    enkash_discount: str
    quantity: int
    amount_minor: int = Field(sa_column=_money())  # what the holder paid: sellRate x quantity
    savings_minor: int = Field(sa_column=_money())
    order_status: str = "SUCCESS"
    payment_status: str = "SUCCESS"
    # a pending order settles to final_status when the sandbox clock passes settle_at
    final_status: str | None = None
    settle_at: datetime | None = _ts(nullable=True)
    txn_id: str | None = None
    refund_txn_id: str | None = None
    created_at: datetime = _ts()
    modified_at: datetime = _ts()


class Voucher(SQLModel, table=True):
    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    order_id: str = Field(index=True, foreign_key="voucher_order.id")
    code: str
    pin: str
    amount_minor: int = Field(sa_column=_money())
    expiry_date: datetime = _ts()
    created_at: datetime = _ts()


class FaultRule(SQLModel, table=True):
    """An admin fault rule (POST /_sandbox/faults). partner_id NULL applies to every tenant."""

    __tablename__ = "fault_rule"
    id: str = Field(primary_key=True)
    partner_id: str | None = Field(default=None, index=True)
    spec: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    remaining: int | None = None  # None: unlimited (or probability-driven)
    hits: int = 0
    created_at: datetime = _ts()


class TenantBaseline(SQLModel, table=True):
    """A tenant's rows as provisioned, so POST /_sandbox/partners/{id}/reset can put them back."""

    __tablename__ = "tenant_baseline"
    __table_args__ = ({"info": {"survives_tenant_reset": True}},)
    partner_id: str = Field(primary_key=True, foreign_key="partner.id")
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))


class WebhookSubscription(SQLModel, table=True):
    """A partner's webhook registration (POST /api/v0/webhook-data or /_sandbox/webhooks): where to deliver,
    which events, the static headers EnKash documents, and the sandbox's own signing secret."""

    __tablename__ = "webhook_subscription"
    id: str = Field(primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    company_id: str | None = None
    url: str
    events: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    headers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    ssl_certificate: str | None = None
    enabled: bool = True
    # sandbox extension: X-Enkash-Sandbox-Signature (HMAC-SHA256 of "t.body" with this secret)
    secret: str
    sign: bool = True
    # set when a delivery gave up after its last attempt; cleared by the next successful delivery
    failing: bool = False
    created_at: datetime = _ts()
    modified_at: datetime = _ts()
    # deleted registrations stay (disabled) so their deliveries keep their history
    deleted_at: datetime | None = _ts(nullable=True)


class WebhookEvent(SQLModel, table=True):
    """Something a partner may be told about, written in the same transaction as the change it describes."""

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_partner_created", "partner_id", "created_at"),)
    id: str = Field(primary_key=True)
    partner_id: str = Field(foreign_key="partner.id")
    company_id: str | None = None
    event_type: str
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, default=dict))
    created_at: datetime = _ts()


class WebhookDelivery(SQLModel, table=True):
    """The outbox: one row per (event, subscription), made with the event; claimed atomically by one worker
    process at a time and retried on the sandbox clock until delivered or given up."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_delivery_event_subscription"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_partner", "partner_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(foreign_key="webhook_event.id")
    subscription_id: str = Field(foreign_key="webhook_subscription.id")
    partner_id: str = Field(foreign_key="partner.id")
    # PENDING (due at next_attempt_at) -> DELIVERING (claimed until claimed_until) -> DELIVERED | FAILED
    status: str = "PENDING"
    attempts: int = 0
    next_attempt_at: datetime = _ts()
    claimed_until: datetime | None = _ts(nullable=True)
    # the claimant's token: only the process holding the current claim may record the attempt's outcome (a
    # reset, restore or expired lease in between makes its late write change nothing)
    claim_token: str | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    attempt_log: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False, default=list))
    created_at: datetime = _ts()
    delivered_at: datetime | None = _ts(nullable=True)


# -- payouts (issue 20): fund sources, beneficiaries, transfers and their own ledger -----------------------------
# Payout money is not card money: a fund source is not a card account (the card ledger's transaction rows name a
# card account), so payout movements are kept in payout_ledger_entry, one row per balance a movement changes.
NOT_REJECTED = text("status <> 'REJECTED'")


class PayoutPartner(SQLModel, table=True):
    """A tenant's payouts switch (POST /_sandbox/partners/{id}/payouts): off answers 403 "APIs not enabled"."""

    __tablename__ = "payout_partner"
    partner_id: str = Field(primary_key=True, foreign_key="partner.id")
    enabled: bool = True


class PayoutAccount(SQLModel, table=True):
    """A fund source (EnKash's virtual account a partner pays out from); its balance is in paise."""

    __tablename__ = "payout_account"
    __table_args__ = (Index("ix_payout_account_partner", "partner_id", "created_at"),)
    fund_source_id: str = Field(primary_key=True)
    partner_id: str = Field(foreign_key="partner.id")
    company_id: str | None = None
    debit_account_number: str | None = None
    balance_minor: int = Field(sa_column=_money())
    created_at: datetime = _ts()


class PayoutSourceBank(SQLModel, table=True):
    """A whitelisted source bank account (POST /api/v0/bankDetail/whitelist): one active per tenant."""

    __tablename__ = "payout_source_bank"
    __table_args__ = (
        partial_index(
            "uq_payout_source_bank_active", "partner_id", unique=True, where=text("active = 1"), postgresql_where=text("active")
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    account_number: str
    ifsc: str
    company_id: str | None = None
    active: bool = True
    created_at: datetime = _ts()
    deactivated_at: datetime | None = _ts(nullable=True)


class Beneficiary(SQLModel, table=True):
    """A payee (POST /api/v0/beneficiary-detail): a bank account + IFSC, or a UPI VPA. Deleted ones keep their id."""

    __tablename__ = "beneficiary"
    __table_args__ = (UniqueConstraint("partner_id", "beneficiary_id", name="uq_beneficiary_partner_id"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(foreign_key="partner.id")
    beneficiary_id: str
    name: str
    account_number: str | None = None
    ifsc: str | None = None
    vpa: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    pincode: str | None = None
    status: str = "ACTIVE"  # ACTIVE | DELETED
    created_at: datetime = _ts()


class PayoutBatch(SQLModel, table=True):
    __tablename__ = "payout_batch"
    __table_args__ = (UniqueConstraint("partner_id", "batch_transaction_id", name="uq_payout_batch_partner_id"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(foreign_key="partner.id")
    batch_transaction_id: str
    item_count: int = 0
    created_at: datetime = _ts()


class PayoutTransfer(SQLModel, table=True):
    """One attempt at a transfer (EKPT...). A REJECTED attempt is kept as history; a retry with the same
    transactionId is a new row, so the partner's id is unique among the attempts that were not rejected."""

    __tablename__ = "payout_transfer"
    __table_args__ = (
        partial_index("uq_payout_transfer_live_id", "partner_id", "transaction_id", unique=True, where=NOT_REJECTED),
        Index("ix_payout_transfer_partner_txn", "partner_id", "transaction_id", "seq"),
        Index("ix_payout_transfer_partner_created", "partner_id", "created_at"),
        # the settlement sweep: what is due, store-wide
        Index("ix_payout_transfer_due", "status", "settle_at"),
        Index("ix_payout_transfer_reverse_due", "status", "reverse_at"),
        Index("ix_payout_transfer_batch", "partner_id", "batch_transaction_id"),
    )
    enkash_transaction_id: str = Field(primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    partner_id: str = Field(foreign_key="partner.id")
    transaction_id: str
    batch_transaction_id: str | None = None
    fund_source_id: str | None = None
    beneficiary_id: str | None = None
    beneficiary_name: str | None = None
    account_number: str | None = None
    ifsc: str | None = None
    vpa: str | None = None
    # PENDING | PROCESSING | SUCCESS | FAILED | REVERSED | REJECTED
    status: str
    # what the transfer will become when it settles (SUCCESS, FAILED, REVERSED) or HOLD (waits to be forced)
    outcome: str | None = None
    amount_minor: int = Field(sa_column=_money())
    # the amount as the partner sent it (a rejected one may not be a valid amount), rendered back exactly
    amount_text: str | None = None
    transfer_mode: str | None = None
    remark: str | None = None
    reference: str | None = None
    reason_code: str | None = None
    utr: str | None = None
    # the transfer's money in flight (debited from the fund source, not yet settled or refunded): the audit
    # checks it against the PAYOUT_TRANSIT ledger rows
    in_flight_minor: int = Field(sa_column=_money())
    settle_at: datetime | None = _ts(nullable=True)
    reverse_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    modified_at: datetime = _ts()


class PayoutTransferEvent(SQLModel, table=True):
    """A transfer's status timeline (the dashboard and the control plane show it)."""

    __tablename__ = "payout_transfer_event"
    __table_args__ = (Index("ix_payout_transfer_event_transfer", "enkash_transaction_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    enkash_transaction_id: str
    status: str
    reason_code: str | None = None
    note: str | None = None
    created_at: datetime = _ts()


class PayoutLedgerEntry(SQLModel, table=True):
    """The payout ledger: a signed change to a fund source's balance (PAYOUT_ACCOUNT) or to a transfer's money in
    flight (PAYOUT_TRANSIT), written with the change. movement_id groups the rows of one movement; the unique
    index makes a second debit, settlement, refund or reversal row of one transfer impossible."""

    __tablename__ = "payout_ledger_entry"
    __table_args__ = (
        Index("ix_payout_ledger_holder", "holder_kind", "holder_id", "id"),
        Index("uq_payout_ledger_once", "transfer_id", "type", "holder_kind", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(index=True, foreign_key="partner.id")
    movement_id: str
    type: str
    holder_kind: str  # PAYOUT_ACCOUNT | PAYOUT_TRANSIT
    holder_id: str
    # the transfer (EKPT...) a movement belongs to; NULL for a fund-in
    transfer_id: str | None = None
    amount_minor: int = Field(sa_column=_money())
    balance_after_minor: int = Field(sa_column=_money())
    remarks: str | None = None
    created_at: datetime = _ts()
