"""The integrity audit: does every balance equal its ledger, and is money conserved?

Discrepancies (any one means the store is corrupt; `ok` is false):
- every card account's and card's balance equals the sum of its ledger rows, and none is negative;
- every ledger row's balance-after chains from the previous one;
- every pgReferenceNumber is used once per card account;
- per tenant, money on accounts + money on cards = money funded - money redeemed (net of refunds);
- every holder's coin balance equals their coin ledger;
- every voucher order was settled exactly once: a SUCCESS order has exactly its quantity of vouchers and no
  refund, a FAILED order exactly one refund of what it cost and no vouchers, a PENDING order neither;
- no replaced card holds money (a replacement moves the balance; later credits follow the holder);
- no holder has two live cards in one account;
- the webhook outbox: no delivery queued twice for one (event, subscription), no event without a delivery, no
  delivery left DELIVERING long after its lease ran out (its process died), no deleted subscription enabled;
- payouts (ledger/payouts.py): every fund source's balance equals its payout ledger and chains, every transfer's
  money in flight equals its transit rows and its status has exactly the rows it implies, and per tenant
  fund-ins = fund-source balances + in flight + settled - reversed;
- every card authorization keeps its money in one place: authorized = held + cleared + released, refunds never
  exceed what was cleared, a declined one moved nothing, and its hold equals its hold's ledger; each card's
  velocity sums equal what its authorizations add up to.
Notices (reported, not corruption): permanently blocked cards that still hold money — it can be recovered by
replacing the card or unloading it to its account.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from enkash_sandbox import jsonio
from enkash_sandbox.clock import utcnow_real
from enkash_sandbox.ledger.movements import ACCOUNT, CARD, FUNDING, HOLD, REDEMPTION
from enkash_sandbox.ledger.payouts import payout_findings
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.store.tables import (
    Card,
    CardAccount,
    CardAuthorization,
    CardHolder,
    CardUsage,
    CoinEntry,
    LedgerEntry,
    Order,
    PayoutTransfer,
    Transaction,
    Voucher,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from enkash_sandbox.timefmt import iso_utc, velocity_periods
from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.store.engine import Database
    from sqlalchemy import Select

_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")


class _PartnerOwned(Protocol):
    """A table model whose rows belong to one partner."""

    partner_id: str


class _Scope(Protocol):
    """Narrows a query to the audited partner's rows (or leaves it whole when auditing every partner)."""

    def __call__(self, query: _Query, model: type[_PartnerOwned]) -> _Query: ...


