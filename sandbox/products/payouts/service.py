"""Payouts: beneficiaries, transfers (single and batch) and their lifecycle, fund sources, statement.

Every write is one short prebuilt-SQL transaction (store/sql.py):
- a transfer claims its transactionId with the partial unique index on (tenant, transactionId) among attempts
  that were not rejected, debits its fund source with a guarded UPDATE (payout ledger), and writes its status
  timeline row and PAYOUT_PENDING event in the same transaction, so 100 concurrent transfers on a fund source
  funded for 50 accept exactly 50 on every store;
- a state change (PENDING -> PROCESSING -> SUCCESS | FAILED, SUCCESS -> REVERSED) is a guarded
  `UPDATE … WHERE status = :from [AND settle_at <= :now]`; only the caller whose UPDATE changed the row writes
  the ledger rows and the webhook event, so a transfer settles exactly once whichever worker, sweep, read or
  clock advance gets there first (and the payout ledger's unique index refuses a second settlement besides).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from enkash_sandbox import ids
from enkash_sandbox import profile as profiles
from enkash_sandbox.ledger.payouts import PayoutInsufficient, PayoutLedger
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.products.payouts import errors as e
from enkash_sandbox.products.payouts import lifecycle
from enkash_sandbox.products.payouts.schemas import (
    ACCOUNT_NUMBER,
    BATCH_MAX,
    BENEFICIARY_ID,
    COMPANY_ID,
    FUND_SOURCE_ID,
    IFSC,
    IMPS_LIMIT,
    MODES,
    REMARK,
    RTGS_MINIMUM,
    TRANSACTION_ID,
    UPI_LIMIT,
    BeneficiaryFields,
    BeneficiaryInvalid,
    TransferRequest,
    beneficiary_fields,
    strings,
    text,
    transfer_request,
    valid_amount,
)
from enkash_sandbox.products.webhooks import outbox, payloads
from enkash_sandbox.store.sql import Sql, Tx, as_datetime, as_json
from enkash_sandbox.timefmt import parse_iso, to_ist
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.store.control import ControlStore
    from enkash_sandbox.store.engine import Database

log = logging.getLogger("enkash_sandbox")
IN_FLIGHT = ("PENDING", "PROCESSING")
FINAL = ("SUCCESS", "FAILED", "REVERSED", "REJECTED")
STATUSES = ("PENDING", "PROCESSING", "SUCCESS", "FAILED", "REVERSED", "REJECTED")
# the sandbox's own reason codes (the docs list only the REJECTED ones)
INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
BANK_DECLINED = "BENEFICIARY_BANK_DECLINED"
RETURNED = "RETURNED_BY_BENEFICIARY_BANK"
SEED_FUND = Decimal("1000000.00")
# how many due transfers one sweep looks at, and how many it settles per transaction
SWEEP_LIMIT = 500
SWEEP_CHUNK = 50
# a read settles at most this many of its partner's due transfers itself (the sweeper does the rest within a
# fraction of a second), so a backlog never makes one read slow
LAZY_LIMIT = 100
# batch items are written this many per transaction, so a 1,000-item batch never holds the store for long
BATCH_CHUNK = 50
SWEEP_SECONDS = 0.25

# -- statements -------------------------------------------------------------------------------------------------
_ENABLED = Sql("SELECT enabled FROM payout_partner WHERE partner_id = :p")
_FUND_SOURCE = Sql("SELECT partner_id, company_id, balance_minor FROM payout_account WHERE fund_source_id = :id")
_DEFAULT_FUND_SOURCE = Sql(
    "SELECT fund_source_id, company_id FROM payout_account WHERE partner_id = :p ORDER BY created_at, fund_source_id LIMIT 1"
)
_LIVE_ATTEMPT = Sql(
    "SELECT enkash_transaction_id FROM payout_transfer WHERE partner_id = :p AND transaction_id = :t AND status <> 'REJECTED'"
)
_BENEFICIARY = Sql(
    "SELECT beneficiary_id, name, account_number, ifsc, vpa, status FROM beneficiary "
    "WHERE partner_id = :p AND beneficiary_id = :b"
)
_TRANSFER_COLUMNS = (
    "enkash_transaction_id, seq, partner_id, transaction_id, batch_transaction_id, fund_source_id, beneficiary_id, "
    "beneficiary_name, account_number, ifsc, vpa, status, outcome, amount_minor, amount_text, transfer_mode, remark, "
    "reference, reason_code, utr, in_flight_minor, settle_at, reverse_at, created_at, modified_at"
)
_NAMES = [n.strip() for n in _TRANSFER_COLUMNS.split(",")]
_INSERT_TRANSFER = Sql(f"INSERT INTO payout_transfer ({_TRANSFER_COLUMNS}) VALUES ({', '.join(':' + n for n in _NAMES)})")
_INSERT_EVENT = Sql(
    "INSERT INTO payout_transfer_event (partner_id, enkash_transaction_id, status, reason_code, note, created_at) "
    "VALUES (:partner_id, :id, :status, :reason, :note, :at)"
)
_SELECT_TRANSFER = f"SELECT {_TRANSFER_COLUMNS} FROM payout_transfer"
_TRANSFER_BY_ID = Sql(_SELECT_TRANSFER + " WHERE enkash_transaction_id = :id")
_LATEST_ATTEMPT = Sql(_SELECT_TRANSFER + " WHERE partner_id = :p AND transaction_id = :t ORDER BY seq DESC LIMIT 1")
# a tenant's payouts switch (POST /_sandbox/partners/{id}/payouts; on at provisioning)
_INSERT_PAYOUT_PARTNER = Sql("INSERT INTO payout_partner (partner_id, enabled) VALUES (:p, :on)")
_DUE = Sql(
    "SELECT enkash_transaction_id FROM payout_transfer WHERE status = :status AND settle_at <= :now "
    "ORDER BY settle_at, enkash_transaction_id LIMIT :n"
)
_DUE_OF = Sql(
    "SELECT enkash_transaction_id FROM payout_transfer WHERE status = :status AND settle_at <= :now AND partner_id = :p "
    "ORDER BY settle_at, enkash_transaction_id LIMIT :n"
)
_REVERSE_DUE = Sql(
    "SELECT enkash_transaction_id FROM payout_transfer WHERE status = 'SUCCESS' AND reverse_at <= :now "
    "ORDER BY reverse_at, enkash_transaction_id LIMIT :n"
)
_REVERSE_DUE_OF = Sql(
    "SELECT enkash_transaction_id FROM payout_transfer WHERE status = 'SUCCESS' AND reverse_at <= :now AND partner_id = :p "
    "ORDER BY reverse_at, enkash_transaction_id LIMIT :n"
)
# the guarded transitions: each acts only if the transfer is still where the caller saw it
_TO_PROCESSING = Sql(
    "UPDATE payout_transfer SET status = 'PROCESSING', settle_at = :next, modified_at = :now "
    "WHERE enkash_transaction_id = :id AND status = 'PENDING' AND (:forced OR settle_at <= :now)"
)
_TO_SUCCESS = Sql(
    "UPDATE payout_transfer SET status = 'SUCCESS', in_flight_minor = 0, utr = :utr, settle_at = NULL, "
    "reverse_at = :reverse_at, modified_at = :now "
    "WHERE enkash_transaction_id = :id AND status = 'PROCESSING' AND (:forced OR settle_at <= :now)"
)
_TO_FAILED = Sql(
    "UPDATE payout_transfer SET status = 'FAILED', in_flight_minor = 0, reason_code = :reason, settle_at = NULL, "
    "modified_at = :now WHERE enkash_transaction_id = :id AND status = 'PROCESSING' AND (:forced OR settle_at <= :now)"
)
_TO_REVERSED = Sql(
    "UPDATE payout_transfer SET status = 'REVERSED', reason_code = :reason, reverse_at = NULL, modified_at = :now "
    "WHERE enkash_transaction_id = :id AND status = 'SUCCESS' AND (:forced OR reverse_at <= :now)"
)
_PROFILE_OF = Sql("SELECT profile FROM partner WHERE id = :p")
_LOCK_PAYOUT_PARTNER = Sql("SELECT partner_id FROM payout_partner WHERE partner_id = :p FOR UPDATE")


class PayoutsDisabled(Exception):
    pass


@dataclass(frozen=True)
class Options:
    """What the tenant's profile (and the request) decide for a payout call."""

    default_mode: str = "IMPS"
    in_flight: str = "PROCESSING"
    statement_amount: str = "rupees"
    magic: bool = True

    @classmethod
    def of(cls, profile: profiles.Profile, magic: bool = True) -> Options:
        return cls(profile.default_transfer_mode, profile.in_flight_status, profile.statement_amount, magic)


