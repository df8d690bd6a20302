"""Transaction search (Get Transaction Details / Get All Transaction details)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from enkash_sandbox.money import to_minor
from enkash_sandbox.products import scope
from enkash_sandbox.products.cards.schemas import TransactionSearch
from enkash_sandbox.products.cards.views import STATUS_IN, txn_row, txn_view
from enkash_sandbox.store.tables import Card, CardAccount, CardAuthorization, CardHolder, Company, Order, Transaction
from enkash_sandbox.timefmt import parse_iso
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.profile import Profile
    from enkash_sandbox.store.engine import Database


class TransactionService:
    def __init__(self, db: Database, release_expired_holds: Callable[[], object] | None = None) -> None:
        self.db = db
        # card authorization holds whose time passed on the sandbox clock are released before a list is read,
        # so the list shows the release (spend/service.py; one indexed read when nothing is due)
        self.release_expired_holds = release_expired_holds

    def search(self, partner_id: str, req: TransactionSearch, profile: Profile | None = None) -> dict:
        if self.release_expired_holds is not None:
            self.release_expired_holds()
        webhook_rows = profile is None or profile.transaction_rows == "webhook"
        with self.db.read() as s:
            account = scope.get_account(s, partner_id, req.companyId, req.cardAccountId)
            query = (
                select(Transaction, Card, CardHolder, CardAuthorization)
                .join(Card, col(Card.id) == Transaction.card_id)
                .join(CardHolder, col(CardHolder.id) == Card.user_id)
                .outerjoin(CardAuthorization, col(CardAuthorization.id) == Transaction.id)
                .where(Transaction.account_id == account.id)
            )
            # every filter is optional; a value that matches nothing simply yields no rows
            if req.enKashCardId:
                query = query.where(Transaction.card_id == req.enKashCardId)
            if req.userId:
                query = query.where(Transaction.user_id == req.userId)
            # a REDEMPTION or REFUND row is found by its order's orderReferenceId too (its pgReferenceNumber)
            for references in ([req.pgReferenceNumber] if req.pgReferenceNumber else None, req.pgReferenceNumbers):
                if references:
                    orders = select(Order.id).where(Order.partner_id == partner_id, col(Order.order_reference).in_(references))
                    query = query.where(
                        or_(col(Transaction.pg_reference_number).in_(references), col(Transaction.order_id).in_(orders))
                    )
            if req.enKashTransactionId:
                query = query.where(Transaction.id == req.enKashTransactionId)
            if req.enKashTransactionIds:
                query = query.where(col(Transaction.id).in_(req.enKashTransactionIds))
            if req.cardTransactionType:
                query = query.where(Transaction.direction == req.cardTransactionType)
            if req.status:
                # CREATED, the one documented status, is what a settled movement is called in EnKash's words
                query = query.where(Transaction.status == STATUS_IN.get(req.status, req.status))
            # 0 is "not given": the docs' own filter example sends amountFrom 0 and amountTo 0 (a Java double's
            # default), and an upper bound of 0 would match no movement at all
            if req.amountFrom:
                query = query.where(Transaction.amount_minor >= to_minor(req.amountFrom))
            if req.amountTo:
                query = query.where(Transaction.amount_minor <= to_minor(req.amountTo))
            if req.txnDateFrom:
                query = query.where(Transaction.created_at >= parse_iso(req.txnDateFrom))
            if req.txnDateTo:
                query = query.where(Transaction.created_at <= parse_iso(req.txnDateTo))
            if req.cardHolderName:
                # the full name as rows show it ("first middle last"), "first last", or either part
                pattern = f"%{' '.join(req.cardHolderName.lower().split())}%"
                first, last = func.coalesce(CardHolder.first_name, ""), func.coalesce(CardHolder.last_name, "")
                middle = func.coalesce(col(CardHolder.middle_name) + " ", "")
                query = query.where(
                    or_(
                        func.lower(first + " " + last).like(pattern),
                        func.lower(first + " " + middle + last).like(pattern),
                    )
                )
            if req.companyName and req.companyName.lower() not in self._company_name(s, account).lower():
                return {"recordsCount": 0, "data": []}
            query = query.order_by(col(Transaction.created_at).desc(), col(Transaction.seq).desc())
            if req.offset:
                query = query.offset(req.offset)
            if req.limit:
                query = query.limit(req.limit)
            rows = s.exec(query).all()
            refs = self._order_references(s, [txn.order_id for txn, *_ in rows if txn.order_id and not txn.pg_reference_number])
            if webhook_rows:
                company = s.get(Company, account.company_id)
                assert company is not None  # company_id is a foreign key
                data = [
                    txn_row(txn, card, holder, account, company, auth, txn.pg_reference_number or refs.get(txn.order_id))
                    for txn, card, holder, auth in rows
                ]
            else:
                data = [
                    txn_view(txn, card, holder, account, txn.pg_reference_number or refs.get(txn.order_id))
                    for txn, card, holder, _ in rows
                ]
            return {"recordsCount": len(data), "data": data}

    @staticmethod
    def _order_references(s: Session, order_ids: list[str]) -> dict[str | None, str]:
        """The partner's orderReferenceId of each order (a REDEMPTION or REFUND row's pgReferenceNumber)."""
        if not order_ids:
            return {}
        found = s.exec(select(Order.id, Order.order_reference).where(col(Order.id).in_(set(order_ids))))
        return dict(found.all())

    @staticmethod
    def _company_name(s: Session, account: CardAccount) -> str:
        company = s.get(Company, account.company_id)
        assert company is not None  # company_id is a foreign key
        return company.name