class AuditService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def run(self, partner_id: str | None = None) -> dict:
        problems: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        # one snapshot: balances and ledger sums read by separate queries must describe the same moment, or a
        # movement committed in between (the store is live) would look like a discrepancy
        with self.db.read(snapshot=True) as s:

            def scoped(query: _Query, model: type[_PartnerOwned]) -> _Query:
                return query.where(col(model.partner_id) == partner_id) if partner_id else query

            sums = {
                (kind, holder): total
                for kind, holder, total in s.exec(
                    scoped(
                        select(
                            col(LedgerEntry.holder_kind), col(LedgerEntry.holder_id), func.sum(col(LedgerEntry.amount_minor))
                        ).group_by(col(LedgerEntry.holder_kind), col(LedgerEntry.holder_id)),
                        LedgerEntry,
                    )
                )
            }
            accounts = s.exec(scoped(select(CardAccount), CardAccount)).all()
            cards = s.exec(
                scoped(
                    select(  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns; it takes any number
                        Card.id, Card.partner_id, Card.balance_minor, Card.status, Card.replaced_by, Card.account_id, Card.user_id
                    ),
                    Card,
                )
            ).all()
            for account in accounts:
                self._balance(problems, ACCOUNT, account.id, account.balance_minor, sums.get((ACCOUNT, account.id), 0))
            for card_id, _, balance, status, replaced_by, _, _ in cards:
                self._balance(problems, CARD, card_id, balance, sums.get((CARD, card_id), 0))
                if replaced_by and balance:
                    problems.append(
                        {
                            "check": "replaced_card_balance",
                            "enKashCardId": card_id,
                            "replacedBy": replaced_by,
                            "balance": from_minor(balance),
                        }
                    )
                elif status == "BL" and balance:
                    notices.append(
                        {
                            "check": "blocked_card_balance",
                            "enKashCardId": card_id,
                            "balance": from_minor(balance),
                            "hint": "replace the card (the balance moves) or unload it to its account",
                        }
                    )
            live: dict[tuple[str, str], list[str]] = {}
            for card_id, _, _, _, replaced_by, account_id, user_id in cards:
                if not replaced_by:
                    live.setdefault((account_id, user_id), []).append(card_id)
            for (account_id, user_id), ids in live.items():
                if len(ids) > 1:
                    problems.append(
                        {
                            "check": "duplicate_live_cards",
                            "cardAccountId": account_id,
                            "userId": user_id,
                            "enKashCardIds": sorted(ids),
                        }
                    )
            holds = self._authorizations(s, problems, scoped, sums)
            self._chains(s, problems, scoped)
            self._stated_balances(s, problems, scoped)
            for account_id, reference, count in s.exec(
                scoped(
                    select(col(Transaction.account_id), col(Transaction.pg_reference_number), func.count())
                    .where(col(Transaction.pg_reference_number).is_not(None))
                    .group_by(col(Transaction.account_id), col(Transaction.pg_reference_number))
                    .having(func.count() > 1),
                    Transaction,
                )
            ):
                problems.append(
                    {"check": "unique_reference", "cardAccountId": account_id, "pgReferenceNumber": reference, "count": count}
                )
            self._conservation(s, problems, accounts, cards, holds, partner_id)
            self._orders(s, problems, scoped)
            coin_sums = dict(
                s.exec(select(col(CoinEntry.user_id), func.sum(col(CoinEntry.amount))).group_by(col(CoinEntry.user_id))).all()
            )
            for holder_id, balance in s.exec(
                scoped(select(col(CardHolder.id), col(CardHolder.coin_balance)).where(CardHolder.coin_balance != 0), CardHolder)
            ):
                if balance != coin_sums.get(holder_id, 0):
                    problems.append(
                        {"check": "coin_balance", "userId": holder_id, "balance": balance, "ledger": coin_sums.get(holder_id, 0)}
                    )
            problems.extend(
                finding for finding in webhook_findings(s) if not partner_id or finding.get("partnerId") in (None, partner_id)
            )
            entries = s.exec(scoped(select(func.count()).select_from(LedgerEntry), LedgerEntry)).one()
            counts = {"accounts": len(accounts), "cards": len(cards), "ledgerEntries": entries}
            # payout fund sources and transfers (their own ledger, ledger/payouts.py), in the same snapshot
            payout_problems, payout_counts = payout_findings(s, partner_id)
            problems.extend(payout_problems)
            counts.update(payout_counts)
        return {"ok": not problems, "checked": counts, "discrepancies": problems, "notices": notices}

    @staticmethod
    def _chains(s: Session, problems: list[dict[str, Any]], scoped: _Scope) -> None:
        """Balance-after chains: each row = previous row's balance + its amount."""
        previous: dict[tuple[str, str], int] = {}
        for kind, holder, amount, after, entry_id in s.exec(
            scoped(
                select(  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns; it takes any number
                    LedgerEntry.holder_kind,
                    LedgerEntry.holder_id,
                    LedgerEntry.amount_minor,
                    LedgerEntry.balance_after_minor,
                    LedgerEntry.id,
                ),
                LedgerEntry,
            ).order_by(col(LedgerEntry.holder_kind), col(LedgerEntry.holder_id), col(LedgerEntry.id))
        ):
            expected = previous.get((kind, holder), 0) + amount
            if after != expected:
                problems.append(
                    {
                        "check": "ledger_chain",
                        "holderKind": kind,
                        "holderId": holder,
                        "entry": entry_id,
                        "balanceAfter": from_minor(after),
                        "expected": from_minor(expected),
                    }
                )
            previous[(kind, holder)] = after

    @staticmethod
    def _stated_balances(s: Session, problems: list[dict[str, Any]], scoped: _Scope) -> None:
        """A transaction states the card's and the account's balance after it (the transaction list shows them);
        each must be the balance its own ledger row for that holder reached. The ledger writes both from one
        set of new balances, in one statement on PostgreSQL: a leg matched to the wrong answer would show here."""
        for column, kind, holder in (
            (Transaction.card_balance_after_minor, CARD, Transaction.card_id),
            (Transaction.account_balance_after_minor, ACCOUNT, Transaction.account_id),
        ):
            rows = s.exec(
                scoped(
                    select(col(Transaction.id), col(holder), col(column), col(LedgerEntry.balance_after_minor))
                    .outerjoin(
                        LedgerEntry,
                        (col(LedgerEntry.txn_id) == col(Transaction.id))
                        & (col(LedgerEntry.holder_kind) == str(kind))
                        & (col(LedgerEntry.holder_id) == col(holder)),
                    )
                    .where(col(column).is_not(None))
                    .where(
                        col(LedgerEntry.balance_after_minor).is_(None) | (col(LedgerEntry.balance_after_minor) != col(column))
                    ),
                    Transaction,
                )
            ).all()
            for txn_id, holder_id, stated, reached in rows:
                assert stated is not None  # the query's WHERE
                problems.append(
                    {
                        "check": "transaction_balance_after",
                        "transactionId": txn_id,
                        "holderKind": str(kind),
                        "holderId": holder_id,
                        "stated": from_minor(stated),
                        "ledger": None if reached is None else from_minor(reached),
                    }
                )

    def _authorizations(
        self, s: Session, problems: list[dict[str, Any]], scoped: _Scope, sums: dict[tuple[str, str], int]
    ) -> dict[str, int]:
        """Each authorization's money in exactly one place; returns the money on holds per partner."""
        held_by_partner: dict[str, int] = {}
        usage: dict[tuple[str, str], list[int]] = {}  # (card, period) -> [amount, count], recomputed
        for auth in s.exec(scoped(select(CardAuthorization), CardAuthorization)):
            held_by_partner[auth.partner_id] = held_by_partner.get(auth.partner_id, 0) + auth.held_minor
            if auth.decision == "APPROVED":
                for period in velocity_periods(auth.created_at, auth.channel):
                    expected = usage.setdefault((auth.card_id, period), [0, 0])
                    expected[0] += auth.authorized_minor - auth.released_minor
                    expected[1] += 1
            self._balance(problems, HOLD, auth.id, auth.held_minor, sums.get((HOLD, auth.id), 0))
            parts = auth.held_minor + auth.cleared_minor + auth.released_minor
            declined_moved = auth.decision == "DECLINED" and (auth.authorized_minor or parts or auth.refunded_minor)
            state_wrong = (auth.state == "HELD") != (auth.held_minor > 0) and auth.decision == "APPROVED"
            if parts != auth.authorized_minor or auth.refunded_minor > auth.cleared_minor or declined_moved or state_wrong:
                problems.append(
                    {
                        "check": "authorization_balance",
                        "transactionId": auth.id,
                        "state": auth.state,
                        "authorized": from_minor(auth.authorized_minor),
                        "held": from_minor(auth.held_minor),
                        "cleared": from_minor(auth.cleared_minor),
                        "released": from_minor(auth.released_minor),
                        "refunded": from_minor(auth.refunded_minor),
                    }
                )
        stored = {(u.card_id, u.period): [u.amount_minor, u.count] for u in s.exec(scoped(select(CardUsage), CardUsage))}
        for key in sorted(set(usage) | set(stored)):
            if usage.get(key, [0, 0]) != stored.get(key, [0, 0]):
                problems.append(
                    {
                        "check": "velocity_usage",
                        "enKashCardId": key[0],
                        "period": key[1],
                        "stored": stored.get(key, [0, 0]),
                        "fromAuthorizations": usage.get(key, [0, 0]),
                    }
                )
        return held_by_partner

    @staticmethod
    def _orders(s: Session, problems: list[dict[str, Any]], scoped: _Scope) -> None:
        """Each voucher order settled exactly once, with the effects its status promises."""
        refunds: dict[str | None, list[int]] = {}  # by order id (never None: the query leaves those out)
        for order_id, amount in s.exec(
            scoped(
                select(col(Transaction.order_id), col(Transaction.amount_minor)).where(
                    Transaction.type == "REFUND", col(Transaction.order_id).is_not(None)
                ),
                Transaction,
            )
        ):
            refunds.setdefault(order_id, []).append(amount)
        vouchers = dict(
            s.exec(scoped(select(col(Voucher.order_id), func.count()).group_by(col(Voucher.order_id)), Voucher)).all()
        )
        for order_id, status, quantity, amount in s.exec(
            scoped(select(col(Order.id), col(Order.order_status), col(Order.quantity), col(Order.amount_minor)), Order)
        ):
            paid_back = refunds.get(order_id, [])
            issued = vouchers.get(order_id, 0)
            expected_refunds = [amount] if status == "FAILED" else []
            expected_vouchers = quantity if status == "SUCCESS" else 0
            if sorted(paid_back) != expected_refunds or issued != expected_vouchers:
                problems.append(
                    {
                        "check": "order_settlement",
                        "orderId": order_id,
                        "orderStatus": status,
                        "refunds": len(paid_back),
                        "expectedRefunds": len(expected_refunds),
                        "vouchers": issued,
                        "expectedVouchers": expected_vouchers,
                    }
                )

    @staticmethod
    def _balance(problems: list[dict[str, Any]], kind: str, holder_id: str, balance: int, ledger: int) -> None:
        if balance != ledger:
            problems.append(
                {
                    "check": "balance_equals_ledger",
                    "holderKind": kind,
                    "holderId": holder_id,
                    "balance": from_minor(balance),
                    "ledger": from_minor(ledger),
                }
            )
        if balance < 0:
            problems.append(
                {"check": "negative_balance", "holderKind": kind, "holderId": holder_id, "balance": from_minor(balance)}
            )

    @staticmethod
    def _conservation(
        s: Session,
        problems: list[dict[str, Any]],
        accounts: Sequence[CardAccount],
        cards: Sequence[Sequence[Any]],
        holds: dict[str, int],
        partner_id: str | None,
    ) -> None:
        held: dict[str, int] = dict(holds)
        for account in accounts:
            held[account.partner_id] = held.get(account.partner_id, 0) + account.balance_minor
        for card in cards:
            held[card[1]] = held.get(card[1], 0) + card[2]
        query = select(
            col(Transaction.partner_id),
            col(Transaction.type),
            col(Transaction.direction),
            func.sum(col(Transaction.amount_minor)),
        ).where(Transaction.status != "FAILED")  # a declined purchase is recorded but moves nothing
        query = query.group_by(col(Transaction.partner_id), col(Transaction.type), col(Transaction.direction))
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
            elif kind == "SALE" and direction == "DR":  # a card purchase: money out to the merchant
                flows[pid] = flows.get(pid, 0) - total
        for pid in set(held) | set(flows):
            if held.get(pid, 0) != flows.get(pid, 0):
                problems.append(
                    {
                        "check": "conservation",
                        "partnerId": pid,
                        "held": from_minor(held.get(pid, 0)),
                        "fundedMinusSpent": from_minor(flows.get(pid, 0)),
                    }
                )