def iso_ist(at: datetime | None) -> str | None:
    """2026-12-01T10:15:30+05:30: the payout APIs' date-time, in IST."""
    return to_ist(at).isoformat(timespec="seconds") if at is not None else None


def shown_status(status: str, mode: str | None, in_flight: str) -> str:
    """PROCESSING as the tenant's profile names it (V2's IMPS_CALL_MADE / NEFT_CALL_MADE / UPI_CALL_MADE)."""
    if status == "PROCESSING" and in_flight == "CALL_MADE" and mode in ("IMPS", "NEFT", "UPI"):
        return f"{mode}_CALL_MADE"
    return status


def _amount(row: dict[str, Any]) -> Decimal | None:
    raw = row.get("amount_text")
    return Decimal(raw) if raw is not None else None


def transfer_view(row: dict[str, Any], in_flight: str = "PROCESSING") -> dict[str, Any]:
    """PayoutTransactionCreateResponse: exactly its 6 properties."""
    return {
        "transactionId": row["transaction_id"],
        "enkashTransactionId": row["enkash_transaction_id"],
        "payoutStatus": shown_status(row["status"], row["transfer_mode"], in_flight),
        "transferAmount": _amount(row),
        "transferMode": row["transfer_mode"],
        "reasonCode": row["reason_code"],
    }


def _amount_text(amount: Decimal | None) -> str | None:
    """The amount as sent, in plain digits (a "1E+2" is rendered back as 100), exactly; None when it is too large or
    too finely divided to echo (it was rejected anyway)."""
    if amount is None or abs(amount) >= Decimal("1e15"):
        return None
    text = format(amount, "f")
    return text if len(text) <= 40 else None


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(_NAMES, values, strict=True))
    for key in ("settle_at", "reverse_at", "created_at", "modified_at"):
        row[key] = as_datetime(row[key])
    return row


def magic_outcome(req: TransferRequest, beneficiary_name: str | None, amount: Decimal) -> tuple[str, str | None]:
    """docs/MAGIC_VALUES.md: the upper-case words PENDING / FAIL / REVERSE in the beneficiary's name or the
    transfer remark, or the amounts 1.11 and 2.22, choose what the bank will do. (outcome, what triggered it)."""
    remark = req.remark if isinstance(req.remark, str) else ""
    for word, outcome in (("PENDING", "HOLD"), ("FAIL", "FAILED"), ("REVERSE", "REVERSED")):
        if word in remark:
            return outcome, f"transferRemark={word}"
        if beneficiary_name and word in beneficiary_name:
            return outcome, f"beneficiaryName={word}"
        amount_trigger = {"FAILED": Decimal("1.11"), "REVERSED": Decimal("2.22")}.get(outcome)
        if amount == amount_trigger:
            return outcome, f"transferAmount={amount}"
    return "SUCCESS", None


