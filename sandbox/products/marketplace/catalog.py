"""The voucher catalog: brands, denominations and EnKash's pricing rule.

Static reference data (loaded once from fixtures/catalog.yaml), the same for every tenant.
sellRate = mrp x (1 - enkashDiscount / 100); savings = (mrp - sellRate) x quantity; total = sellRate x quantity.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from enkash_sandbox.fixtures import load_fixture
from enkash_sandbox.money import CENT

PALETTE = ("#1f3b73", "#b42318", "#1f7a4d", "#8a5a00", "#6941c6", "#0e7490", "#c2410c", "#334155")


def sell_rate(mrp: Decimal, discount: Decimal) -> Decimal:
    return (mrp * (Decimal(100) - discount) / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Denomination:
    product_config_id: str
    product_catalog_id: str
    mrp: Decimal
    enkash_discount: Decimal
    max_quantity: int
    custom_amount_enabled: bool
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None

    def sell_rate(self, mrp: Decimal | None = None) -> Decimal:
        return sell_rate(mrp if mrp is not None else self.mrp, self.enkash_discount)

    def custom_amount_fits(self, amount: Decimal) -> bool:
        """Whether `amount` lies within a custom-amount denomination's bounds (such a denomination has both)."""
        assert self.min_amount is not None and self.max_amount is not None
        return self.min_amount <= amount <= self.max_amount

    def view(self) -> dict:
        return {
            "productConfigId": self.product_config_id,
            "mrp": self.mrp,
            "sellRate": self.sell_rate(),
            "enkashDiscount": self.enkash_discount,
            "maxQuantity": self.max_quantity,
            "customAmountEnabled": self.custom_amount_enabled,
        }


@dataclass(frozen=True)
class Product:
    product_catalog_id: str
    brand: str
    aggregator: str
    category: str
    description: str
    terms: str
    how_to_redeem: str
    expiry_period: int
    discount: int
    rank: int
    enabled: bool
    active: bool
    denominations: tuple[Denomination, ...] = field(default_factory=tuple)

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.brand.lower()).strip("-")

    def images(self) -> dict:
        base = f"/_sandbox/catalog/images/{self.product_catalog_id}"
        return {
            "BRAND_IMAGE": f"{base}/BRAND_IMAGE.svg",
            "LOGO_IMAGE": f"{base}/LOGO_IMAGE.svg",
            "LOGO_IMAGE_SMALL": f"{base}/LOGO_IMAGE_SMALL.svg",
        }

    def config(self, product_config_id: str) -> Denomination | None:
        return next((d for d in self.denominations if d.product_config_id == product_config_id), None)

    def for_amount(self, amount: Decimal) -> Denomination | None:
        """The denomination an order for `amount` buys: a fixed one with that mrp, else a custom-amount one."""
        fixed = next((d for d in self.denominations if not d.custom_amount_enabled and d.mrp == amount), None)
        if fixed is not None:
            return fixed
        return next((d for d in self.denominations if d.custom_amount_enabled and d.custom_amount_fits(amount)), None)

    def view(self) -> dict:
        """Get Product Configs (Denominations): the documented payload."""
        return {
            "productCatalogId": self.product_catalog_id,
            "brand": self.brand,
            "aggregator": self.aggregator,
            "category": self.category,
            "images": self.images(),
            "description": self.description,
            "configResponses": [d.view() for d in self.denominations],
            "enabled": self.enabled,
            "rank": self.rank,
            "termsAndCondition": self.terms,
            "howToRedeem": self.how_to_redeem,
            "expiryPeriod": self.expiry_period,
            "active": self.active,
            "enkashImages": self.images(),
            "discount": self.discount,
        }

    def logo_svg(self, kind: str) -> str:
        color = PALETTE[sum(map(ord, self.brand)) % len(PALETTE)]
        initials = "".join(w[0] for w in re.findall(r"[A-Za-z0-9]+", self.brand)[:2]).upper()
        width, height = {"BRAND_IMAGE": (320, 180), "LOGO_IMAGE": (160, 160)}.get(kind, (64, 64))
        size = height // 3
        label = (
            (
                f'<text x="50%" y="{height - 14}" font-family="Helvetica,Arial,sans-serif" font-size="14" '
                f'fill="#fff" text-anchor="middle">{_xml(self.brand)}</text>'
            )
            if kind == "BRAND_IMAGE"
            else ""
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" rx="12" fill="{color}"/>'
            f'<text x="50%" y="52%" font-family="Helvetica,Arial,sans-serif" font-size="{size}" font-weight="700" '
            f'fill="#fff" text-anchor="middle" dominant-baseline="middle">{_xml(initials)}</text>{label}</svg>'
        )


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")