def webhook_findings(s: Session, *, stale_after_seconds: float = 300, now: datetime | None = None) -> list[dict[str, Any]]:
    """What the integrity audit reports about the outbox: a delivery queued twice for one (event, subscription)
    (the unique index forbids it, so only a damaged store shows one), an event with no delivery at all (emit
    writes none without one), a DELIVERING row whose lease ran out more than `stale_after_seconds` ago (its
    process died and no live process picked it up), and a deleted subscription that is enabled again."""
    findings: list[dict[str, Any]] = []
    twins = s.execute(
        select(col(WebhookDelivery.event_id), col(WebhookDelivery.subscription_id), func.count())
        .group_by(col(WebhookDelivery.event_id), col(WebhookDelivery.subscription_id))
        .having(func.count() > 1)
    ).all()
    for event_id, sub_id, count in twins:
        findings.append(
            {"check": "webhook_delivery_once", "eventId": event_id, "subscriptionId": sub_id, "detail": f"{count} deliveries"}
        )
    orphans = s.execute(
        select(col(WebhookEvent.id), col(WebhookEvent.partner_id)).where(
            ~select(WebhookDelivery.id).where(col(WebhookDelivery.event_id) == col(WebhookEvent.id)).exists()
        )
    ).all()
    for event_id, partner_id in orphans:
        findings.append(
            {"check": "webhook_event_delivered", "eventId": event_id, "partnerId": partner_id, "detail": "no delivery"}
        )
    # a delete disables the subscription in the same statement that marks it deleted, and emit picks
    # subscriptions by `enabled`: one enabled after its delete (an update that lost the race to it) is sent
    # events nobody subscribed to any more
    revived = s.execute(
        select(col(WebhookSubscription.id), col(WebhookSubscription.partner_id)).where(
            col(WebhookSubscription.deleted_at).is_not(None), col(WebhookSubscription.enabled)
        )
    ).all()
    for sub_id, partner_id in revived:
        findings.append(
            {
                "check": "webhook_deleted_subscription",
                "subscriptionId": sub_id,
                "partnerId": partner_id,
                "detail": "deleted but still enabled: it is sent events",
            }
        )
    findings.extend(_unwanted_delivery_findings(s))
    findings.extend(_money_event_findings(s))
    cutoff = (now or utcnow_real()) - timedelta(seconds=stale_after_seconds)
    stale = s.execute(
        select(col(WebhookDelivery.id), col(WebhookDelivery.partner_id), col(WebhookDelivery.claimed_until)).where(
            col(WebhookDelivery.status) == "DELIVERING", col(WebhookDelivery.claimed_until) < cutoff
        )
    ).all()
    for delivery_id, partner_id, until in stale:
        findings.append(
            {
                "check": "webhook_lease",
                "deliveryId": delivery_id,
                "partnerId": partner_id,
                "detail": f"DELIVERING with a lease that ran out at {iso_utc(until)}",
            }
        )
    return findings


