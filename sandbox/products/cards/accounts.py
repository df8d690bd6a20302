"""Card accounts: creation and the account view with its ledger-derived statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from enkash_sandbox.ledger.movements import REDEMPTION, REPLACEMENT
from enkash_sandbox.money import from_minor
from enkash_sandbox.products import scope
from enkash_sandbox.products.cards.schemas import CardAccountCreate
from enkash_sandbox.products.cards.views import card_view
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company, Transaction
from enkash_sandbox.timefmt import java_medium, month_start_utc
from enkash_sandbox.vocabulary import TxnType
from sqlalchemy import case, func
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.store.engine import Database


class AccountService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def create(self, partner_id: str, req: CardAccountCreate) -> dict:
        with self.db.write() as s:
            company = scope.get_company(s, partner_id, req.companyId)
            account = self.new_account(
                s, company, req.accountType, req.accountTitle, plan_master_id=req.planMasterId, email=req.email, mobile=req.mobile
            )
            return self.view(s, account)

    def new_account(
        self,
        s: Session,
        company: Company,
        account_type: str,
        title: str,
        *,
        plan_master_id: str | None = None,
        email: str | None = None,
        mobile: str | None = None,
    ) -> CardAccount:
        account = CardAccount(
            id=self.db.new_id(s, "account"),
            partner_id=company.partner_id,
            company_id=company.id,
            account_type=account_type,
            title=title,
            plan_master_id=plan_master_id,
            email=email or company.email,
            mobile=mobile or company.mobile,
            balance_minor=0,
            created_at=self.clock.now(),
        )
        s.add(account)
        s.flush()
        return account

    def get(self, partner_id: str, company_id: str, account_id: str) -> dict:
        with self.db.read() as s:
            return self.view(s, scope.get_account(s, partner_id, company_id, account_id))

    def stats(self, s: Session, account_id: str) -> dict:
        """Allocation and redemption totals computed from the ledger, never stored counters."""
        month_start = month_start_utc(self.clock.now())
        allocation = (
            (col(Transaction.direction) == "CR")
            & (col(Transaction.card_id).is_not(None))
            & (col(Transaction.type) != REPLACEMENT)
            & (col(Transaction.type) != "REFUND")
            # money coming back to a card from its own authorization hold is no allocation
            & (col(Transaction.type) != TxnType.AUTH_RELEASE)
            & (col(Transaction.type) != TxnType.REVERSAL)
        )
        redemption = (col(Transaction.direction) == "DR") & (col(Transaction.type) == REDEMPTION)
        this_month = col(Transaction.created_at) >= month_start
        amount = col(Transaction.amount_minor)
        row = s.exec(
            select(
                func.coalesce(func.sum(case((allocation, amount), else_=0)), 0),
                func.coalesce(func.sum(case((redemption, amount), else_=0)), 0),
                func.coalesce(func.sum(case((allocation & this_month, amount), else_=0)), 0),
                func.coalesce(func.sum(case((redemption & this_month, amount), else_=0)), 0),
            ).where(Transaction.account_id == account_id, Transaction.status == "SUCCESS")
        ).one()
        # a refund of a failed redemption gives the points back: net it out of redemptions (a merchant's refund of
        # a card purchase has no order and is not a redemption's)
        refunds = s.exec(
            select(
                func.coalesce(func.sum(Transaction.amount_minor), 0),
                func.coalesce(func.sum(case((this_month, Transaction.amount_minor), else_=0)), 0),
            ).where(Transaction.account_id == account_id, Transaction.type == "REFUND", col(Transaction.order_id).is_not(None))
        ).one()
        cards = s.exec(
            select(
                func.count(col(Card.id)),
                func.coalesce(func.sum(case((col(Card.status) == "UL", 1), else_=0)), 0),
                func.coalesce(func.sum(Card.balance_minor), 0),
            ).where(Card.account_id == account_id)
        ).one()
        return {
            "totalCards": int(cards[0]),
            "activeCards": int(cards[1]),
            "card_balance_minor": int(cards[2]),
            "totalAllocationPoint": from_minor(int(row[0])),
            "totalRedemptionPoint": from_minor(int(row[1]) - int(refunds[0])),
            "currentMonthAllocationPoint": from_minor(int(row[2])),
            "currentMonthRedemptionPoint": from_minor(int(row[3]) - int(refunds[1])),
        }

    def view(self, s: Session, account: CardAccount) -> dict:
        company = s.get(Company, account.company_id)
        assert company is not None  # company_id is a foreign key
        stats = self.stats(s, account.id)
        primary = None
        if account.primary_card_id:
            card = s.get(Card, account.primary_card_id)
            if card is not None:
                holder = s.get(CardHolder, card.user_id)
                assert holder is not None  # user_id is a foreign key
                primary = card_view(card, holder, account, company)
        return {
            "cardAccountId": account.id,
            "companyId": company.id,
            "companyName": company.name,
            "accountTitle": account.title,
            "accountType": account.account_type,
            "planMasterId": account.plan_master_id,
            "creditLimit": 0,
            "dynamicLimit": 0,
            "usedCreditLimit": 0,
            "availableBalance": from_minor(account.balance_minor),
            "availableCardBalance": from_minor(stats["card_balance_minor"]),
            "totalCards": stats["totalCards"],
            "activeCards": stats["activeCards"],
            "totalAllocationPoint": stats["totalAllocationPoint"],
            "totalRedemptionPoint": stats["totalRedemptionPoint"],
            "currentMonthAllocationPoint": stats["currentMonthAllocationPoint"],
            "currentMonthRedemptionPoint": stats["currentMonthRedemptionPoint"],
            "primaryEnKashCard": primary,
            "createdOn": java_medium(account.created_at),
        }

    def list_for_partner(self, partner_id: str) -> list[CardAccount]:
        with self.db.read() as s:
            return list(
                s.exec(
                    select(CardAccount)
                    .where(CardAccount.partner_id == partner_id)
                    .order_by(col(CardAccount.created_at), col(CardAccount.id))
                )
            )
