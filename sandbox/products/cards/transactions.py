"""Transaction search (Get Transaction Details / Get All Transaction details)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from enkash_sandbox.money import to_minor
from enkash_sandbox.products import scope
from enkash_sandbox.products.cards.schemas import TransactionSearch
from enkash_sandbox.products.cards.views import txn_view
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company, Transaction
from enkash_sandbox.timefmt import parse_iso
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.store.engine import Database


class TransactionService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def search(self, partner_id: str, req: TransactionSearch) -> dict:
        with self.db.read() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            query = (
                select(Transaction, Card, CardHolder)
                .join(Card, col(Card.id) == Transaction.card_id)
                .join(CardHolder, col(CardHolder.id) == Card.user_id)
                .where(Transaction.account_id == account.id)
            )
            # every filter is optional; a value that matches nothing simply yields no rows
            if req.enKashCardId:
                query = query.where(Transaction.card_id == req.enKashCardId)
            if req.userId:
                query = query.where(Transaction.user_id == req.userId)
            if req.pgReferenceNumber:
                query = query.where(Transaction.pg_reference_number == req.pgReferenceNumber)
            if req.pgReferenceNumbers:
                query = query.where(col(Transaction.pg_reference_number).in_(req.pgReferenceNumbers))
            if req.enKashTransactionId:
                query = query.where(Transaction.id == req.enKashTransactionId)
            if req.enKashTransactionIds:
                query = query.where(col(Transaction.id).in_(req.enKashTransactionIds))
            if req.cardTransactionType:
                query = query.where(Transaction.direction == req.cardTransactionType)
            if req.status:
                query = query.where(Transaction.status == req.status)
            if req.amountFrom is not None:
                query = query.where(Transaction.amount_minor >= to_minor(req.amountFrom))
            if req.amountTo is not None:
                query = query.where(Transaction.amount_minor <= to_minor(req.amountTo))
            if req.txnDateFrom:
                query = query.where(Transaction.created_at >= parse_iso(req.txnDateFrom))
            if req.txnDateTo:
                query = query.where(Transaction.created_at <= parse_iso(req.txnDateTo))
            if req.cardHolderName:
                pattern = f"%{req.cardHolderName.lower()}%"
                query = query.where(
                    or_(func.lower(CardHolder.first_name).like(pattern), func.lower(CardHolder.last_name).like(pattern))
                )
            if req.companyName and req.companyName.lower() not in self._company_name(s, account).lower():
                return {"recordsCount": 0, "data": []}
            query = query.order_by(col(Transaction.created_at).desc(), col(Transaction.seq).desc())
            if req.offset:
                query = query.offset(req.offset)
            if req.limit:
                query = query.limit(req.limit)
            data = [txn_view(txn, card, holder, account) for txn, card, holder in s.exec(query)]
            return {"recordsCount": len(data), "data": data}

    @staticmethod
    def _company_name(s: Session, account: CardAccount) -> str:
        company = s.get(Company, account.company_id)
        assert company is not None  # company_id is a foreign key
        return company.name
