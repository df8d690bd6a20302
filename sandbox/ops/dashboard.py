"""Read models for the dashboard: overviews, ledgers with running balances, chart series.

Projections of the same tables the API serves, computed here so that the pages only render.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from enkash_sandbox.ledger.movements import ACCOUNT, CARD, REDEMPTION, REPLACEMENT
from enkash_sandbox.money import from_minor
from enkash_sandbox.products.cards.views import card_view, txn_view
from enkash_sandbox.store.tables import (
    Card,
    CardAccount,
    CardHolder,
    CoinConfig,
    Company,
    LedgerEntry,
    Order,
    Partner,
    Transaction,
)
from enkash_sandbox.timefmt import java_medium, to_ist
from sqlalchemy import func
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.container import Container


class DashboardService:
    def __init__(self, sandbox: Container) -> None:
        self.sandbox = sandbox

    def overview(self) -> dict:
        with self.sandbox.db.read() as s:
            partners = s.exec(select(Partner).order_by(col(Partner.created_at), col(Partner.id))).all()
            counts = {
                "partners": len(partners),
                "accounts": s.exec(select(func.count()).select_from(CardAccount)).one(),
                "cards": s.exec(select(func.count()).select_from(Card)).one(),
                "transactions": s.exec(select(func.count()).select_from(Transaction)).one(),
                "orders": s.exec(select(func.count()).select_from(Order)).one(),
            }
            per_partner = {
                pid: (n, bal)
                for pid, n, bal in s.exec(
                    select(
                        col(CardAccount.partner_id), func.count(col(CardAccount.id)), func.sum(col(CardAccount.balance_minor))
                    ).group_by(col(CardAccount.partner_id))
                )
            }
            cards_per_partner = dict(
                s.exec(select(col(Card.partner_id), func.count(col(Card.id))).group_by(col(Card.partner_id))).all()
            )
        demo = (self.sandbox.demo_credentials() or {}).get("partnerId")
        rows = [
            {
                "id": p.id,
                "name": p.name,
                "clientId": p.client_id,
                "encryption": p.encryption,
                "locked": p.locked,
                "demo": p.id == demo,
                "accounts": per_partner.get(p.id, (0, 0))[0],
                "balance": from_minor(per_partner.get(p.id, (0, 0))[1] or 0),
                "cards": cards_per_partner.get(p.id, 0),
                "created": java_medium(p.created_at),
            }
            for p in partners
        ]
        return {"counts": counts, "partners": rows}

    def partner(self, partner_id: str) -> dict | None:
        with self.sandbox.db.read() as s:
            partner = s.get(Partner, partner_id)
            if partner is None:
                return None
            companies = s.exec(select(Company).where(Company.partner_id == partner_id)).all()
            accounts = s.exec(
                select(CardAccount)
                .where(CardAccount.partner_id == partner_id)
                .order_by(col(CardAccount.created_at), col(CardAccount.id))
            ).all()
            views = [self.sandbox.accounts.view(s, a) for a in accounts]
            coins = s.exec(select(CoinConfig).where(CoinConfig.partner_id == partner_id)).all()
            holders = s.exec(select(CardHolder).where(CardHolder.partner_id == partner_id, CardHolder.coin_balance > 0)).all()
            locked = s.exec(
                select(CardHolder).where(CardHolder.partner_id == partner_id, CardHolder.locked == True)  # noqa: E712
            ).all()
        # logins locked by bad passwords, each with its Unlock button: (login, who, when the lock was set)
        logins = [(partner.username, "partner login", partner.locked_at)] if partner.locked else []
        logins += [(h.mobile or h.id, f"card holder {h.id}", h.locked_at) for h in locked]
        return {
            "partner": partner,
            "companies": companies,
            "accounts": views,
            "coin_configs": coins,
            "coin_holders": holders,
            "locked_logins": logins,
        }

    def account(self, account_id: str) -> dict | None:
        with self.sandbox.db.read() as s:
            account = s.get(CardAccount, account_id)
            if account is None:
                return None
            company = s.get(Company, account.company_id)
            assert company is not None  # company_id is a foreign key
            view = self.sandbox.accounts.view(s, account)
            rows = s.exec(
                select(Card, CardHolder)
                .join(CardHolder, col(CardHolder.id) == Card.user_id)
                .where(Card.account_id == account_id)
                .order_by(col(Card.seq))
            ).all()
            cards = [card_view(c, h, account, company) for c, h in rows]
            ledger = self._ledger(s, ACCOUNT, account_id, limit=200)
            series = self._balance_series(s, ACCOUNT, account_id)
            monthly = self._monthly(s, account_id)
        return {
            "account": account,
            "view": view,
            "cards": cards,
            "ledger": ledger,
            "series": series,
            "monthly": monthly,
            "partner_id": account.partner_id,
        }

    def card(self, card_id: str) -> dict | None:
        with self.sandbox.db.read() as s:
            card = s.get(Card, card_id)
            if card is None:
                return None
            account = s.get(CardAccount, card.account_id)
            holder = s.get(CardHolder, card.user_id)
            assert account is not None and holder is not None  # foreign keys
            company = s.get(Company, account.company_id)
            assert company is not None  # company_id is a foreign key
            view = card_view(card, holder, account, company)
            ledger = self._ledger(s, CARD, card_id, limit=200)
            series = self._balance_series(s, CARD, card_id)
            rules = (card.controls or {}).get("velocity") or {}
        orders = self.sandbox.marketplace.orders_of_user(holder.id, limit=50)
        authorizations = self.sandbox.spend.of_card(card_id, limit=50)
        usage = self.sandbox.spend.usage(card_id)
        # velocity bars: what was spent in the IST day/month/year against the card's limits (None: no limit)
        velocity = [
            {
                "window": window,
                "used": usage[used],
                "limit": Decimal(str(rules[limit])) if rules.get(limit) is not None else None,
                "count": usage[count],
                "maxCount": rules.get(max_count),
            }
            for window, used, limit, count, max_count in (
                ("Today", "usedDtd", "dtd", "countDtd", "dtdCount"),
                ("This month", "usedMtd", "mtd", "countMtd", "mtdCount"),
                ("This year", "usedYtd", "ytd", "countYtd", "ytdCount"),
            )
        ]
        return {
            "authorizations": authorizations,
            "holds": [a for a in authorizations if a["state"] == "HELD"],
            "velocity": velocity,
            "card": view,
            "holder": holder,
            "account": account,
            "ledger": ledger,
            "series": series,
            "orders": [o for o in orders if o["enKashCardId"] == card_id],
            "coins": holder.coin_balance,
        }

    def orders(self, partner_id: str, limit: int = 100) -> list[dict]:
        self.sandbox.marketplace.settle()
        with self.sandbox.db.read() as s:
            orders = s.exec(
                select(Order)
                .where(Order.partner_id == partner_id)
                .order_by(col(Order.created_at).desc(), col(Order.seq).desc())
                .limit(limit)
            ).all()
            return [self.sandbox.marketplace.order_view(s, o) for o in orders]

    # -- projections -----------------------------------------------------------------------
    @staticmethod
    def _ledger(s: Session, kind: str, holder_id: str, limit: int) -> list[dict]:
        """Newest first: each movement with the balance it left behind (the running balance)."""
        rows = s.exec(
            select(LedgerEntry, Transaction)
            .join(Transaction, col(Transaction.id) == LedgerEntry.txn_id)
            .where(LedgerEntry.holder_kind == kind, LedgerEntry.holder_id == holder_id)
            .order_by(col(LedgerEntry.id).desc())
            .limit(limit)
        ).all()
        # keyed for look-ups by a transaction's card and user, which are None for account-only movements
        cards: dict[str | None, Card] = {
            c.id: c for c in s.exec(select(Card).where(col(Card.id).in_({t.card_id for _, t in rows if t.card_id})))
        }
        holders: dict[str | None, CardHolder] = {
            h.id: h for h in s.exec(select(CardHolder).where(col(CardHolder.id).in_({t.user_id for _, t in rows if t.user_id})))
        }
        out = []
        for entry, txn in rows:
            account = s.get(CardAccount, txn.account_id)
            assert account is not None  # account_id is a foreign key
            view = txn_view(txn, cards.get(txn.card_id), holders.get(txn.user_id), account)
            view["delta"] = from_minor(entry.amount_minor)
            view["balance"] = from_minor(entry.balance_after_minor)
            out.append(view)
        return out

    @staticmethod
    def _balance_series(s: Session, kind: str, holder_id: str, points: int = 400) -> list[tuple[datetime, float]]:
        rows = s.exec(
            select(col(LedgerEntry.created_at), col(LedgerEntry.balance_after_minor))
            .where(LedgerEntry.holder_kind == kind, LedgerEntry.holder_id == holder_id)
            .order_by(col(LedgerEntry.created_at), col(LedgerEntry.id))
        ).all()
        step = max(1, len(rows) // points)
        return [(at, minor / 100) for at, minor in rows[::step]] + ([(rows[-1][0], rows[-1][1] / 100)] if rows else [])

    @staticmethod
    def _monthly(s: Session, account_id: str) -> list[dict]:
        """Allocations vs money spent per month (IST), oldest first: spent = voucher redemptions and card purchases,
        net of their refunds; money back from a card's own hold is neither."""
        months: OrderedDict[str, dict] = OrderedDict()
        rows = s.exec(
            select(  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns; it takes any number
                Transaction.created_at,
                Transaction.direction,
                Transaction.type,
                Transaction.amount_minor,
                Transaction.card_id,
                Transaction.status,
            )
            .where(Transaction.account_id == account_id)
            .order_by(col(Transaction.created_at))
        ).all()
        for at, direction, kind, minor, card_id, status in rows:
            if status == "FAILED":
                continue  # a declined purchase moved nothing
            key = to_ist(at).strftime("%Y-%m")
            bucket = months.setdefault(key, {"month": key, "allocated": 0.0, "redeemed": 0.0})
            if card_id and direction == "CR" and kind not in (REPLACEMENT, "REFUND", "AUTH_RELEASE", "REVERSAL"):
                bucket["allocated"] += minor / 100
            elif kind == REDEMPTION or (kind == "SALE" and direction == "DR"):
                bucket["redeemed"] += minor / 100
            elif kind == "REFUND":
                bucket["redeemed"] -= minor / 100
        return list(months.values())[-12:]
