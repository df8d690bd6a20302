"""The payout ledger: the only code that changes a fund source's balance or a transfer's money in flight.

A fund source (payout_account) is not a card account, so payout movements have rows of their own
(payout_ledger_entry), written in the caller's transaction together with the balance change, as prebuilt
statements, the way the card ledger (movements.py) writes its own:

- PAYOUT_FUND_IN         outside -> fund source                  (one row: the account)
- PAYOUT_DEBIT           fund source -> the transfer's transit   (two rows) on acceptance
- PAYOUT_SETTLED         transit -> outside (the beneficiary)     (one row: the transit) on SUCCESS
- PAYOUT_FAILURE_REFUND  transit -> fund source                  (two rows) on FAILED
- PAYOUT_REVERSAL        outside -> fund source                  (one row: the account) on REVERSED

Every debit is a guarded UPDATE (`balance_minor >= :amount`, `in_flight_minor >= :amount`), so two racing
transfers can never overdraw a fund source whatever the isolation level, and the unique index on
(transfer, type, holder kind) makes a second settlement, refund or reversal of one transfer impossible even
if two workers got past their guarded status UPDATEs at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from enkash_sandbox import ids
from enkash_sandbox.money import MAX_BALANCE_MINOR, from_minor
from enkash_sandbox.store.sql import Sql, Tx
from enkash_sandbox.vocabulary import HolderKind, TxnType
from sqlalchemy import text

if TYPE_CHECKING:
    from enkash_sandbox.store.engine import Database
    from sqlmodel import Session

PAYOUT_ACCOUNT = HolderKind.PAYOUT_ACCOUNT
PAYOUT_TRANSIT = HolderKind.PAYOUT_TRANSIT
FUND_IN = TxnType.PAYOUT_FUND_IN
DEBIT = TxnType.PAYOUT_DEBIT
SETTLED = TxnType.PAYOUT_SETTLED
FAILURE_REFUND = TxnType.PAYOUT_FAILURE_REFUND
REVERSAL = TxnType.PAYOUT_REVERSAL


class PayoutInsufficient(Exception):
    """The fund source holds less than the transfer (nothing was changed)."""


class PayoutLimit(Exception):
    """A credit would take the fund source past the sandbox's balance ceiling."""


_DEBIT_ACCOUNT = Sql(
    "UPDATE payout_account SET balance_minor = balance_minor - :amount "
    "WHERE fund_source_id = :id AND balance_minor >= :amount RETURNING balance_minor"
)
_CREDIT_ACCOUNT = Sql(
    "UPDATE payout_account SET balance_minor = balance_minor + :amount "
    "WHERE fund_source_id = :id AND balance_minor <= :ceiling RETURNING balance_minor"
)
_INSERT_ENTRY = Sql(
    "INSERT INTO payout_ledger_entry (partner_id, movement_id, type, holder_kind, holder_id, transfer_id, amount_minor, "
    "balance_after_minor, remarks, created_at) VALUES (:partner_id, :movement_id, :type, :holder_kind, :holder_id, "
    ":transfer_id, :amount_minor, :balance_after_minor, :remarks, :created_at)"
)


@dataclass(frozen=True)
class PayoutMove:
    movement_id: str
    account_balance_minor: int | None


