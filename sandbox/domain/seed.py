"""Seeding: the demo tenant from fixtures, with Faker card holders and a little history.

Everything comes from the seed: the same seed gives the same ids, names and amounts every time.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import yaml
from enkash_sandbox.domain.requests import HolderFields
from enkash_sandbox.money import to_minor
from enkash_sandbox.store.models import CardAccount, Company

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_fixture(fixtures_dir: Path | None, name: str) -> dict:
    for folder in (fixtures_dir, FIXTURES):
        if folder is not None and (folder / name).exists():
            return yaml.safe_load((folder / name).read_text()) or {}
    return {}


def seed_demo(core) -> dict:
    """Create the demo tenant; returns its credentials (as POST /_sandbox/partners would)."""
    fixture = load_fixture(core.settings.fixtures_dir, "demo.yaml")
    holders_cfg = fixture.get("holders", {})
    rng = random.Random(core.db.seed)
    faker = core.faker("demo")
    now = core.clock.now()
    with core.db.write() as s:
        creds = core.tenants.provision_in(
            s, encryption=None, fund_balance=Decimal(str(fixture.get("fundBalance", 1000000))), name=None,
            fixed=fixture.get("partner", {}), account_types=tuple(core.default_account_types),
            funded_at=now - timedelta(days=90),
        )
        company = s.get(Company, creds["companyId"])
        password = holders_cfg.get("password", core.settings.holder_password)
        holders = []
        for _ in range(int(holders_cfg.get("count", 6))):
            first, last = faker.first_name(), faker.last_name()
            fields = HolderFields(
                title=rng.choice(["Mr", "Ms", "Mrs"]), firstName=first, lastName=last,
                email=f"{first}.{last}@example.com".lower().replace(" ", ""),
                mobile=str(rng.choice([6, 7, 8, 9])) + "".join(str(rng.randrange(10)) for _ in range(9)),
                gender=rng.choice(["M", "F"]), city=faker.city(), state=faker.state(), country="India",
                pincode=str(rng.randrange(110001, 855999)),
            )
            holders.append(core.cards.new_holder(s, company, fields, password=password))
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
            card = core.cards.new_card(s, account, holders[i % len(holders)])
            minor = to_minor(Decimal(str(amount)))
            core.ledger.account_to_card(s, account, card, minor, type="ALLOCATE_POINT"
                                        if account_type in ("EMPLOYEE_REWARDS", "CHANNEL_INCENTIVE")
                                        else "LOAD_MONEY", transaction_code="ALLOCATION",
                                        reference=f"DEMO-{account_type[:3]}-{i + 1:03d}",
                                        remarks="Demo allocation", at=when)
            card.load_amount_minor = card.last_allocated_minor = minor
            card.created_at = card.modified_at = when - timedelta(minutes=5)
            s.add(card)
        creds["holders"] = [{"userId": h.id, "name": f"{h.first_name} {h.last_name}", "mobile": h.mobile,
                             "password": password} for h in holders]
        core.tenants.save_baseline(s, creds["partnerId"])
        return creds