class PayoutService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, ledger: PayoutLedger) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.ledger = ledger

    # -- tenancy -------------------------------------------------------------------------------------------------
    @staticmethod
    def _check_enabled(tx: Tx, partner_id: str) -> None:
        row = tx.one(_ENABLED, {"p": partner_id})
        if row is not None and not row[0]:
            raise e.PayoutError(
                403, e.NOT_ENABLED, hint="payouts are switched off for this partner: POST /_sandbox/partners/{id}/payouts"
            )

    def provision(self, tx: Tx, *, partner_id: str, company_id: str, n: int, at: datetime) -> str:
        """A new tenant's payouts: switched on, one fund source funded with ₹10,00,000.00, and two beneficiaries
        (a bank account and a UPI VPA). Everything comes from the seed."""
        seed = self.db.seed
        fund_source_id = ids.format_id(seed, "fund_source", self.db.mint(tx, "fund_source"))
        stamp = tx.ts(at)
        tx.run(_INSERT_PAYOUT_PARTNER, {"p": partner_id, "on": True})
        tx.run(
            Sql(
                "INSERT INTO payout_account (fund_source_id, partner_id, company_id, debit_account_number, balance_minor, "
                "created_at) VALUES (:id, :p, :c, :acct, 0, :at)"
            ),
            {
                "id": fund_source_id,
                "p": partner_id,
                "c": company_id,
                "acct": "9" + ids.digits(seed, "payout-va", n, 13),
                "at": stamp,
            },
        )
        self.ledger.fund_in(
            tx,
            partner_id=partner_id,
            fund_source_id=fund_source_id,
            amount_minor=to_minor(SEED_FUND),
            remarks="Sandbox prefunding",
            at=at,
        )
        for bid, name, account, ifsc, vpa in (
            ("BENBANK001", "Asha Verma", ids.digits(seed, "benef-acct", n, 12), "HDFC0001234", None),
            ("BENUPI001", "Ravi Kumar", None, None, "ravi.kumar@okaxis"),
        ):
            tx.run(
                _INSERT_BENEFICIARY,
                {
                    "p": partner_id,
                    "b": bid,
                    "name": name,
                    "account": account,
                    "ifsc": ifsc,
                    "vpa": vpa,
                    "email": None,
                    "phone": None,
                    "address": None,
                    "city": None,
                    "state": None,
                    "pincode": None,
                    "at": stamp,
                },
            )
        return fund_source_id

    def set_enabled(self, partner_id: str, enabled: bool) -> bool:
        try:
            return self._set_enabled(partner_id, enabled)
        except IntegrityError:  # a concurrent first switch made the row: now it is an update
            return self._set_enabled(partner_id, enabled)

    def _set_enabled(self, partner_id: str, enabled: bool) -> bool:
        with self.db.tx(write=True) as tx:
            if tx.one(Sql("SELECT id FROM partner WHERE id = :p"), {"p": partner_id}) is None:
                return False
            if not tx.run(Sql("UPDATE payout_partner SET enabled = :on WHERE partner_id = :p"), {"p": partner_id, "on": enabled}):
                tx.run(_INSERT_PAYOUT_PARTNER, {"p": partner_id, "on": enabled})
        return True

    def enabled(self, partner_id: str) -> bool:
        with self.db.tx(write=False) as tx:
            row = tx.one(_ENABLED, {"p": partner_id})
        return row is None or bool(row[0])

    # -- beneficiaries -------------------------------------------------------------------------------------------
    def create_beneficiary(self, partner_id: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            fields = beneficiary_fields(data, id_required=True)
        except BeneficiaryInvalid as bad:
            raise bad.error from None
        company = text(data, "companyId")
        now = self.clock.now()
        try:
            with self.db.tx(write=True) as tx:
                self._check_enabled(tx, partner_id)
                self._check_company(tx, partner_id, company)
                if tx.one(
                    Sql("SELECT 1 FROM beneficiary WHERE partner_id = :p AND beneficiary_id = :b"),
                    {"p": partner_id, "b": fields.beneficiary_id},
                ):
                    raise e.conflict(e.BENEFICIARY_EXISTS)
                tx.run(_INSERT_BENEFICIARY, _beneficiary_params(partner_id, fields, tx.ts(now)))
        except IntegrityError:
            # two creates of one id racing: the unique (tenant, beneficiaryId) index let one through
            raise e.conflict(e.BENEFICIARY_EXISTS) from None
        return _beneficiary_view(fields, now, "ACTIVE")

    @staticmethod
    def _check_company(tx: Tx, partner_id: str, company: str | None) -> None:
        if company is None:
            return
        if not COMPANY_ID.match(company):
            raise e.invalid(hint="companyId must match ^CEK[A-Z0-9]{7}$")
        if tx.one(Sql("SELECT 1 FROM company WHERE id = :c AND partner_id = :p"), {"c": company, "p": partner_id}) is None:
            raise e.precondition(e.INVALID_COMPANY, hint=f"{company} is not this partner's company")

    def search_beneficiaries(self, partner_id: str, data: dict[str, Any]) -> dict[str, Any]:
        strings(data, ("beneficiaryId", "beneficiaryName"))
        page, size = _page(data)
        clauses: list[str] = ["partner_id = :p", "status = 'ACTIVE'"]
        params: dict[str, Any] = {"p": partner_id}
        if text(data, "beneficiaryId"):
            clauses.append("beneficiary_id = :b")
            params["b"] = text(data, "beneficiaryId")
        name = text(data, "beneficiaryName")
        if name:
            clauses.append("LOWER(name) LIKE :name ESCAPE '!'")
            params["name"] = "%" + name.lower().replace("!", "!!").replace("_", "!_").replace("%", "!%") + "%"
        where = " AND ".join(clauses)
        with self.db.tx(write=False) as tx:
            self._check_enabled(tx, partner_id)
            total_row = tx.one(Sql(f"SELECT COUNT(*) FROM beneficiary WHERE {where}"), params)
            rows = tx.all(
                Sql(
                    "SELECT beneficiary_id, name, account_number, ifsc, vpa, email, phone, address, city, state, pincode, "
                    f"created_at, status FROM beneficiary WHERE {where} ORDER BY id LIMIT :limit OFFSET :offset"
                ),
                {**params, "limit": size, "offset": page * size},
            )
        content = [_beneficiary_view(BeneficiaryFields(*r[:11]), as_datetime(r[11]), r[12]) for r in rows]
        return {"content": content, "totalElements": int(total_row[0]) if total_row else 0, "page": page, "size": size}

    def delete_beneficiary(self, partner_id: str, beneficiary_id: str) -> dict[str, Any]:
        if not BENEFICIARY_ID.match(beneficiary_id):
            raise e.invalid(e.INVALID_BENEFICIARY_ID, hint="beneficiaryId: 1-50 letters and digits")
        with self.db.tx(write=True) as tx:
            self._check_enabled(tx, partner_id)
            changed = tx.run(
                Sql(
                    "UPDATE beneficiary SET status = 'DELETED' "
                    "WHERE partner_id = :p AND beneficiary_id = :b AND status = 'ACTIVE'"
                ),
                {"p": partner_id, "b": beneficiary_id},
            )
        if not changed:
            raise e.invalid(e.INVALID_BENEFICIARY_ID, hint=f"no active beneficiary {beneficiary_id[:60]}")
        return {"beneficiaryId": beneficiary_id, "status": "DELETED"}

    # -- transfers -----------------------------------------------------------------------------------------------
    def transfer(self, partner_id: str, data: dict[str, Any], opts: Options) -> tuple[dict[str, Any], str | None]:
        """The transfer's response, and the magic value that chose its outcome (if one did)."""
        req = transfer_request(data, opts.default_mode)
        try:
            with self.db.tx(write=True) as tx:
                self._check_enabled(tx, partner_id)
                if tx.one(_LIVE_ATTEMPT, {"p": partner_id, "t": req.transaction_id}) is not None:
                    raise e.conflict(e.TRANSACTION_EXISTS)
                row = self._place(tx, partner_id, req, opts, batch_id=None, now=self.clock.now())
        except IntegrityError:
            # a twin of this transactionId committed between the look-up and the insert (the unique index)
            raise e.conflict(e.TRANSACTION_EXISTS) from None
        return transfer_view(row, opts.in_flight), row.get("magic")

    def _resolve(self, tx: Tx, partner_id: str, req: TransferRequest) -> tuple[str | None, dict[str, Any], str | None]:
        """(reason code or None, the beneficiary's facts, the fund source's company)."""
        facts: dict[str, Any] = {"beneficiary_id": req.beneficiary_id, "name": None, "account": None, "ifsc": None, "vpa": None}
        reason: str | None = None
        if req.beneficiary_id is not None:
            found = (
                tx.one(_BENEFICIARY, {"p": partner_id, "b": req.beneficiary_id})
                if BENEFICIARY_ID.match(req.beneficiary_id)
                else None
            )
            if found is None or found[5] != "ACTIVE":
                reason = "REJECT_BENEF_ID"
            else:
                facts.update(name=found[1], account=found[2], ifsc=found[3], vpa=found[4])
        elif req.inline_reason is not None:
            reason = req.inline_reason
        elif req.inline is not None:
            facts.update(
                beneficiary_id=req.inline.beneficiary_id,
                name=req.inline.name,
                account=req.inline.account_number,
                ifsc=req.inline.ifsc,
                vpa=req.inline.vpa,
            )
        amount = req.amount
        if reason is None and not valid_amount(amount):
            reason = "REJECT_TRF_AMT"
        mode = req.mode
        if reason is None:
            assert amount is not None
            if mode not in MODES:
                reason = "REJECT_TRF_MODE"
            elif (mode == "IMPS" and amount > IMPS_LIMIT) or (mode == "UPI" and amount > UPI_LIMIT):
                reason = "REJECT_TRF_MODE"
            elif mode == "RTGS" and amount < RTGS_MINIMUM:
                reason = "REJECT_TRF_AMT"
            elif (mode == "UPI") != (facts["vpa"] is not None):
                reason = "REJECT_TRF_MODE"
        if reason is None and req.remark is not None and (not isinstance(req.remark, str) or not REMARK.match(req.remark)):
            reason = "REJECT_TRF_RMK"
        facts["fund_source_id"] = req.fund_source_id
        company = None
        if req.fund_source_id is not None:
            source = tx.one(_FUND_SOURCE, {"id": req.fund_source_id}) if FUND_SOURCE_ID.match(req.fund_source_id) else None
            if source is None or source[0] != partner_id:
                reason = reason or "REJECT_FND_SRC_ID"
            else:
                company = source[1]
        else:
            default = tx.one(_DEFAULT_FUND_SOURCE, {"p": partner_id})
            if default is None:
                reason = reason or "REJECT_FND_SRC_ID"
            else:
                facts["fund_source_id"], company = default[0], default[1]
        return reason, facts, company

    def _place(
        self,
        tx: Tx,
        partner_id: str,
        req: TransferRequest,
        opts: Options,
        *,
        batch_id: str | None,
        now: datetime,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Record one transfer attempt (accepted and debited, or REJECTED with its reason) in `tx`."""
        found, facts, company = self._resolve(tx, partner_id, req)
        reason = reason or found
        seq = self.db.mint(tx, "payout")
        transfer_id = ids.format_id(self.db.seed, "payout", seq)
        amount = req.amount if valid_amount(req.amount) else None
        minor = to_minor(amount) if amount is not None else 0
        status, outcome, settle_at = "REJECTED", None, None
        magic: str | None = None
        if reason is None:
            assert amount is not None
            try:
                self.ledger.debit(
                    tx,
                    partner_id=partner_id,
                    fund_source_id=facts["fund_source_id"],
                    transfer_id=transfer_id,
                    amount_minor=minor,
                    remarks=f"Payout {req.transaction_id}",
                    at=now,
                )
            except PayoutInsufficient:
                reason = INSUFFICIENT_BALANCE
            else:
                outcome, magic = magic_outcome(req, facts["name"], amount) if opts.magic else ("SUCCESS", None)
                if batch_id is not None:
                    status, settle_at = "PENDING", now + lifecycle.BATCH_QUEUE
                else:
                    status = "PROCESSING"
                    settle_at = None if outcome == "HOLD" else lifecycle.settle_at(str(req.mode), now)
        row = {
            "enkash_transaction_id": transfer_id,
            "seq": seq,
            "partner_id": partner_id,
            "transaction_id": req.transaction_id,
            "batch_transaction_id": batch_id,
            "fund_source_id": facts["fund_source_id"],
            "beneficiary_id": facts["beneficiary_id"],
            "beneficiary_name": facts["name"],
            "account_number": facts["account"],
            "ifsc": facts["ifsc"],
            "vpa": facts["vpa"],
            "status": status,
            "outcome": outcome,
            "amount_minor": minor if status != "REJECTED" else 0,
            "amount_text": _amount_text(req.amount),
            "transfer_mode": req.mode if isinstance(req.mode, str) and len(req.mode) <= 20 else None,
            "remark": req.remark if isinstance(req.remark, str) else None,
            "reference": req.reference,
            "reason_code": reason,
            "utr": None,
            "in_flight_minor": minor if status != "REJECTED" else 0,
            "settle_at": settle_at,
            "reverse_at": None,
            "created_at": now,
            "modified_at": now,
        }
        params = dict(row)
        # the magic value that chose the outcome, for the X-Sandbox-Magic answer header (not a column)
        row["magic"] = magic
        for key in ("settle_at", "reverse_at", "created_at", "modified_at"):
            params[key] = tx.ts(params[key])
        tx.run(_INSERT_TRANSFER, params)
        tx.run(
            _INSERT_EVENT,
            {
                "partner_id": partner_id,
                "id": transfer_id,
                "status": status,
                "reason": reason,
                "note": "created",
                "at": tx.ts(now),
            },
        )
        if status != "REJECTED":
            self._emit(tx, row, "PAYOUT_PENDING", now, opts.in_flight, company)
        return row

    def _emit(self, tx: Tx, row: dict[str, Any], event: str, now: datetime, in_flight: str, company: str | None) -> None:
        outbox.emit(
            self.db,
            tx,
            now,
            partner_id=row["partner_id"],
            event_type=event,
            company_id=company,
            payload=lambda: payloads.payout_event(
                event=event,
                transaction_id=row["transaction_id"],
                enkash_transaction_id=row["enkash_transaction_id"],
                batch_transaction_id=row["batch_transaction_id"],
                payout_status=shown_status(row["status"], row["transfer_mode"], in_flight),
                transfer_amount=_amount(row),
                transfer_mode=row["transfer_mode"],
                beneficiary_id=row["beneficiary_id"],
                fund_source_id=row["fund_source_id"],
                utr=row["utr"],
                reason_code=row["reason_code"],
                event_time=iso_ist(now),
            ),
        )

    # -- batch ---------------------------------------------------------------------------------------------------
    def start_batch(self, partner_id: str, data: dict[str, Any]) -> tuple[str, list[Any]]:
        """Claim the batchTransactionId (409 if taken) and hand back the items to place chunk by chunk."""
        batch_id = data.get("batchTransactionId")
        if not isinstance(batch_id, str) or not TRANSACTION_ID.match(batch_id):
            raise e.invalid(hint="batchTransactionId: 1-50 letters, digits, _ or -")
        items = data.get("transfers")
        if not isinstance(items, list):
            raise e.invalid(
                e.INVALID_FORMAT if items is not None else e.INVALID_PARAMETER, "transfers: an array of 1-1000 transfers"
            )
        if not 1 <= len(items) <= BATCH_MAX:
            raise e.invalid(hint=f"transfers: 1-{BATCH_MAX} items (got {len(items)})")
        try:
            with self.db.tx(write=True) as tx:
                self._check_enabled(tx, partner_id)
                if tx.one(
                    Sql("SELECT 1 FROM payout_batch WHERE partner_id = :p AND batch_transaction_id = :b"),
                    {"p": partner_id, "b": batch_id},
                ):
                    raise e.conflict(e.BATCH_EXISTS)
                tx.run(
                    Sql(
                        "INSERT INTO payout_batch (partner_id, batch_transaction_id, item_count, created_at) "
                        "VALUES (:p, :b, :n, :at)"
                    ),
                    {"p": partner_id, "b": batch_id, "n": len(items), "at": tx.ts(self.clock.now())},
                )
        except IntegrityError:
            raise e.conflict(e.BATCH_EXISTS) from None
        return batch_id, items

    def batch_chunk(
        self, partner_id: str, batch_id: str, items: list[Any], seen: set[str], opts: Options
    ) -> list[tuple[bool, dict[str, Any]]]:
        """Place a chunk of batch items in one transaction: each validated with the single-transfer rules; an item
        that cannot even be recorded (no usable transactionId, wrong types) goes to the failed list as REJECTED
        REJECT_TXN_ID / its reason without a row. `seen` carries the batch's transactionIds across chunks."""
        try:
            return self._batch_chunk(partner_id, batch_id, items, set(seen), opts, seen)
        except IntegrityError:
            # a single transfer with one of these transactionIds committed meanwhile: place them one by one
            out: list[tuple[bool, dict[str, Any]]] = []
            for item in items:
                try:
                    out.extend(self._batch_chunk(partner_id, batch_id, [item], set(seen), opts, seen))
                except IntegrityError:
                    out.append((False, _unrecorded(item, "REJECT_TXN_ID")))
            return out

    def _batch_chunk(
        self, partner_id: str, batch_id: str, items: list[Any], local_seen: set[str], opts: Options, seen: set[str]
    ) -> list[tuple[bool, dict[str, Any]]]:
        out: list[tuple[bool, dict[str, Any]]] = []
        placed: list[str] = []
        now = self.clock.now()
        with self.db.tx(write=True) as tx:
            for item in items:
                if not isinstance(item, dict):
                    out.append((False, _unrecorded(item, "REJECT_TXN_ID")))
                    continue
                try:
                    req = transfer_request(dict(item), opts.default_mode)
                except e.PayoutError as bad:
                    reason = "REJECT_BENEF_ID" if bad.message == e.NO_BENEFICIARY else "REJECT_TXN_ID"
                    out.append((False, _unrecorded(item, reason)))
                    continue
                if req.transaction_id in local_seen or tx.one(_LIVE_ATTEMPT, {"p": partner_id, "t": req.transaction_id}):
                    out.append((False, _unrecorded(item, "REJECT_TXN_ID")))
                    continue
                row = self._place(tx, partner_id, req, opts, batch_id=batch_id, now=now)
                local_seen.add(req.transaction_id)
                placed.append(req.transaction_id)
                out.append((row["status"] != "REJECTED", transfer_view(row, opts.in_flight)))
        seen.update(placed)
        return out

    # -- reads ---------------------------------------------------------------------------------------------------
    def get_transfer(self, partner_id: str, transaction_id: str, opts: Options) -> dict[str, Any]:
        with self.db.tx(write=False) as tx:
            self._check_enabled(tx, partner_id)
            found = (
                tx.one(_LATEST_ATTEMPT, {"p": partner_id, "t": transaction_id}) if TRANSACTION_ID.match(transaction_id) else None
            )
        if found is None:
            raise e.invalid(hint=f"no transfer with transactionId {transaction_id[:60]}")
        return transfer_view(_row(found), opts.in_flight)

    def search_transfers(self, partner_id: str, data: dict[str, Any], opts: Options) -> dict[str, Any]:
        strings(data, ("transactionId", "batchTransactionId", "payoutStatus", "fromDate", "toDate"))
        page, size = _page(data)
        clauses: list[str] = ["partner_id = :p"]
        params: dict[str, Any] = {"p": partner_id}
        for key, column in (("transactionId", "transaction_id"), ("batchTransactionId", "batch_transaction_id")):
            if text(data, key):
                clauses.append(f"{column} = :{column}")
                params[column] = text(data, key)
        status = text(data, "payoutStatus")
        if status:
            if status.endswith("_CALL_MADE") and status.split("_")[0] in ("IMPS", "NEFT", "UPI"):
                clauses.append("status = 'PROCESSING' AND transfer_mode = :mode")
                params["mode"] = status.split("_")[0]
            elif status in STATUSES:
                clauses.append("status = :status")
                params["status"] = status
            else:
                raise e.invalid(hint=f"payoutStatus: one of {', '.join(STATUSES)}")
        for key, op in (("fromDate", ">="), ("toDate", "<=")):
            if text(data, key):
                clauses.append(f"created_at {op} :{key}")
                params[key] = _when(text(data, key), key)
        where = " AND ".join(clauses)
        with self.db.tx(write=False) as tx:
            self._check_enabled(tx, partner_id)
            for key in ("fromDate", "toDate"):
                if key in params:
                    params[key] = tx.ts(params[key])
            total = tx.one(Sql(f"SELECT COUNT(*) FROM payout_transfer WHERE {where}"), params)
            rows = tx.all(
                Sql(f"{_SELECT_TRANSFER} WHERE {where} ORDER BY created_at DESC, seq DESC LIMIT :limit OFFSET :offset"),
                {**params, "limit": size, "offset": page * size},
            )
        content = []
        for values in rows:
            row = _row(values)
            content.append(
                {
                    **transfer_view(row, opts.in_flight),
                    "createdOn": iso_ist(row["created_at"]),
                    "batchTransactionId": row["batch_transaction_id"],
                    "beneficiaryId": row["beneficiary_id"],
                    "utr": row["utr"],
                }
            )
        return {"content": content, "totalElements": int(total[0]) if total else 0, "page": page, "size": size}

    def balance(self, partner_id: str, fund_source_id: str | None) -> dict[str, Any]:
        with self.db.tx(write=False) as tx:
            self._check_enabled(tx, partner_id)
            row = (
                tx.one(_FUND_SOURCE, {"id": fund_source_id}) if fund_source_id and FUND_SOURCE_ID.match(fund_source_id) else None
            )
        if row is None or row[0] != partner_id:
            raise e.invalid(hint="fundSourceId: one of this partner's fund sources (GET /_sandbox/payouts/accounts)")
        return {"totalBalance": from_minor(int(row[2]))}

    # -- source bank (whitelist) ---------------------------------------------------------------------------------
    def whitelist(self, partner_id: str, data: dict[str, Any]) -> dict[str, Any]:
        strings(data, ("accountNumber", "ifsc", "companyId"))
        account, ifsc, company = text(data, "accountNumber"), text(data, "ifsc"), text(data, "companyId")
        if account is None or not ACCOUNT_NUMBER.match(account):
            raise e.invalid(hint="accountNumber must match ^[A-Za-z0-9]{9,36}$")
        if ifsc is None or not IFSC.match(ifsc):
            raise e.invalid(hint="ifsc must match ^[A-Za-z]{4}0[A-Z0-9a-z]{6}$")
        now = self.clock.now()
        self._whitelist(partner_id, account, ifsc, company, now)
        view = {
            "accountNumber": account,
            "ifsc": ifsc.upper(),
            "companyId": company,
            "status": "ACTIVE",
            "whitelistedOn": iso_ist(now),
        }
        return {"response_code": 0, "response_message": "Success", "payload": view}

    def _whitelist(self, partner_id: str, account: str, ifsc: str, company: str | None, now: datetime) -> None:
        with self.db.tx(write=True) as tx:
            if tx.postgres:
                # whitelists of one partner take turns (SQLite runs one writer at a time anyway): two at once would
                # each deactivate the old row and then collide on the one-active index
                tx.one(_LOCK_PAYOUT_PARTNER, {"p": partner_id})
            self._check_enabled(tx, partner_id)
            self._check_company(tx, partner_id, company)
            # one active source account: the previous one is deactivated in the same transaction (and the partial
            # unique index refuses a second active row whatever races)
            tx.run(
                Sql("UPDATE payout_source_bank SET active = :off, deactivated_at = :at WHERE partner_id = :p AND active = :on"),
                {"p": partner_id, "on": True, "off": False, "at": tx.ts(now)},
            )
            tx.run(
                Sql(
                    "INSERT INTO payout_source_bank (partner_id, account_number, ifsc, company_id, active, created_at) "
                    "VALUES (:p, :a, :i, :c, :on, :at)"
                ),
                {"p": partner_id, "a": account, "i": ifsc.upper(), "c": company, "on": True, "at": tx.ts(now)},
            )

    def bank_details(self, partner_id: str) -> dict[str, Any]:
        with self.db.tx(write=False) as tx:
            self._check_enabled(tx, partner_id)
            rows = tx.all(
                Sql(
                    "SELECT account_number, ifsc, company_id, active, created_at, deactivated_at FROM payout_source_bank "
                    "WHERE partner_id = :p ORDER BY id DESC"
                ),
                {"p": partner_id},
            )
        views = [
            {
                "accountNumber": r[0],
                "ifsc": r[1],
                "companyId": r[2],
                "status": "ACTIVE" if r[3] else "INACTIVE",
                "whitelistedOn": iso_ist(as_datetime(r[4])),
                "deactivatedOn": iso_ist(as_datetime(r[5])),
            }
            for r in rows
        ]
        active = next((v for v in views if v["status"] == "ACTIVE"), None)
        return {"response_code": 0, "response_message": "Success", "payload": {"active": active, "history": views}}

    # -- statement -----------------------------------------------------------------------------------------------
    def statement(self, partner_id: str, data: dict[str, Any], opts: Options) -> dict[str, Any]:
        strings(data, ("fundSourceId", "debitAccountNumber", "fromDate", "toDate"))
        for key in ("fundSourceId", "debitAccountNumber", "fromDate", "toDate"):
            if data.get(key) is None:
                raise e.invalid(hint=f"{key} is required")
        start, end = _when(str(data["fromDate"]), "fromDate"), _when(str(data["toDate"]), "toDate")
        fund_source_id = str(data["fundSourceId"])
        with self.db.tx(write=False) as tx:
            self._check_enabled(tx, partner_id)
            source = tx.one(_FUND_SOURCE, {"id": fund_source_id}) if FUND_SOURCE_ID.match(fund_source_id) else None
            if source is None or source[0] != partner_id:
                raise e.invalid(hint="fundSourceId: one of this partner's fund sources")
            rows = self.statement_rows(tx, fund_source_id, start, end)
        request_id = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"enkash-sandbox:{self.db.seed}:{fund_source_id}:{start}:{end}:{self.clock.now()}")
        )
        return {
            "response_code": "0",
            "response_message": "Success",
            "requestId": request_id,
            "data": [_statement_view(r, opts.statement_amount) for r in rows],
        }

    @staticmethod
    def statement_rows(
        tx: Tx, fund_source_id: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[tuple[Any, ...]]:
        """The fund source's ledger rows (fund-ins, debits, failure refunds, reversals) in ledger order."""
        clauses, params = ["l.holder_kind = 'PAYOUT_ACCOUNT'", "l.holder_id = :id"], {"id": fund_source_id}
        if start is not None:
            clauses.append("l.created_at >= :start")
            params["start"] = tx.ts(start)
        if end is not None:
            clauses.append("l.created_at <= :end")
            params["end"] = tx.ts(end)
        return tx.all(
            Sql(
                "SELECT l.movement_id, l.type, l.amount_minor, l.balance_after_minor, l.remarks, l.created_at, "
                "t.transaction_id, t.transfer_mode, t.utr FROM payout_ledger_entry l "
                "LEFT JOIN payout_transfer t ON t.enkash_transaction_id = l.transfer_id "
                f"WHERE {' AND '.join(clauses)} ORDER BY l.id"
            ),
            params,
        )

    # -- lifecycle: settlement -----------------------------------------------------------------------------------
    def due(self, partner_id: str | None = None, limit: int = SWEEP_LIMIT) -> list[str]:
        """Transfers whose next step is due on the sandbox clock (a read: no lock)."""
        now = self.clock.now()
        with self.db.tx(write=False) as tx:
            found: list[str] = []
            for status in ("PENDING", "PROCESSING"):
                sql, params = (_DUE_OF, {"p": partner_id}) if partner_id else (_DUE, {})
                found += [r[0] for r in tx.all(sql, {**params, "status": status, "now": tx.ts(now), "n": limit})]
            sql, params = (_REVERSE_DUE_OF, {"p": partner_id}) if partner_id else (_REVERSE_DUE, {})
            found += [r[0] for r in tx.all(sql, {**params, "now": tx.ts(now), "n": limit})]
        return found[:limit]

    def due_attempt(self, partner_id: str, transaction_id: str) -> list[str]:
        """The partner's latest attempt of a transactionId, if its next step is due (what a read of it settles even
        when the partner's backlog is longer than a read settles)."""
        if not TRANSACTION_ID.match(transaction_id):
            return []
        now = self.clock.now()
        with self.db.tx(write=False) as tx:
            found = tx.one(_LATEST_ATTEMPT, {"p": partner_id, "t": transaction_id})
        if found is None:
            return []
        row = _row(found)
        at = row["settle_at"] if row["status"] in IN_FLIGHT else row["reverse_at"] if row["status"] == "SUCCESS" else None
        return [row["enkash_transaction_id"]] if at is not None and at <= now else []

    def settle(self, transfer_ids: list[str]) -> int:
        """Take each due transfer one step (and on, while its next step is due too), SWEEP_CHUNK transfers per
        transaction; how many steps were taken here (a step another worker took first is not counted).

        On PostgreSQL a chunk first locks its transfers' rows, in id order, before anything else: a transaction that
        held the movement counter while it waited for a transfer row could otherwise deadlock with a sweep in
        another worker holding that row and waiting for the counter. Locked up front, every sweep takes transfer
        rows (in one order), then fund sources, then counters — the order a new transfer takes the last two in."""
        steps = 0
        profiles_seen: dict[str, str] = {}
        ordered = sorted(set(transfer_ids))
        for start in range(0, len(ordered), SWEEP_CHUNK):
            chunk = ordered[start : start + SWEEP_CHUNK]
            with self.db.tx(write=True) as tx:
                if tx.postgres:
                    names = ", ".join(f":t{i}" for i in range(len(chunk)))
                    tx.all(
                        Sql(
                            f"SELECT enkash_transaction_id FROM payout_transfer WHERE enkash_transaction_id IN ({names}) "
                            "ORDER BY enkash_transaction_id FOR UPDATE"
                        ),
                        {f"t{i}": transfer_id for i, transfer_id in enumerate(chunk)},
                    )
                for transfer_id in chunk:
                    for _ in range(4):  # PENDING -> PROCESSING -> SUCCESS -> REVERSED at most
                        if not self._step(tx, transfer_id, None, None, profiles_seen):
                            break
                        steps += 1
        return steps

    def settle_due(self, partner_id: str | None = None) -> int:
        """Everything due now (a sweep, a read's lazy settle, a clock advance)."""
        total = 0
        for _ in range(20):
            due = self.due(partner_id)
            if not due:
                break
            total += self.settle(due)
            if len(due) < SWEEP_LIMIT:
                break
        return total

    def advance(self, enkash_transaction_id: str, to: str, reason: str | None) -> dict[str, Any] | None:
        """Force a transfer's next state (control plane). None: unknown transfer; raises ValueError for a transition
        its status does not allow."""
        with self.db.tx(write=True) as tx:
            found = tx.one(_TRANSFER_BY_ID, {"id": enkash_transaction_id})
            if found is None:
                return None
            row = _row(found)
            allowed = {
                "PROCESSING": ("PENDING",),
                "SUCCESS": ("PROCESSING",),
                "FAILED": ("PROCESSING",),
                "REVERSED": ("SUCCESS",),
            }
            if row["status"] not in allowed.get(to, ()):
                raise ValueError(f"a {row['status']} transfer cannot move to {to}")
            if not self._step(tx, enkash_transaction_id, to, reason, {}):
                raise ValueError(f"the transfer left {row['status']} meanwhile")
        detail = self.detail(enkash_transaction_id)
        assert detail is not None
        return detail

    def _in_flight_name(self, tx: Tx, partner_id: str, cache: dict[str, str]) -> str:
        if partner_id not in cache:
            row = tx.one(_PROFILE_OF, {"p": partner_id})
            cache[partner_id] = profiles.resolve(self.settings, as_json(row[0]) if row else None).in_flight_status
        return cache[partner_id]

    def _step(self, tx: Tx, transfer_id: str, forced: str | None, reason: str | None, cache: dict[str, str]) -> bool:
        """One guarded transition of one transfer (due on the clock, or `forced`), with its ledger rows, timeline
        row and webhook event; False when there was nothing to do (not due, or another worker did it)."""
        found = tx.one(_TRANSFER_BY_ID, {"id": transfer_id})
        if found is None:
            return False
        row = _row(found)
        now = self.clock.now()
        stamp = tx.ts(now)
        status, outcome = row["status"], row["outcome"]
        is_forced = forced is not None
        base = {"id": transfer_id, "now": stamp, "forced": is_forced}
        event: str | None = None
        if status == "PENDING" and (is_forced or (row["settle_at"] is not None and row["settle_at"] <= now)):
            if forced not in (None, "PROCESSING"):
                return False
            entered = now if is_forced or row["settle_at"] is None else row["settle_at"]
            # a magic PENDING transfer stays PROCESSING until it is forced on, however it got there
            next_at = None if outcome == "HOLD" else lifecycle.settle_at(str(row["transfer_mode"]), entered)
            if not tx.run(_TO_PROCESSING, {**base, "next": tx.ts(next_at)}):
                return False
            row.update(status="PROCESSING", settle_at=next_at)
            event = "PAYOUT_PENDING"
        elif status == "PROCESSING" and (is_forced or (row["settle_at"] is not None and row["settle_at"] <= now)):
            target = forced or ("FAILED" if outcome == "FAILED" else "SUCCESS")
            if target == "SUCCESS":
                utr = ids.digits(self.db.seed, "utr", int(row["seq"]), 12)
                reverse_at = now + lifecycle.REVERSE_AFTER if outcome == "REVERSED" and not is_forced else None
                if not tx.run(_TO_SUCCESS, {**base, "utr": utr, "reverse_at": tx.ts(reverse_at)}):
                    return False
                self.ledger.settled(
                    tx,
                    partner_id=row["partner_id"],
                    transfer_id=transfer_id,
                    amount_minor=row["amount_minor"],
                    remarks=f"Payout {row['transaction_id']} settled",
                    at=now,
                )
                row.update(status="SUCCESS", utr=utr, reverse_at=reverse_at, in_flight_minor=0)
                event = "PAYOUT_SUCCESS"
            elif target == "FAILED":
                code = reason or BANK_DECLINED
                if not tx.run(_TO_FAILED, {**base, "reason": code}):
                    return False
                self.ledger.refund(
                    tx,
                    partner_id=row["partner_id"],
                    fund_source_id=row["fund_source_id"],
                    transfer_id=transfer_id,
                    amount_minor=row["amount_minor"],
                    remarks=f"Failure refund {row['transaction_id']}",
                    at=now,
                )
                row.update(status="FAILED", reason_code=code, in_flight_minor=0)
                event = "PAYOUT_FAILED"
            else:
                return False
        elif status == "SUCCESS" and (is_forced or (row["reverse_at"] is not None and row["reverse_at"] <= now)):
            if forced not in (None, "REVERSED"):
                return False
            code = reason or RETURNED
            if not tx.run(_TO_REVERSED, {**base, "reason": code}):
                return False
            self.ledger.reversal(
                tx,
                partner_id=row["partner_id"],
                fund_source_id=row["fund_source_id"],
                transfer_id=transfer_id,
                amount_minor=row["amount_minor"],
                remarks=f"Reversal {row['transaction_id']}",
                at=now,
            )
            row.update(status="REVERSED", reason_code=code)
            event = "PAYOUT_FAILED"
        else:
            return False
        tx.run(
            _INSERT_EVENT,
            {
                "partner_id": row["partner_id"],
                "id": transfer_id,
                "status": row["status"],
                "reason": row["reason_code"] if row["status"] in ("FAILED", "REVERSED") else None,
                "note": "forced" if is_forced else "clock",
                "at": stamp,
            },
        )
        source = tx.one(_FUND_SOURCE, {"id": row["fund_source_id"]})
        self._emit(tx, row, event, now, self._in_flight_name(tx, row["partner_id"], cache), source[1] if source else None)
        return True

    # -- control-plane reads and funding -------------------------------------------------------------------------
    def accounts(self, partner_id: str | None = None) -> list[dict[str, Any]]:
        with self.db.tx(write=False) as tx:
            rows = tx.all(
                Sql(
                    "SELECT a.fund_source_id, a.partner_id, a.company_id, a.debit_account_number, a.balance_minor, a.created_at, "
                    "COALESCE(p.enabled, :on) FROM payout_account a LEFT JOIN payout_partner p ON p.partner_id = a.partner_id"
                    + (" WHERE a.partner_id = :p" if partner_id else "")
                    + " ORDER BY a.created_at, a.fund_source_id"
                ),
                {"p": partner_id, "on": True} if partner_id else {"on": True},
            )
        return [
            {
                "fundSourceId": r[0],
                "partnerId": r[1],
                "companyId": r[2],
                "debitAccountNumber": r[3],
                "balance": from_minor(int(r[4])),
                "createdAt": iso_ist(as_datetime(r[5])),
                "payoutsEnabled": bool(r[6]),
            }
            for r in rows
        ]

    def fund(self, fund_source_id: str, amount: Decimal, from_account: str | None) -> dict[str, Any] | None:
        """Money arriving in a fund source from the tenant's whitelisted source account (a PAYOUT_FUND_IN row).
        None: unknown fund source; ValueError: fromAccountNumber is not the tenant's active whitelisted account."""
        now = self.clock.now()
        with self.db.tx(write=True) as tx:
            source = tx.one(_FUND_SOURCE, {"id": fund_source_id})
            if source is None:
                return None
            partner_id = source[0]
            active = tx.one(
                Sql("SELECT account_number FROM payout_source_bank WHERE partner_id = :p AND active = :on"),
                {"p": partner_id, "on": True},
            )
            if from_account is not None and (active is None or active[0] != from_account):
                raise ValueError(
                    f"{from_account} is not the partner's active whitelisted source account (POST /api/v0/bankDetail/whitelist)"
                )
            origin = from_account or (active[0] if active else None)
            moved = self.ledger.fund_in(
                tx,
                partner_id=partner_id,
                fund_source_id=fund_source_id,
                amount_minor=to_minor(amount),
                remarks=f"Fund in from {origin}" if origin else "Fund in (sandbox)",
                at=now,
            )
        return {
            "fundSourceId": fund_source_id,
            "partnerId": partner_id,
            "amount": amount,
            "balance": from_minor(moved.account_balance_minor or 0),
            "transactionReferenceNumber": moved.movement_id,
            "fromAccountNumber": origin,
        }

    def transfers(self, partner_id: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        if partner_id:
            clauses.append("partner_id = :p")
            params["p"] = partner_id
        if status:
            clauses.append("status = :s")
            params["s"] = status
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.db.tx(write=False) as tx:
            rows = tx.all(Sql(f"{_SELECT_TRANSFER}{where} ORDER BY created_at DESC, seq DESC LIMIT :limit"), params)
        return [_control_view(_row(r)) for r in rows]

    def detail(self, enkash_transaction_id: str) -> dict[str, Any] | None:
        with self.db.tx(write=False) as tx:
            found = tx.one(_TRANSFER_BY_ID, {"id": enkash_transaction_id})
            if found is None:
                return None
            events = tx.all(
                Sql(
                    "SELECT status, reason_code, note, created_at FROM payout_transfer_event "
                    "WHERE enkash_transaction_id = :id ORDER BY id"
                ),
                {"id": enkash_transaction_id},
            )
            ledger = tx.all(
                Sql(
                    "SELECT movement_id, type, holder_kind, holder_id, amount_minor, balance_after_minor, created_at "
                    "FROM payout_ledger_entry WHERE transfer_id = :id ORDER BY id"
                ),
                {"id": enkash_transaction_id},
            )
        view = _control_view(_row(found))
        view["timeline"] = [
            {"status": s, "reasonCode": r, "trigger": n, "at": iso_ist(as_datetime(at))} for s, r, n, at in events
        ]
        view["ledger"] = [
            {
                "movementId": m,
                "type": t,
                "holderKind": k,
                "holderId": h,
                "amount": from_minor(int(a)),
                "balanceAfter": from_minor(int(b)),
                "at": iso_ist(as_datetime(at)),
            }
            for m, t, k, h, a, b, at in ledger
        ]
        return view

    def control_statement(self, fund_source_id: str, amount_style: str = "rupees") -> list[dict[str, Any]] | None:
        with self.db.tx(write=False) as tx:
            if tx.one(_FUND_SOURCE, {"id": fund_source_id}) is None:
                return None
            rows = self.statement_rows(tx, fund_source_id)
        return [_statement_view(r, amount_style) for r in rows]


_INSERT_BENEFICIARY = Sql(
    "INSERT INTO beneficiary (partner_id, beneficiary_id, name, account_number, ifsc, vpa, email, phone, address, city, "
    "state, pincode, status, created_at) VALUES (:p, :b, :name, :account, :ifsc, :vpa, :email, :phone, :address, :city, "
    ":state, :pincode, 'ACTIVE', :at)"
)


def _beneficiary_params(partner_id: str, f: BeneficiaryFields, stamp: Any) -> dict[str, Any]:
    return {
        "p": partner_id,
        "b": f.beneficiary_id,
        "name": f.name,
        "account": f.account_number,
        "ifsc": f.ifsc,
        "vpa": f.vpa,
        "email": f.email,
        "phone": f.phone,
        "address": f.address,
        "city": f.city,
        "state": f.state,
        "pincode": f.pincode,
        "at": stamp,
    }


def _beneficiary_view(f: BeneficiaryFields, created: datetime | None, status: str) -> dict[str, Any]:
    return {
        "beneficiaryId": f.beneficiary_id,
        "beneficiaryName": f.name,
        "beneficiaryAccountNumber": f.account_number,
        "beneficiaryIfsc": f.ifsc,
        "vpaHandle": f.vpa,
        "beneficiaryEmail": f.email,
        "beneficiaryPhone": f.phone,
        "beneficiaryAddress": f.address,
        "beneficiaryCity": f.city,
        "beneficiaryState": f.state,
        "beneficiaryPincode": f.pincode,
        "createdOn": iso_ist(created),
        "status": status,
    }


def _unrecorded(item: Any, reason: str) -> dict[str, Any]:
    """A batch item that could not be recorded as a transfer (no usable transactionId, a repeat): in the failed
    list, REJECTED, without an enkashTransactionId."""
    get = item.get if isinstance(item, dict) else (lambda _key: None)
    transaction_id = get("transactionId")
    mode = get("transferMode")
    amount = get("transferAmount")
    return {
        "transactionId": transaction_id if isinstance(transaction_id, str) else None,
        "enkashTransactionId": None,
        "payoutStatus": "REJECTED",
        "transferAmount": amount if isinstance(amount, (int, Decimal)) and not isinstance(amount, bool) else None,
        "transferMode": mode if isinstance(mode, str) and mode in MODES else None,
        "reasonCode": reason,
    }


def _page(data: dict[str, Any]) -> tuple[int, int]:
    page, size = data.get("page", 0), data.get("size", 20)
    page = 0 if page is None else page
    size = 20 if size is None else size
    if isinstance(page, bool) or isinstance(size, bool) or not isinstance(page, int) or not isinstance(size, int):
        raise e.invalid(e.INVALID_FORMAT, "page and size must be integers")
    if page < 0 or page > 1_000_000 or not 1 <= size <= 100:
        raise e.invalid(hint="page >= 0 and size 1-100")
    return page, size


def _when(value: str | None, name: str) -> datetime:
    try:
        if value is None or len(value) > 40:
            raise ValueError
        return parse_iso(value)
    except (ValueError, OverflowError):
        raise e.invalid(hint=f"{name}: an ISO date-time like 2026-12-01T00:00:00Z") from None


def _statement_view(r: tuple[Any, ...], amount_style: str) -> dict[str, Any]:
    movement, type_, amount, after, remarks, created, transaction_id, mode, utr = r
    at = iso_ist(as_datetime(created))
    magnitude = abs(int(amount))
    return {
        "transactionId": transaction_id,
        "transactionDate": at,
        "valueDate": at,
        "transactionType": "DEBIT" if int(amount) < 0 else "CREDIT",
        "remarks": remarks,
        "transactionReferenceNumber": utr if type_ == "PAYOUT_SETTLED" and utr else movement,
        "transactionMode": mode if transaction_id is not None else "FUND_IN",
        "transactionAmount": magnitude if amount_style == "paise" else from_minor(magnitude),
        "runningBalance": from_minor(int(after)),
    }


def _control_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "enkashTransactionId": row["enkash_transaction_id"],
        "transactionId": row["transaction_id"],
        "partnerId": row["partner_id"],
        "batchTransactionId": row["batch_transaction_id"],
        "fundSourceId": row["fund_source_id"],
        "beneficiaryId": row["beneficiary_id"],
        "beneficiaryName": row["beneficiary_name"],
        "payoutStatus": row["status"],
        "plannedOutcome": row["outcome"],
        "transferAmount": _amount(row),
        "transferMode": row["transfer_mode"],
        "transferRemark": row["remark"],
        "reasonCode": row["reason_code"],
        "utr": row["utr"],
        "inFlight": from_minor(int(row["in_flight_minor"])),
        "settleAt": iso_ist(row["settle_at"]),
        "reverseAt": iso_ist(row["reverse_at"]),
        "createdAt": iso_ist(row["created_at"]),
        "modifiedAt": iso_ist(row["modified_at"]),
    }


class Sweeper:
    """This worker process's background settlement: every SWEEP_SECONDS (or when woken by a clock change), settle
    whatever is due on the sandbox clock. Every worker runs one; the guarded transitions make them safe together."""

    def __init__(self, service: PayoutService, control: ControlStore, interval: float = SWEEP_SECONDS) -> None:
        self.service = service
        self.control = control
        self.interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = 0.0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="enkash-payouts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=5)
        self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # the clock may have been moved by another worker: adopt the store's control state first
                self.control.refresh()
                self.service.settle_due()
            except Exception:  # a store being reset or closed: the next round tries again
                now = time.monotonic()
                if now - self._last_error > 60:
                    self._last_error = now
                    log.warning("payout sweep failed; retrying", exc_info=True)
            self._wake.wait(self.interval)
            self._wake.clear()