class Catalog:
    def __init__(self, products: list[Product]):
        self.products = sorted(products, key=lambda p: p.rank)
        self._by_id = {p.product_catalog_id: p for p in self.products}
        self._by_config = {d.product_config_id: p for p in self.products for d in p.denominations}

    @classmethod
    def load(cls, fixtures_dir: Path | None) -> Catalog:
        data = load_fixture(fixtures_dir, "catalog.yaml")
        products = []
        for item in data.get("catalog", []):
            denominations = tuple(
                Denomination(
                    product_config_id=d["productConfigId"],
                    product_catalog_id=item["productCatalogId"],
                    mrp=Decimal(str(d["mrp"])).quantize(CENT),
                    enkash_discount=Decimal(str(d["enkashDiscount"])),
                    max_quantity=int(d["maxQuantity"]),
                    custom_amount_enabled=bool(d.get("customAmountEnabled")),
                    min_amount=Decimal(str(d["minAmount"])) if d.get("minAmount") is not None else None,
                    max_amount=Decimal(str(d["maxAmount"])) if d.get("maxAmount") is not None else None,
                )
                for d in item["denominations"]
            )
            products.append(
                Product(
                    product_catalog_id=item["productCatalogId"],
                    brand=item["brand"],
                    aggregator=item["aggregator"],
                    category=item["category"],
                    description=item["description"],
                    terms=item["termsAndCondition"],
                    how_to_redeem=item["howToRedeem"],
                    expiry_period=int(item["expiryPeriod"]),
                    discount=int(item["discount"]),
                    rank=int(item["rank"]),
                    enabled=bool(item["enabled"]),
                    active=bool(item["active"]),
                    denominations=denominations,
                )
            )
        return cls(products)

    def get(self, product_catalog_id: str) -> Product | None:
        return self._by_id.get(product_catalog_id)

    def product_of_config(self, product_config_id: str) -> Product | None:
        return self._by_config.get(product_config_id)

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "productCatalogId": p.product_catalog_id,
                "brand": p.brand,
                "category": p.category,
                "aggregator": p.aggregator,
                "active": p.active,
                "enabled": p.enabled,
                "rank": p.rank,
                "discount": p.discount,
                "expiryPeriod": p.expiry_period,
                "images": p.images(),
                "denominations": [
                    d.view() | ({"minAmount": d.min_amount, "maxAmount": d.max_amount} if d.custom_amount_enabled else {})
                    for d in p.denominations
                ],
            }
            for p in self.products
        ]


class CatalogSource:
    """The catalog, parsed from the fixtures on first use (keeps start-up fast), shared by every service."""

    def __init__(self, fixtures_dir: Path | None) -> None:
        self.fixtures_dir = fixtures_dir
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> Catalog:
        if self._catalog is None:
            with self._lock:
                if self._catalog is None:
                    self._catalog = Catalog.load(self.fixtures_dir)
        return self._catalog

    @property
    def products(self) -> list[Product]:
        return self.loaded.products

    def get(self, product_catalog_id: str) -> Product | None:
        return self.loaded.get(product_catalog_id)

    def product_of_config(self, product_config_id: str) -> Product | None:
        return self.loaded.product_of_config(product_config_id)

    def summary(self) -> list[dict[str, Any]]:
        return self.loaded.summary()