def _unwanted_delivery_findings(s: Session) -> list[dict[str, Any]]:
    """A delivery to a subscription that never asked for its event: the event's type is not among the
    subscription's, or the subscription names another company. Emit picks the subscriptions (a card load picks
    them before its ledger locks and hands them over), so a wrong pick shows here. Only subscriptions never
    changed since they were made are judged: their events and company are what they were for every delivery."""
    findings: list[dict[str, Any]] = []
    rows = s.execute(
        select(  # type: ignore[call-overload]  # sqlmodel types select() for at most four columns; it takes any number
            col(WebhookDelivery.id),
            col(WebhookDelivery.partner_id),
            col(WebhookSubscription.id),
            cast(col(WebhookSubscription.events), String),
            col(WebhookSubscription.company_id),
            col(WebhookEvent.event_type),
            col(WebhookEvent.company_id),
        )
        .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(col(WebhookSubscription.modified_at) == col(WebhookSubscription.created_at))
    ).all()
    for delivery_id, partner_id, sub_id, events_text, sub_company, event_type, event_company in rows:
        wanted = jsonio.loads(events_text) if events_text else []
        if event_type not in wanted or (sub_company and event_company and sub_company != event_company):
            findings.append(
                {
                    "check": "webhook_unwanted_delivery",
                    "deliveryId": delivery_id,
                    "subscriptionId": sub_id,
                    "partnerId": partner_id,
                    "detail": f"{event_type} for a subscription to {', '.join(wanted) or 'nothing'}"
                    + (f" of company {sub_company}" if sub_company else ""),
                }
            )
    return findings


