"""An authorization as the hot path builds it: the card_authorization row's values as a plain dataclass, so an
authorization costs no ORM instrumentation (building the SQLModel object cost more than its INSERT)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from enkash_sandbox.store.tables import CardAuthorization


@dataclass
class AuthorizationRecord:
    """The columns of card_authorization, with the table's attribute names."""

    id: str
    partner_id: str
    company_id: str
    account_id: str
    card_id: str
    user_id: str
    decision: str
    state: str
    capture: bool
    amount_minor: int
    authorized_minor: int
    held_minor: int
    cleared_minor: int
    released_minor: int
    refunded_minor: int
    currency: str
    channel: str
    international: bool
    merchant_name: str
    mcc: str
    merchant_country: str
    network: str
    retrieval_ref_no: str
    trace_no: str
    hold_expires_at: datetime | None
    created_at: datetime
    modified_at: datetime
    decline_reasons: list = field(default_factory=list)


# what the views and payloads read: a row loaded by the ORM, or one the hot path just built
Authorization = CardAuthorization | AuthorizationRecord
