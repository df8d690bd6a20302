"""A card ready to spend: issued on a gift account (no KYC needed), loaded, every channel switched on at both
the admin and the holder level, as a partner would do with velocity/rule."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

CARD = "/api/v0/partner/enKashCard"
CHANNELS_ON = {
    "posAllowed": True,
    "onlineAllowed": True,
    "atmAllowed": True,
    "contactlessAllowed": True,
    "internationalAllowed": True,
    "adminUser": True,
}
_mobiles = itertools.count(9_100_000_000)


def gift_ref(creds: dict, kind: str = "GIFT") -> dict:
    return {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"][kind]}


def spendable_card(client, creds: dict, load: int = 1000, kind: str = "GIFT", **rules) -> str:
    ref = gift_ref(creds, kind)
    card = client.create_card(**ref, mobile=str(next(_mobiles)), firstName="Spender", loadAmount=load)["enKashCardId"]
    client.velocity(ref["companyId"], ref["cardAccountId"], [card], **{**CHANNELS_ON, **rules})
    return card


def otb(client, creds: dict, card: str, kind: str = "GIFT") -> Decimal:
    ref = gift_ref(creds, kind)
    return Decimal(str(client.search_cards(ref["companyId"], ref["cardAccountId"], card)["otbBalance"]))


@pytest.fixture
def card(client, tenant) -> str:
    return spendable_card(client, tenant)
