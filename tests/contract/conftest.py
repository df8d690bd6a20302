"""A sandbox and a partner context for the contract suite (magic values off: generated data may hit them)."""

from __future__ import annotations

import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox


class PartnerContext:
    """Real ids of one tenant, so that generated requests sometimes reach real data."""

    def __init__(self, live: LiveSandbox):
        self.live = live
        self.creds = live.provision()
        c = self.creds
        self.partner = EnKashClient.from_credentials(live.url, c)
        ref = (c["companyId"], c["cardAccounts"]["EMPLOYEE_REWARDS"])
        allocation = self.partner.allocate_points(
            *ref, 5000, reference="CONTRACT-SEED", mobile="9811111111", firstName="Contract", email="contract@example.com"
        )
        self.card_id = allocation["enKashCardId"]
        self.user_id = allocation["userId"]
        self.user = self.partner.as_user("9811111111", live.container.settings.holder_password)
        catalog = live.container.catalog.products[0]
        self.product_catalog_id = catalog.product_catalog_id
        self.product_config_id = catalog.denominations[0].product_config_id
        self.coin_config_id = self.partner.create_coin_event(c["companyId"], "CONTRACT_EVENT", 5)["coinConfigId"]
        # payouts: the tenant's fund source, its seeded bank beneficiary and one transfer, so that generated
        # requests sometimes pay from, to and about real things (and hit the documented 409s)
        self.fund_source_id = c["payoutFundSourceId"]
        self.transaction_id = self.partner.transfer("CONTRACT-T1", 10, beneficiary_id="BENBANK001")["transactionId"]
        self.ids = {
            "companyId": c["companyId"],
            "cardAccountId": ref[1],
            "enKashCardId": self.card_id,
            "enkashCardId": self.card_id,
            "userId": self.user_id,
            "productCatalogId": self.product_catalog_id,
            "coinConfigId": self.coin_config_id,
            "ekUserId": self.user_id,
            "fundSourceId": self.fund_source_id,
            "beneficiaryId": "BENBANK001",
            "transactionId": self.transaction_id,
        }


@pytest.fixture(scope="session")
def contract_sandbox(tmp_path_factory):
    store = tmp_path_factory.mktemp("contract") / "enkash_sandbox.db"
    # no deliverer: fuzzed webhook registrations carry arbitrary URLs, and their events must not be sent anywhere
    with LiveSandbox(Settings(db=str(store), seed=1, seed_demo=False, magic_values=False, webhook_deliverer=False)) as live:
        yield live


@pytest.fixture(scope="session")
def partner_context(contract_sandbox) -> PartnerContext:
    return PartnerContext(contract_sandbox)