def _money_event_findings(s: Session) -> list[dict[str, Any]]:
    """Events that tell of a money movement must tell it as it happened: a CARD_LOADED event's transaction is
    a credit of that amount to that card, a PAYOUT_* event's transfer is the partner's, of that amount. The
    payload is built from the movement in its transaction (lazily: only when a subscription wants it), and a
    payload built from the wrong values — another load's, a stale balance — reaches the partner as fact.
    Samples fired from the control plane name no transaction and are not checked."""
    findings: list[dict[str, Any]] = []
    events = s.execute(
        select(
            col(WebhookEvent.id),
            col(WebhookEvent.partner_id),
            col(WebhookEvent.event_type),
            cast(col(WebhookEvent.payload), String),
        )
        .where(or_(col(WebhookEvent.event_type) == "CARD_LOADED", col(WebhookEvent.event_type).startswith("PAYOUT_")))
        .order_by(col(WebhookEvent.id))
    ).all()
    loads: dict[str, tuple[str, str, dict[str, Any]]] = {}
    transfers: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for event_id, partner_id, event_type, text in events:
        payload = jsonio.loads_exact(text) if text else {}
        if not isinstance(payload, dict):
            continue
        if event_type == "CARD_LOADED" and payload.get("transactionId"):
            loads[str(payload["transactionId"])] = (event_id, partner_id, payload)
        elif event_type != "CARD_LOADED" and payload.get("enkashTransactionId"):
            transfers[str(payload["enkashTransactionId"])] = (event_id, partner_id, payload)

    def wrong(event_id: str, partner_id: str, detail: str) -> None:
        findings.append({"check": "webhook_event_money", "eventId": event_id, "partnerId": partner_id, "detail": detail})

    found_loads = {
        t.id: t for chunk in _chunks(list(loads)) for t in s.exec(select(Transaction).where(col(Transaction.id).in_(chunk)))
    }
    for txn_id, (event_id, partner_id, payload) in loads.items():
        txn = found_loads.get(txn_id)
        if txn is None or txn.partner_id != partner_id:
            wrong(event_id, partner_id, f"names transaction {txn_id}, which is not one of this partner's")
        elif txn.direction != "CR" or txn.card_id != payload.get("enKashCardId"):
            wrong(event_id, partner_id, f"transaction {txn_id} is not a credit to card {payload.get('enKashCardId')}")
        elif not _same_amount(payload.get("amount"), txn.amount_minor):
            wrong(
                event_id, partner_id, f"amount {payload.get('amount')}, transaction {txn_id} moved {from_minor(txn.amount_minor)}"
            )
    found_transfers = {
        t.enkash_transaction_id: t
        for chunk in _chunks(list(transfers))
        for t in s.exec(select(PayoutTransfer).where(col(PayoutTransfer.enkash_transaction_id).in_(chunk)))
    }
    for transfer_id, (event_id, partner_id, payload) in transfers.items():
        transfer = found_transfers.get(transfer_id)
        if transfer is None or transfer.partner_id != partner_id:
            wrong(event_id, partner_id, f"names transfer {transfer_id}, which is not one of this partner's")
        elif payload.get("transferAmount") is not None and not _same_amount(payload["transferAmount"], transfer.amount_minor):
            wrong(
                event_id,
                partner_id,
                f"transferAmount {payload['transferAmount']}, transfer {transfer_id} is {from_minor(transfer.amount_minor)}",
            )
    return findings


def _same_amount(value: Any, minor: int) -> bool:
    try:
        return to_minor(Decimal(str(value))) == minor
    except (ArithmeticError, ValueError):
        return False


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
