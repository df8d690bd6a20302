"""Redemption marketplace: carts, voucher orders paid from a reward card, vouchers, order search.

These calls act for a card holder (a user-scoped token: the password grant as the holder, or an SSO
token). The card that pays is the SSO token's card, or else the holder's first usable reward card.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from enkash_sandbox import ids
from enkash_sandbox.errors import BusinessFailure, FieldError, NotFound
from enkash_sandbox.faults.magic import PENDING_THEN_FAILURE, PENDING_THEN_SUCCESS
from enkash_sandbox.ledger.movements import REDEMPTION, CardReplaced, Movement
from enkash_sandbox.money import from_minor, to_minor
from enkash_sandbox.products import scope
from enkash_sandbox.products.auth.service import Principal
from enkash_sandbox.products.marketplace.catalog import Denomination, Product
from enkash_sandbox.products.marketplace.schemas import AddToCart, CartItem, CreateOrder, OrderSearch, UpdateCart
from enkash_sandbox.store.tables import Card, CardAccount, CardHolder, Cart, CartLine, Order, Voucher
from enkash_sandbox.timefmt import iso_utc, java_medium, parse_iso
from enkash_sandbox.vocabulary import REWARD_ACCOUNTS, CardOperation
from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

if TYPE_CHECKING:
    from enkash_sandbox.clock import Clock
    from enkash_sandbox.config import Settings
    from enkash_sandbox.ledger.movements import Ledger
    from enkash_sandbox.products.marketplace.catalog import CatalogSource
    from enkash_sandbox.store.engine import Database


def _field_error(field: str, message: str) -> FieldError:
    return FieldError(field, message)


class RedemptionService:
    def __init__(self, db: Database, clock: Clock, settings: Settings, ledger: Ledger, catalog: CatalogSource) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.ledger = ledger
        self.catalog = catalog

    # -- catalog ---------------------------------------------------------------------------
    def product_configs(self, product_catalog_id: str) -> dict:
        product = self.catalog.get(product_catalog_id)
        if product is None:
            raise NotFound(f"Product catalog not found: {product_catalog_id}")
        return product.view()

    # -- cart ------------------------------------------------------------------------------
    def get_carts(self, p: Principal) -> list[dict]:
        with self.db.read() as s:
            return self._carts_view(s, p.holder_id)

    def add_to_cart(self, p: Principal, req: AddToCart) -> list[dict]:
        try:
            return self._add_to_cart(p, req)
        except IntegrityError:  # two first adds raced to create the same cart: the second joins it
            return self._add_to_cart(p, req)

    def _add_to_cart(self, p: Principal, req: AddToCart) -> list[dict]:
        product = self.catalog.get(req.productCatalogId)
        if product is None or not product.active or not product.enabled:
            raise _field_error("productCatalogId", f"unknown or inactive product catalog {req.productCatalogId}")
        with self.db.write() as s:
            # the cart row is locked (PostgreSQL) before its lines are read: two adds at once queue and the
            # second one adds to what the first wrote, instead of both writing "what was there + mine"
            cart = s.exec(
                select(Cart)
                .where(Cart.user_id == p.user_id, Cart.product_catalog_id == product.product_catalog_id)
                .with_for_update()
            ).first()
            now = self.clock.now()
            if cart is None:
                cart = Cart(
                    partner_id=p.partner_id,
                    user_id=p.holder_id,
                    product_catalog_id=product.product_catalog_id,
                    created_at=now,
                    modified_at=now,
                )
                s.add(cart)
                s.flush()
            # Add to cart adds to what is there; Update Cart sets quantities
            self._apply_items(s, cart, product, req.items, additive=True)
            return self._carts_view(s, p.holder_id)

    def update_cart(self, p: Principal, req: UpdateCart) -> list[dict]:
        with self.db.write() as s:
            cart = s.exec(select(Cart).where(Cart.id == req.cartId).with_for_update()).first()
            if cart is None or cart.user_id != p.user_id:
                raise NotFound(f"Cart not found: {req.cartId}")
            product = self._offered(cart.product_catalog_id)
            self._apply_items(s, cart, product, req.items, additive=False)
            return self._carts_view(s, p.holder_id)

    def _apply_items(self, s: Session, cart: Cart, product: Product, items: dict[str, CartItem], *, additive: bool) -> None:
        assert cart.id is not None  # a stored (flushed) cart
        lines = {line.product_config_id: line for line in s.exec(select(CartLine).where(CartLine.cart_id == cart.id))}
        for config_id, item in items.items():
            field = f"items.{config_id}"
            config = product.config(config_id)
            if config is None:
                other = self.catalog.product_of_config(config_id)
                reason = (
                    f"belongs to product catalog {other.product_catalog_id}, not {product.product_catalog_id}"
                    if other
                    else "unknown productConfigId"
                )
                raise _field_error(field, reason)
            if item.amount is not None and not config.custom_amount_enabled:
                raise _field_error(f"{field}.amount", "custom amounts are not enabled for this denomination")
            if config.custom_amount_enabled:
                if item.amount is None:
                    raise _field_error(f"{field}.amount", "is required for a custom-amount denomination")
                if not config.custom_amount_fits(item.amount):
                    raise _field_error(f"{field}.amount", f"must be between {config.min_amount} and {config.max_amount}")
            line = lines.get(config_id)
            quantity = item.quantity + (line.quantity if line is not None and additive else 0)
            if additive and item.quantity == 0:
                raise _field_error(f"{field}.quantity", "must be at least 1")
            if quantity > config.max_quantity:
                raise _field_error(f"{field}.quantity", f"must not exceed maxQuantity {config.max_quantity}")
            if quantity == 0:
                if line is not None:
                    s.delete(line)
                continue
            if line is None:
                line = CartLine(partner_id=cart.partner_id, cart_id=cart.id, product_config_id=config_id, quantity=quantity)
            line.quantity = quantity
            line.description = item.description
            line.custom_amount_minor = to_minor(item.amount) if item.amount is not None else None
            s.add(line)
        cart.modified_at = self.clock.now()
        s.add(cart)
        s.flush()

    def _carts_view(self, s: Session, user_id: str) -> list[dict]:
        carts = s.exec(select(Cart).where(Cart.user_id == user_id).order_by(col(Cart.id))).all()
        out = []
        for cart in carts:
            product = self.catalog.get(cart.product_catalog_id)
            lines = s.exec(select(CartLine).where(CartLine.cart_id == cart.id).order_by(col(CartLine.id))).all()
            if not lines or product is None:
                continue
            items, quantity, amount, savings = {}, 0, Decimal(0), Decimal(0)
            for line in lines:
                config = product.config(line.product_config_id)
                assert config is not None  # a cart line's denomination was checked against its product
                mrp = from_minor(line.custom_amount_minor) if line.custom_amount_minor is not None else config.mrp
                rate = config.sell_rate(mrp)
                line_savings = (mrp - rate) * line.quantity
                line_total = rate * line.quantity
                items[line.product_config_id] = {
                    "productConfigId": line.product_config_id,
                    "mrp": mrp,
                    "sellRate": rate,
                    "enkashDiscount": config.enkash_discount,
                    "savings": line_savings,
                    "quantity": line.quantity,
                    "total": line_total,
                }
                quantity += line.quantity
                amount += line_total
                savings += line_savings
            out.append(
                {
                    "id": cart.id,
                    "ekUserId": user_id,
                    "productCatalogId": product.product_catalog_id,
                    "name": product.brand,
                    "logoUrl": product.images()["LOGO_IMAGE"],
                    "items": items,
                    "totalQuantity": quantity,
                    "totalAmount": amount,
                    "totalSavings": savings,
                    "termsAndCondition": product.terms,
                    "productConfigs": [d.view() for d in product.denominations],
                    "howToRedeem": product.how_to_redeem,
                }
            )
        return out

    def partner_login_user(self, partner_id: str) -> str | None:
        """The user a partner token redeems as (profile redemptionAuth both/partner): the partner's login user,
        the company admin whose primary cards EnKash creates at onboarding (a reward account's first)."""
        with self.db.read() as s:
            rows = s.exec(
                select(Card.user_id, CardAccount.account_type)
                .join(CardAccount, col(CardAccount.id) == Card.account_id)
                .where(CardAccount.partner_id == partner_id, col(Card.primary_card).is_(True))
                .order_by(col(Card.seq))
            ).all()
        users = [user for user, kind in rows if kind in REWARD_ACCOUNTS] or [user for user, _ in rows]
        return users[0] if users else None

    # -- orders ----------------------------------------------------------------------------
    def paying_card(self, s: Session, p: Principal) -> tuple[Card, CardAccount]:
        if p.card_id:
            card = s.get(Card, p.card_id)
            assert card is not None  # the card an SSO token was issued for
            account = s.get(CardAccount, card.account_id)
            assert account is not None  # account_id is a foreign key
            return card, account
        rows = s.exec(
            select(Card, CardAccount)
            .join(CardAccount, col(CardAccount.id) == Card.account_id)
            .where(Card.user_id == p.user_id, col(Card.replaced_by).is_(None))
            .order_by(col(Card.seq))
        ).all()
        if not rows:
            raise BusinessFailure("No reward card found for this user")
        rewards = [r for r in rows if r[1].account_type in REWARD_ACCOUNTS and r[0].status == "UL"]
        return (rewards or [r for r in rows if r[0].status == "UL"] or rows)[0]

    def create_order(self, p: Principal, req: CreateOrder) -> dict:
        product = self.catalog.get(req.productCatalogId)
        if product is None:
            raise NotFound(f"Product catalog not found: {req.productCatalogId}")
        if not product.active or not product.enabled:
            raise _field_error("productCatalogId", "this product is not available")
        config = product.for_amount(req.denomination)
        if config is None:
            raise _field_error("denomination", f"{product.brand} has no denomination of {req.denomination}")
        if req.quantity > config.max_quantity:
            raise _field_error("quantity", f"must not exceed maxQuantity {config.max_quantity}")
        try:
            with self.db.write() as s:
                return self.order_view(
                    s, self._place(s, p, product, config, req.denomination, req.quantity, req.orderReferenceId)
                )
        except IntegrityError:
            # a concurrent twin with the same orderReferenceId won (PostgreSQL): its order is the answer
            with self.db.read() as s:
                existing = s.exec(
                    select(Order).where(Order.user_id == p.user_id, Order.order_reference == req.orderReferenceId)
                ).first()
                if existing is None:
                    raise
                return self.order_view(s, existing)

    def _place(
        self,
        s: Session,
        p: Principal,
        product: Product,
        config: Denomination,
        denomination: Decimal,
        quantity: int,
        reference: str,
    ) -> Order:
        existing = s.exec(select(Order).where(Order.user_id == p.user_id, Order.order_reference == reference)).first()
        if existing is not None:
            # a repeated orderReferenceId never charges twice: the first order is the answer
            return existing
        card, account = self.paying_card(s, p)
        scope.ensure_usable(card, CardOperation.SPEND)
        rate = config.sell_rate(denomination)
        amount = to_minor(rate) * quantity
        savings = (to_minor(denomination) - to_minor(rate)) * quantity
        now = self.clock.now()
        seq = self.db.next_ids(s, "order")[0]
        order = Order(
            id=ids.format_id(self.db.seed, "order", seq),
            seq=seq,
            partner_id=p.partner_id,
            company_id=account.company_id,
            user_id=p.holder_id,
            card_id=card.id,
            account_id=account.id,
            order_reference=reference,
            product_catalog_id=product.product_catalog_id,
            product_config_id=config.product_config_id,
            brand=product.brand,
            category=product.category,
            aggregator=product.aggregator,
            denomination_minor=to_minor(denomination),
            enkash_discount=str(config.enkash_discount),
            quantity=quantity,
            amount_minor=amount,
            savings_minor=savings,
            created_at=now,
            modified_at=now,
        )
        txn = self.ledger.card_spend(
            s,
            account,
            card,
            amount,
            type=REDEMPTION,
            transaction_code="VOUCHER_ORDER",
            description=f"{product.brand} voucher x{quantity} (order {reference})",
            order_id=order.id,
        )
        order.txn_id = txn.id
        pending = self._pending_outcome(reference)
        if pending:
            order.order_status = order.payment_status = "PENDING"
            order.final_status = pending
            order.settle_at = now + timedelta(seconds=self.settings.pending_order_seconds)
        s.add(order)
        s.flush()
        if not pending:
            self._issue_vouchers(s, order, product)
        return order

    def checkout(self, p: Principal) -> list[dict]:
        """Order everything in the holder's carts (one order per cart line) and empty them, all or nothing."""
        with self.db.write() as s:
            carts = s.exec(select(Cart).where(Cart.user_id == p.user_id).order_by(col(Cart.id)).with_for_update()).all()
            placed = []
            for cart in carts:
                product = self.catalog.get(cart.product_catalog_id)
                for line in s.exec(select(CartLine).where(CartLine.cart_id == cart.id).order_by(col(CartLine.id))).all():
                    assert product is not None  # a cart with lines is for a product of the catalog
                    config = product.config(line.product_config_id)
                    assert config is not None  # a cart line's denomination was checked against its product
                    mrp = from_minor(line.custom_amount_minor) if line.custom_amount_minor is not None else config.mrp
                    reference = f"CART-{cart.id}-{line.id}-{self.db.next_ids(s, 'checkout')[0]}"
                    placed.append(self._place(s, p, product, config, mrp, line.quantity, reference))
                    s.delete(line)
            if not placed:
                raise BusinessFailure("The cart is empty")
            s.flush()
            return [self.order_view(s, o) for o in placed]

    @staticmethod
    def _pending_outcome(reference: str) -> str | None:
        if reference.startswith(PENDING_THEN_FAILURE):
            return "FAILED"
        if reference.startswith(PENDING_THEN_SUCCESS):
            return "SUCCESS"
        return None

    def _issue_vouchers(self, s: Session, order: Order, product: Product) -> None:
        seed = self.db.seed
        expiry = order.created_at + timedelta(days=product.expiry_period)
        for n in self.db.next_ids(s, "voucher", order.quantity):
            s.add(
                Voucher(
                    id=ids.format_id(seed, "voucher", n),
                    partner_id=order.partner_id,
                    order_id=order.id,
                    code=ids.format_id(seed, "voucher-code", n),
                    pin=ids.digits(seed, "voucher-pin", n, 6),
                    amount_minor=order.denomination_minor,
                    expiry_date=expiry,
                    created_at=order.created_at,
                )
            )

    def settle(self, order_id: str | None = None, *, force: str | None = None) -> int:
        """Move pending orders whose time has come (or one order, forced) to their final state.
        A failed order gives the points back through the ledger.

        Settle-once on every store: each order is claimed by a guarded `UPDATE ... WHERE order_status =
        'PENDING'` and settled only by the transaction whose claim changed the row, so two workers (or two
        clock ticks) reaching the same order settle it once; a unique index on (order, REFUND) backs it."""
        now = self.clock.now()
        with self.db.read() as s:
            query = select(Order.id).where(Order.order_status == "PENDING")
            query = query.where(Order.id == order_id) if order_id else query.where(col(Order.settle_at) <= now)
            pending = list(s.exec(query.order_by(col(Order.seq))))
        # one short transaction per order: a long backlog never holds the write lock for long
        return sum(1 for oid in pending if self._settle_one(oid, force, now))

    def _settle_one(self, order_id: str, force: str | None, now: datetime) -> bool:
        with self.db.write() as s:
            order = s.exec(select(Order).where(Order.id == order_id).execution_options(populate_existing=True)).first()
            if order is None:
                return False
            outcome = force or order.final_status or "SUCCESS"
            claimed = (
                s.exec(
                    update(Order)
                    .where(col(Order.id) == order_id, col(Order.order_status) == "PENDING")
                    .values(
                        order_status=outcome, payment_status="REFUNDED" if outcome == "FAILED" else "SUCCESS", modified_at=now
                    ),
                    execution_options={"synchronize_session": False},
                ).rowcount
                == 1
            )
            if not claimed:
                return False  # another worker settled it first
            if outcome == "FAILED":
                refund = self._refund(s, order)
                s.exec(
                    update(Order).where(col(Order.id) == order_id).values(refund_txn_id=refund.id),
                    execution_options={"synchronize_session": False},
                )
            else:
                self._issue_vouchers(s, order, self._offered(order.product_catalog_id))
            return True

    def _offered(self, product_catalog_id: str) -> Product:
        """A product of the catalog in force; one that was taken out of the catalog since is not found."""
        product = self.catalog.get(product_catalog_id)
        if product is None:
            raise NotFound(f"Product catalog {product_catalog_id} is no longer offered")
        return product

    def _refund(self, s: Session, order: Order) -> Movement:
        """Give a failed order's points back to the holder's live card: if the paying card was replaced since,
        the money follows the holder along the replacement chain (never onto the dead card)."""
        account = s.get(CardAccount, order.account_id)
        assert account is not None  # account_id is a foreign key
        card_id = order.card_id
        for _ in range(64):
            card = s.exec(select(Card).where(Card.id == card_id).execution_options(populate_existing=True)).one()
            if card.replaced_by:
                card_id = card.replaced_by
                continue
            try:
                return self.ledger.card_refund(
                    s,
                    account,
                    card,
                    order.amount_minor,
                    type="REFUND",
                    transaction_code="VOUCHER_ORDER",
                    description=f"Refund of failed order {order.order_reference}"
                    + (f" (paid by {order.card_id}, since replaced)" if card.id != order.card_id else ""),
                    order_id=order.id,
                )
            except CardReplaced:
                continue  # replaced a moment ago by another worker: follow it on the next turn
        raise BusinessFailure(f"Card {order.card_id} has too many replacements to refund order {order.id}")

    def _settle_due(self) -> None:
        # cheap when nothing is pending: one indexed count before any write lock is taken
        with self.db.read() as s:
            due = s.exec(
                select(func.count())
                .select_from(Order)
                .where(Order.order_status == "PENDING", col(Order.settle_at) <= self.clock.now())
            ).one()
        if due:
            self.settle()

    def order_details(self, p: Principal, reference: str) -> dict:
        self._settle_due()
        with self.db.read() as s:
            # the partner's orderReferenceId, or the order id EnKash answered with (OR…)
            query = select(Order).where(
                Order.partner_id == p.partner_id, or_(col(Order.order_reference) == reference, col(Order.id) == reference)
            )
            if p.kind != "partner":
                query = query.where(Order.user_id == p.user_id)
            order = s.exec(query.order_by(col(Order.seq))).first()
            if order is None:
                raise NotFound(f"Order not found: {reference}")
            return self.order_view(s, order)

    def order_view(self, s: Session, order: Order) -> dict:
        vouchers = s.exec(select(Voucher).where(Voucher.order_id == order.id).order_by(Voucher.id)).all()
        denomination = from_minor(order.denomination_minor)
        return {
            "orderId": order.order_reference,
            "orderReferenceId": order.order_reference,
            "enkashOrderId": order.id,
            "paymentStatus": order.payment_status,
            "orderStatus": order.order_status,
            "totalQuantity": order.quantity,
            "totalAmount": from_minor(order.amount_minor),
            "totalSavings": from_minor(order.savings_minor),
            "denomination": denomination,
            "productCatalogId": order.product_catalog_id,
            "productConfigId": order.product_config_id,
            "brand": order.brand,
            "category": order.category,
            "aggregator": order.aggregator,
            "enkashDiscount": Decimal(order.enkash_discount),
            "ekUserId": order.user_id,
            "enKashCardId": order.card_id,
            "cardAccountId": order.account_id,
            "companyId": order.company_id,
            "enkashCardTxnId": order.txn_id,
            "refundTxnId": order.refund_txn_id,
            "createdOn": java_medium(order.created_at),
            "createdAt": iso_utc(order.created_at),
            "vouchers": [
                {
                    "voucherCode": v.code,
                    "voucherPin": v.pin,
                    "amount": from_minor(v.amount_minor),
                    "expiryDate": v.expiry_date.date().isoformat(),
                }
                for v in vouchers
            ],
        }

    def search(self, p: Principal, req: OrderSearch, limit: int, offset: int) -> dict:
        self._settle_due()
        with self.db.read() as s:
            query = select(Order).where(Order.partner_id == p.partner_id)
            if p.kind != "partner":
                query = query.where(Order.user_id == p.user_id)
            filters = {
                "aggregator": lambda v: Order.aggregator == v,
                "companyId": lambda v: Order.company_id == v,
                "ekUserId": lambda v: Order.user_id == v,
                "orderStatus": lambda v: Order.order_status == v,
                "paymentStatus": lambda v: Order.payment_status == v,
                "orderReferenceId": lambda v: Order.order_reference == v,
                "orderId": lambda v: Order.id == v,
                "productCatalogId": lambda v: Order.product_catalog_id == v,
                "aggregatorProductId": lambda v: Order.product_config_id == v,
                "aggregatorOrderId": lambda v: Order.id == v,
                "brand": lambda v: col(Order.brand).in_(v),
                "category": lambda v: col(Order.category).in_(v),
                "amountFrom": lambda v: Order.amount_minor >= to_minor(v),
                "amountTo": lambda v: Order.amount_minor <= to_minor(v),
                "createdOnFrom": lambda v: Order.created_at >= parse_iso(v),
                "createdOnTo": lambda v: Order.created_at <= parse_iso(v),
            }
            for name, make in filters.items():
                value = getattr(req, name)
                if value is not None:
                    query = query.where(make(value))
            if req.email:
                query = query.where(col(Order.user_id).in_(select(CardHolder.id).where(CardHolder.email == req.email)))
            rows = list(s.exec(query).all())
            # discount bounds compare decimals held as text; a handful of rows per user, filtered here
            for bound, test in (
                ("enkashDiscountFrom", lambda o, v: Decimal(o.enkash_discount) >= v),
                ("enkashDiscountTo", lambda o, v: Decimal(o.enkash_discount) <= v),
                ("aggregatorDiscountFrom", lambda o, v: Decimal(o.enkash_discount) >= v),
                ("aggregatorDiscountTo", lambda o, v: Decimal(o.enkash_discount) <= v),
            ):
                value = getattr(req, bound)
                if value is not None:
                    rows = [o for o in rows if test(o, value)]
            rows.sort(key=lambda o: (o.created_at, o.seq), reverse=req.direction.upper() == "DESC")
            page = rows[offset : offset + limit]
            return {
                "totalCount": len(rows),
                "recordsCount": len(page),
                "limit": limit,
                "offset": offset,
                "data": [self.order_view(s, o) for o in page],
            }

    def orders_of_user(self, user_id: str, limit: int = 20) -> list[dict]:
        self._settle_due()
        with self.db.read() as s:
            orders = s.exec(
                select(Order)
                .where(Order.user_id == user_id)
                .order_by(col(Order.created_at).desc(), col(Order.seq).desc())
                .limit(limit)
            ).all()
            return [self.order_view(s, o) for o in orders]