class PayoutLedger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _movement_id(self, tx: Tx) -> str:
        return ids.format_id(self.db.seed, "payout_movement", self.db.mint(tx, "payout_movement"))

    def _entries(self, tx: Tx, rows: list[dict[str, Any]]) -> None:
        tx.many(_INSERT_ENTRY, rows)

    @staticmethod
    def _row(
        partner_id: str,
        movement_id: str,
        type: str,
        kind: str,
        holder_id: str,
        transfer_id: str | None,
        amount: int,
        after: int,
        remarks: str | None,
        stamp: Any,
    ) -> dict[str, Any]:
        return {
            "partner_id": partner_id,
            "movement_id": movement_id,
            "type": str(type),
            "holder_kind": str(kind),
            "holder_id": holder_id,
            "transfer_id": transfer_id,
            "amount_minor": amount,
            "balance_after_minor": after,
            "remarks": remarks,
            "created_at": stamp,
        }

    def fund_in(
        self, tx: Tx, *, partner_id: str, fund_source_id: str, amount_minor: int, remarks: str | None, at: datetime
    ) -> PayoutMove:
        after = self._credit_fund_source(tx, fund_source_id, amount_minor)
        movement = self._movement_id(tx)
        stamp = tx.ts(at)
        self._entries(
            tx,
            [self._row(partner_id, movement, FUND_IN, PAYOUT_ACCOUNT, fund_source_id, None, amount_minor, after, remarks, stamp)],
        )
        return PayoutMove(movement, after)

    def debit(
        self,
        tx: Tx,
        *,
        partner_id: str,
        fund_source_id: str,
        transfer_id: str,
        amount_minor: int,
        remarks: str | None,
        at: datetime,
    ) -> PayoutMove:
        """Fund source -> the transfer's transit. The transfer row (in_flight_minor = amount) is inserted by the
        caller in the same transaction; PayoutInsufficient leaves nothing changed."""
        row = tx.one(_DEBIT_ACCOUNT, {"id": fund_source_id, "amount": amount_minor})
        if row is None:
            raise PayoutInsufficient()
        movement = self._movement_id(tx)
        after = int(row[0])
        stamp = tx.ts(at)
        self._entries(
            tx,
            [
                self._row(
                    partner_id, movement, DEBIT, PAYOUT_ACCOUNT, fund_source_id, transfer_id, -amount_minor, after, remarks, stamp
                ),
                self._row(
                    partner_id,
                    movement,
                    DEBIT,
                    PAYOUT_TRANSIT,
                    transfer_id,
                    transfer_id,
                    amount_minor,
                    amount_minor,
                    remarks,
                    stamp,
                ),
            ],
        )
        return PayoutMove(movement, after)

    def settled(
        self, tx: Tx, *, partner_id: str, transfer_id: str, amount_minor: int, remarks: str | None, at: datetime
    ) -> PayoutMove:
        """Transit -> the beneficiary (money leaves the sandbox). The caller's guarded status UPDATE already set
        the transfer's in_flight_minor to 0."""
        movement = self._movement_id(tx)
        row = self._row(
            partner_id, movement, SETTLED, PAYOUT_TRANSIT, transfer_id, transfer_id, -amount_minor, 0, remarks, tx.ts(at)
        )
        self._entries(tx, [row])
        return PayoutMove(movement, None)

    def refund(
        self,
        tx: Tx,
        *,
        partner_id: str,
        fund_source_id: str,
        transfer_id: str,
        amount_minor: int,
        remarks: str | None,
        at: datetime,
    ) -> PayoutMove:
        """Transit -> fund source (a FAILED transfer). The caller's guarded status UPDATE zeroed in_flight_minor."""
        after = self._credit_fund_source(tx, fund_source_id, amount_minor)
        movement = self._movement_id(tx)
        stamp = tx.ts(at)
        out_of_transit = self._row(
            partner_id, movement, FAILURE_REFUND, PAYOUT_TRANSIT, transfer_id, transfer_id, -amount_minor, 0, remarks, stamp
        )
        back = self._row(
            partner_id, movement, FAILURE_REFUND, PAYOUT_ACCOUNT, fund_source_id, transfer_id, amount_minor, after, remarks, stamp
        )
        self._entries(tx, [out_of_transit, back])
        return PayoutMove(movement, after)

    def reversal(
        self,
        tx: Tx,
        *,
        partner_id: str,
        fund_source_id: str,
        transfer_id: str,
        amount_minor: int,
        remarks: str | None,
        at: datetime,
    ) -> PayoutMove:
        """The beneficiary's bank returns a settled transfer: outside -> fund source."""
        after = self._credit_fund_source(tx, fund_source_id, amount_minor)
        movement = self._movement_id(tx)
        back = self._row(
            partner_id, movement, REVERSAL, PAYOUT_ACCOUNT, fund_source_id, transfer_id, amount_minor, after, remarks, tx.ts(at)
        )
        self._entries(tx, [back])
        return PayoutMove(movement, after)

    @staticmethod
    def _credit_fund_source(tx: Tx, fund_source_id: str, amount_minor: int) -> int:
        """The guarded credit (the balance stays under the sandbox's ceiling); the balance after it."""
        row = tx.one(_CREDIT_ACCOUNT, {"id": fund_source_id, "amount": amount_minor, "ceiling": MAX_BALANCE_MINOR - amount_minor})
        if row is None:
            raise PayoutLimit()
        return int(row[0])


# -- the audit's payout checks ------------------------------------------------------------------------------------
# which ledger rows each status must have, per transfer (type -> count): REJECTED moved nothing; PENDING and
# PROCESSING were debited and not yet settled; SUCCESS settled; FAILED refunded; REVERSED settled and reversed
EXPECTED_ROWS: dict[str, dict[str, int]] = {
    "REJECTED": {},
    "PENDING": {DEBIT: 2},
    "PROCESSING": {DEBIT: 2},
    "SUCCESS": {DEBIT: 2, SETTLED: 1},
    "FAILED": {DEBIT: 2, FAILURE_REFUND: 2},
    "REVERSED": {DEBIT: 2, SETTLED: 1, REVERSAL: 1},
}


