"""What the SSO landing pages show: the card holder's rewards view and the HR admin's account view.

Read-only projections of the same domain data the API serves; the pages never touch tables."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from enkash_sandbox.money import from_minor
from enkash_sandbox.products.cards.views import txn_view
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Company, Transaction
from enkash_sandbox.timefmt import java_medium
from enkash_sandbox.vocabulary import TxnType
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.products.auth.service import AuthService, Principal
    from enkash_sandbox.products.cards.accounts import AccountService
    from enkash_sandbox.products.marketplace.catalog import CatalogSource
    from enkash_sandbox.products.marketplace.service import RedemptionService
    from enkash_sandbox.store.engine import Database


# credits to a card that are not allocations (as the account's totals count them: AccountService.stats)
NOT_ALLOCATIONS = frozenset({TxnType.CARD_REPLACEMENT, TxnType.REFUND, TxnType.AUTH_RELEASE, TxnType.REVERSAL})


class PortalError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


class PortalService:
    def __init__(
        self, db: Database, auth: AuthService, accounts: AccountService, marketplace: RedemptionService, catalog: CatalogSource
    ) -> None:
        self.db = db
        self.auth = auth
        self.accounts = accounts
        self.marketplace = marketplace
        self.catalog = catalog

    def principal(self, token: str) -> Principal:
        principal = self.auth.resolve(token)
        if principal is None or principal.kind != "sso":
            raise PortalError(
                401, "This sign-in link is invalid or has expired. Open the rewards page again from your company's portal."
            )
        return principal

    def employee(self, token: str) -> dict:
        p = self.principal(token)
        with self.db.read() as s:
            card = s.get(Card, p.card_id)
            assert card is not None  # the card the SSO token was issued for
            account = s.get(CardAccount, card.account_id)
            assert account is not None  # account_id is a foreign key
            holder = s.get(CardHolder, card.user_id)
            assert holder is not None  # user_id is a foreign key
            company = s.get(Company, account.company_id)
            rows = s.exec(
                select(Transaction)
                .where(Transaction.account_id == card.account_id, Transaction.card_id == card.id)
                .order_by(col(Transaction.created_at).desc(), col(Transaction.seq).desc())
                .limit(50)
            ).all()
            history = [txn_view(t, card, holder, account) for t in rows]
        redemption = self.marketplace
        carts = redemption.get_carts(p)
        return {
            "token": token,
            "partner_id": p.partner_id,
            "card": card,
            "holder": holder,
            "account": account,
            "company": company,
            "name": _name(holder),
            "otb": from_minor(card.balance_minor),
            "history": history,
            "coins": holder.coin_balance,
            "expires": java_medium(p.expires_at),
            "catalog": [c for c in self.catalog.products if c.active and c.enabled],
            "carts": carts,
            "cart_total": sum((c["totalAmount"] for c in carts), Decimal(0)),
            "orders": redemption.orders_of_user(holder.id),
        }

    def admin(self, token: str) -> dict:
        p = self.principal(token)
        with self.db.read() as s:
            card = s.get(Card, p.card_id)
            assert card is not None  # the card the SSO token was issued for
            account = s.get(CardAccount, card.account_id)
            assert account is not None  # account_id is a foreign key
            if account.primary_card_id != card.id:
                # a card holder's own reward account: what the SSO answer's rewardAccountUrl opens for a holder
                return self._holder_account(s, p, token, card, account)
            view = self.accounts.view(s, account)
            rows = s.exec(
                select(Card, CardHolder)
                .join(CardHolder, col(CardHolder.id) == Card.user_id)
                .where(Card.account_id == account.id)
                .order_by(col(Card.seq))
            ).all()
            cards = [
                {
                    "id": c.id,
                    "name": _name(h),
                    "mobile": h.mobile,
                    "masked": c.masked_number,
                    "status": c.status,
                    "kyc": c.kyc_status,
                    "otb": from_minor(c.balance_minor),
                    "primary": c.primary_card,
                }
                for c, h in rows
            ]
            # keyed for look-ups by a transaction's card and user, which are None for account-only movements
            holders: dict[str | None, CardHolder] = {h.id: h for _, h in rows}
            cards_by_id: dict[str | None, Card] = {c.id: c for c, _ in rows}
            txns = s.exec(
                select(Transaction)
                .where(Transaction.account_id == account.id)
                .order_by(col(Transaction.created_at).desc(), col(Transaction.seq).desc())
                .limit(50)
            ).all()
            allocations = [txn_view(t, cards_by_id.get(t.card_id), holders.get(t.user_id), account) for t in txns]
        return {
            "token": token,
            "partner_id": p.partner_id,
            "account": view,
            "cards": cards,
            "allocations": allocations,
            "admin": _name(holders.get(card.user_id)),
            "expires": java_medium(p.expires_at),
            "view": "admin",
        }

    def _holder_account(self, s: Session, p: Principal, token: str, card: Card, account: CardAccount) -> dict:
        """The reward account as one card holder sees it: their card's balance, what was allocated to it and
        what they redeemed, and their own movements — never the company's balance or other holders' cards (the
        docs give the HR admin's page only; a holder's token is answered with their own account, not refused)."""
        holder = s.get(CardHolder, card.user_id)
        assert holder is not None  # user_id is a foreign key
        company = s.get(Company, account.company_id)
        rows = s.exec(
            select(Transaction)
            .where(Transaction.account_id == account.id, Transaction.card_id == card.id)
            .order_by(col(Transaction.created_at).desc(), col(Transaction.seq).desc())
        ).all()
        history = [txn_view(t, card, holder, account) for t in rows]
        settled = [t for t in rows if t.status == "SUCCESS"]
        received = sum((t.amount_minor for t in settled if t.direction == "CR" and t.type not in NOT_ALLOCATIONS), 0)
        redeemed = sum((t.amount_minor for t in settled if t.direction == "DR" and t.type == TxnType.REDEMPTION), 0)
        # a failed order's refund gives the points back
        refunded = sum((t.amount_minor for t in rows if t.type == TxnType.REFUND and t.order_id is not None), 0)
        return {
            "token": token,
            "partner_id": p.partner_id,
            "view": "holder",
            "name": _name(holder),
            "card": card,
            "account": account,
            "company": company,
            "otb": from_minor(card.balance_minor),
            "received": from_minor(received),
            "redeemed": from_minor(max(redeemed - refunded, 0)),
            "history": history[:50],
            "expires": java_medium(p.expires_at),
        }


def _name(holder: CardHolder | None) -> str:
    if holder is None:
        return ""
    return " ".join(p for p in (holder.first_name, holder.last_name) if p) or holder.mobile or holder.id
