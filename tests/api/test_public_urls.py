"""Absolute URLs in answers (card images, T&C, catalog images, SSO and VKYC links) on the public base URL, and the
card number masks as the docs show them (issue 18 §4)."""

from __future__ import annotations

import re

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox

from tests.conftest import account_ref

CARD = "/api/v0/partner/enKashCard"
ASSET_KEYS = ("partnerLogo", "defaultCardImage", "tncUrl")


def assets_of(client: EnKashClient, ref: dict, base: str) -> dict:
    """A new card's asset URLs, a catalog product's images, an SSO answer's and a VKYC link's URLs."""
    card = client.create_card(**ref, mobile="9500000201", firstName="Url", loadAmount=10)
    shown = client.search_cards(ref["companyId"], ref["cardAccountId"], card["enKashCardId"])
    catalog = httpx.get(f"{base}/_sandbox/catalog").json()
    config = client.request("GET", f"/api/v0/partner/search-config/{catalog[0]['productCatalogId']}")["payload"]
    sso = client.payload(f"{CARD}/sso-token", {**ref, "enkashCardId": card["enKashCardId"]})
    vkyc = client.request("GET", f"{CARD}/vkyc/link", params={"enKashCardId": card["enKashCardId"], **ref})["payload"]
    return {
        **{key: shown[key] for key in ASSET_KEYS},
        **{f"images.{k}": v for k, v in config["images"].items()},
        "employeeRewardsUrl": sso["employeeRewardsUrl"],
        "rewardAccountUrl": sso["rewardAccountUrl"],
        "vkycLink": vkyc["vkycLink"],
    }


def test_asset_urls_are_absolute_on_the_requests_own_base(sandbox, client, tenant):
    urls = assets_of(client, account_ref(tenant), sandbox.url)
    assert set(urls) >= {"partnerLogo", "images.LOGO_IMAGE", "vkycLink"}
    for key, url in urls.items():
        assert url.startswith(f"{sandbox.url}/"), (key, url)
        # each one answers where it points
        assert httpx.get(url).status_code == 200, (key, url)


def test_asset_urls_use_the_configured_public_base_url(tmp_path):
    public = "https://sandbox.partner.example/enkash"
    with LiveSandbox(Settings(db=str(tmp_path / "s.db"), public_base_url=public, seed_demo=False)) as live:
        creds = live.provision()
        with EnKashClient.from_credentials(live.url, creds) as client:
            urls = assets_of(client, account_ref(creds), live.url)
    for key, url in urls.items():
        assert url.startswith(f"{public}/_sandbox/") or url.startswith(f"{public}/sso/"), (key, url)
    assert urls["partnerLogo"] == f"{public}/_sandbox/static/enkash-logo.svg"


def test_a_public_base_url_must_be_a_url():
    with pytest.raises(ValueError):
        Settings(public_base_url="sandbox.example.com")


def test_card_numbers_are_masked_as_the_docs_show_them(client, tenant):
    ref = account_ref(tenant)
    # a holder's card: its last four are the holder mobile's (both documented examples: 9600098867 -> 8867)
    card = client.create_card(**ref, mobile="9600098867", firstName="Mask", loadAmount=5)
    assert card["maskedNumber"] == "XXXX XXXX XXXX 8867"
    rows = client.payload(f"{CARD}/transaction/all", {**ref, "enKashCardId": card["enKashCardId"]})["data"]
    assert {row["maskedCard"] for row in rows} == {"XXXX XXXX XXXX 8867"}
    # the account's primary card: first six and last two, as Get Card Account Details shows it
    primary = client.card_account(ref["companyId"], ref["cardAccountId"])["primaryEnKashCard"]
    assert re.fullmatch(r"2004 01XX XXXX XX\d{2}", primary["maskedNumber"]), primary["maskedNumber"]
    # a card for a holder without a mobile: four digits of its own
    anonymous = client.create_card(**ref, firstName="NoMobile")
    assert re.fullmatch(r"XXXX XXXX XXXX \d{4}", anonymous["maskedNumber"])
