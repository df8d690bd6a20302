"""Seeding: the demo tenant from fixtures, with Faker card holders and a little history.

Everything comes from the seed: the same seed gives the same ids, names and amounts every time.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from enkash_sandbox.fixtures import load_fixture
from enkash_sandbox.money import to_minor
from enkash_sandbox.products.cards.schemas import HolderFields
from enkash_sandbox.store.tables import CardAccount, Company
from enkash_sandbox.vocabulary import DEFAULT_ACCOUNT_TYPES

if TYPE_CHECKING:
    from enkash_sandbox.products.tenants.service import TenantService


def seed_demo(tenants: TenantService) -> dict[str, Any]:
    """Create the demo tenant; returns its credentials (as POST /_sandbox/partners would)."""
    fixture = load_fixture(tenants.settings.fixtures_dir, "demo.yaml")
    holders_cfg = fixture.get("holders", {})
    rng = random.Random(tenants.db.seed)
    faker = tenants.names.faker("demo")
    now = tenants.clock.now()
    with tenants.db.write() as s:
        creds = tenants.provision_in(
            s,
            encryption=None,
            fund_balance=Decimal(str(fixture.get("fundBalance", 1000000))),
            name=None,
            fixed=fixture.get("partner", {}),
            account_types=DEFAULT_ACCOUNT_TYPES,
            funded_at=now - timedelta(days=90),
        )
        company = s.get(Company, creds["companyId"])
        assert company is not None  # provisioned just above
        password = holders_cfg.get("password", tenants.settings.holder_password)
        holders = []
        for _ in range(int(holders_cfg.get("count", 6))):
            first, last = faker.first_name(), faker.last_name()
            fields = HolderFields(
                title=rng.choice(["Mr", "Ms", "Mrs"]),
                firstName=first,
                lastName=last,
                email=f"{first}.{last}@example.com".lower().replace(" ", ""),
                mobile=str(rng.choice([6, 7, 8, 9])) + "".join(str(rng.randrange(10)) for _ in range(9)),
                gender=rng.choice(["M", "F"]),
                city=faker.city(),
                state=faker.state(),
                country="India",
                pincode=str(rng.randrange(110001, 855999)),
            )
            holders.append(tenants.cards.new_holder(s, company, fields, password=password))
        # history spread over the past weeks so the ledger and the charts have a shape; applied in time
        # order, so every balance-after is what it was at that moment
        plan = []
        for account_type, amounts in (holders_cfg.get("cards") or {}).items():
            account_id = creds["cardAccounts"].get(account_type)
            if account_id is None:
                continue
            for i, amount in enumerate(amounts):
                when = now - timedelta(days=rng.randrange(3, 60), minutes=rng.randrange(0, 1440))
                plan.append((when, account_type, account_id, i, amount))
        for when, account_type, account_id, i, amount in sorted(plan):
            account = s.get(CardAccount, account_id)
            assert account is not None  # provisioned just above
            card = tenants.cards.new_card(s, account, holders[i % len(holders)])
            minor = to_minor(Decimal(str(amount)))
            tenants.ledger.account_to_card(
                s,
                account,
                card,
                minor,
                type="ALLOCATE_POINT" if account_type in ("EMPLOYEE_REWARDS", "CHANNEL_INCENTIVE") else "LOAD_MONEY",
                transaction_code="ALLOCATION",
                reference=f"DEMO-{account_type[:3]}-{i + 1:03d}",
                remarks="Demo allocation",
                at=when,
            )
            card.load_amount_minor = card.last_allocated_minor = minor
            card.created_at = card.modified_at = when - timedelta(minutes=5)
            s.add(card)
        creds["holders"] = [
            {"userId": h.id, "name": f"{h.first_name} {h.last_name}", "mobile": h.mobile, "password": password} for h in holders
        ]
        tenants.save_baseline(s, creds["partnerId"])
        return creds