def payout_findings(s: Session, partner_id: str | None) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Discrepancies of the payout ledger (one snapshot, the caller's session) and what was checked:
    - every fund source's balance equals its ledger rows, none is negative, and its balance-after chain holds;
    - every transfer's money in flight equals its transit rows, and its status has exactly the rows it implies;
    - per tenant, fund-ins = fund-source balances + money in flight + settled - reversed (conservation)."""
    where = " WHERE partner_id = :p" if partner_id else ""
    params = {"p": partner_id} if partner_id else {}
    problems: list[dict[str, Any]] = []

    def rows(sql: str) -> list[Any]:
        return list(s.execute(text(sql), params).all())

    sums = {
        (kind, holder): int(total)
        for kind, holder, total in rows(
            f"SELECT holder_kind, holder_id, SUM(amount_minor) FROM payout_ledger_entry{where} GROUP BY holder_kind, holder_id"
        )
    }
    accounts = rows(f"SELECT fund_source_id, partner_id, balance_minor FROM payout_account{where}")
    for fund_source_id, _, balance in accounts:
        ledger = sums.get((str(PAYOUT_ACCOUNT), fund_source_id), 0)
        if balance != ledger:
            problems.append(
                {
                    "check": "payout_balance_equals_ledger",
                    "fundSourceId": fund_source_id,
                    "balance": from_minor(balance),
                    "ledger": from_minor(ledger),
                }
            )
        if balance < 0:
            problems.append({"check": "payout_negative_balance", "fundSourceId": fund_source_id, "balance": from_minor(balance)})
    previous: dict[str, int] = {}
    for holder, amount, after, entry_id in rows(
        f"SELECT holder_id, amount_minor, balance_after_minor, id FROM payout_ledger_entry"
        f"{where}{' AND' if where else ' WHERE'} holder_kind = '{PAYOUT_ACCOUNT}' ORDER BY holder_id, id"
    ):
        expected = previous.get(holder, 0) + amount
        if after != expected:
            problems.append(
                {
                    "check": "payout_ledger_chain",
                    "fundSourceId": holder,
                    "entry": entry_id,
                    "balanceAfter": from_minor(after),
                    "expected": from_minor(expected),
                }
            )
        previous[holder] = after
    counts: dict[str, dict[str, int]] = {}
    for transfer_id, type_, count in rows(
        f"SELECT transfer_id, type, COUNT(*) FROM payout_ledger_entry{where}"
        f"{' AND' if where else ' WHERE'} transfer_id IS NOT NULL GROUP BY transfer_id, type"
    ):
        per = counts.setdefault(transfer_id, {})
        per[type_] = per.get(type_, 0) + int(count)
    transfers = rows(
        f"SELECT enkash_transaction_id, partner_id, status, in_flight_minor, amount_minor FROM payout_transfer{where}"
    )
    known = set()
    for transfer_id, _, status, in_flight, amount in transfers:
        known.add(transfer_id)
        transit = sums.get((str(PAYOUT_TRANSIT), transfer_id), 0)
        if in_flight != transit:
            problems.append(
                {
                    "check": "payout_in_flight_equals_ledger",
                    "enkashTransactionId": transfer_id,
                    "inFlight": from_minor(in_flight),
                    "ledger": from_minor(transit),
                }
            )
        expected_in_flight = amount if status in ("PENDING", "PROCESSING") else 0
        found = counts.get(transfer_id, {})
        if found != EXPECTED_ROWS.get(status, {}) or in_flight != expected_in_flight:
            problems.append(
                {
                    "check": "payout_status_rows",
                    "enkashTransactionId": transfer_id,
                    "payoutStatus": status,
                    "rows": {str(k): v for k, v in sorted(found.items())},
                    "expected": {str(k): v for k, v in sorted(EXPECTED_ROWS.get(status, {}).items())},
                }
            )
    for transfer_id in sorted(set(counts) - known):
        problems.append({"check": "payout_rows_without_transfer", "enkashTransactionId": transfer_id})
    # conservation per tenant: what came in is on fund sources, in flight, or left (settled and not returned)
    by_type: dict[tuple[str, str], int] = {}
    for partner, type_, kind, total in rows(
        f"SELECT partner_id, type, holder_kind, SUM(amount_minor) FROM payout_ledger_entry{where} "
        "GROUP BY partner_id, type, holder_kind"
    ):
        if (type_, kind) in ((FUND_IN, PAYOUT_ACCOUNT), (SETTLED, PAYOUT_TRANSIT), (REVERSAL, PAYOUT_ACCOUNT)):
            by_type[(partner, type_)] = by_type.get((partner, type_), 0) + int(total)
    balances: dict[str, int] = {}
    for _, partner, balance in accounts:
        balances[partner] = balances.get(partner, 0) + int(balance)
    in_flight_by: dict[str, int] = {}
    for _, partner, _, in_flight, _ in transfers:
        in_flight_by[partner] = in_flight_by.get(partner, 0) + int(in_flight)
    for partner in sorted(set(balances) | set(in_flight_by) | {p for p, _ in by_type}):
        funded = by_type.get((partner, FUND_IN), 0)
        settled = -by_type.get((partner, SETTLED), 0)
        reversed_ = by_type.get((partner, REVERSAL), 0)
        held = balances.get(partner, 0) + in_flight_by.get(partner, 0)
        if funded != held + settled - reversed_:
            problems.append(
                {
                    "check": "payout_conservation",
                    "partnerId": partner,
                    "fundedIn": from_minor(funded),
                    "onFundSources": from_minor(balances.get(partner, 0)),
                    "inFlight": from_minor(in_flight_by.get(partner, 0)),
                    "settled": from_minor(settled),
                    "reversed": from_minor(reversed_),
                }
            )
    return problems, {"payoutAccounts": len(accounts), "payoutTransfers": len(transfers)}
