"""The integrity audit: does every balance equal its ledger, and is money conserved?

- every card account's and card's balance equals the sum of its ledger rows, and none is negative;
- every ledger row's balance-after chains from the previous one;
- every pgReferenceNumber is used once per card account;
- per tenant, money on accounts + money on cards = money funded - money redeemed (net of refunds);
- every holder's coin balance equals their coin ledger.
Returns the discrepancies; an empty list means the store is sound.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from enkash_sandbox.domain.ledger import ACCOUNT, CARD, FUNDING, REDEMPTION
from enkash_sandbox.money import from_minor
from enkash_sandbox.store.models import Card, CardAccount, CardHolder, CoinEntry, LedgerEntry, Transaction


class AuditService:
    def __init__(self, core):
        self.core = core

    def run(self, partner_id: str | None = None) -> dict:
        problems: list[dict] = []
        with self.core.db.read() as s:
            def scoped(query, model):
                return query.where(model.partner_id == partner_id) if partner_id else query

            sums = {(kind, holder): total for kind, holder, total in s.exec(scoped(
                select(LedgerEntry.holder_kind, LedgerEntry.holder_id, func.sum(LedgerEntry.amount_minor))
                .group_by(LedgerEntry.holder_kind, LedgerEntry.holder_id), LedgerEntry))}
            accounts = s.exec(scoped(select(CardAccount), CardAccount)).all()
            cards = s.exec(scoped(select(Card.id, Card.partner_id, Card.balance_minor), Card)).all()
            for account in accounts:
                self._balance(problems, ACCOUNT, account.id, account.balance_minor, sums.get((ACCOUNT, account.id), 0))
            for card_id, _, balance in cards:
                self._balance(problems, CARD, card_id, balance, sums.get((CARD, card_id), 0))
            # balance-after chains: each row = previous row's balance + its amount
            previous: dict[tuple[str, str], int] = {}
            for kind, holder, amount, after, entry_id in s.exec(scoped(
                    select(LedgerEntry.holder_kind, LedgerEntry.holder_id, LedgerEntry.amount_minor,
                           LedgerEntry.balance_after_minor, LedgerEntry.id), LedgerEntry)
                    .order_by(LedgerEntry.holder_kind, LedgerEntry.holder_id, LedgerEntry.id)):
                expected = previous.get((kind, holder), 0) + amount
                if after != expected:
                    problems.append({"check": "ledger_chain", "holderKind": kind, "holderId": holder,
                                     "entry": entry_id, "balanceAfter": from_minor(after),
                                     "expected": from_minor(expected)})
                previous[(kind, holder)] = after
            for account_id, reference, count in s.exec(scoped(
                    select(Transaction.account_id, Transaction.pg_reference_number, func.count())
                    .where(Transaction.pg_reference_number != None)  # noqa: E711
                    .group_by(Transaction.account_id, Transaction.pg_reference_number)
                    .having(func.count() > 1), Transaction)):
                problems.append({"check": "unique_reference", "cardAccountId": account_id,
                                 "pgReferenceNumber": reference, "count": count})
            self._conservation(s, problems, accounts, cards, partner_id)
            coin_sums = dict(s.exec(select(CoinEntry.user_id, func.sum(CoinEntry.amount))
                                    .group_by(CoinEntry.user_id)).all())
            for holder_id, balance in s.exec(scoped(select(CardHolder.id, CardHolder.coin_balance)
                                                    .where(CardHolder.coin_balance != 0), CardHolder)):
                if balance != coin_sums.get(holder_id, 0):
                    problems.append({"check": "coin_balance", "userId": holder_id, "balance": balance,
                                     "ledger": coin_sums.get(holder_id, 0)})
            entries = s.exec(scoped(select(func.count()).select_from(LedgerEntry), LedgerEntry)).one()
            counts = {"accounts": len(accounts), "cards": len(cards), "ledgerEntries": entries}
        return {"ok": not problems, "checked": counts, "discrepancies": problems}

    @staticmethod
    def _balance(problems: list, kind: str, holder_id: str, balance: int, ledger: int) -> None:
        if balance != ledger:
            problems.append({"check": "balance_equals_ledger", "holderKind": kind, "holderId": holder_id,
                             "balance": from_minor(balance), "ledger": from_minor(ledger)})
        if balance < 0:
            problems.append({"check": "negative_balance", "holderKind": kind, "holderId": holder_id,
                             "balance": from_minor(balance)})

    @staticmethod
    def _conservation(s, problems: list, accounts, cards, partner_id: str | None) -> None:
        held: dict[str, int] = {}
        for account in accounts:
            held[account.partner_id] = held.get(account.partner_id, 0) + account.balance_minor
        for _, pid, balance in cards:
            held[pid] = held.get(pid, 0) + balance
        query = select(Transaction.partner_id, Transaction.type, Transaction.direction,
                       func.sum(Transaction.amount_minor)).group_by(Transaction.partner_id, Transaction.type,
                                                                     Transaction.direction)
        if partner_id:
            query = query.where(Transaction.partner_id == partner_id)
        flows: dict[str, int] = {}
        for pid, kind, direction, total in s.exec(query):
            if kind == FUNDING:
                flows[pid] = flows.get(pid, 0) + total
            elif kind == REDEMPTION and direction == "DR":
                flows[pid] = flows.get(pid, 0) - total
            elif kind == "REFUND":
                flows[pid] = flows.get(pid, 0) + total
        for pid in set(held) | set(flows):
            if held.get(pid, 0) != flows.get(pid, 0):
                problems.append({"check": "conservation", "partnerId": pid, "held": from_minor(held.get(pid, 0)),
                                 "fundedMinusRedeemed": from_minor(flows.get(pid, 0))})
