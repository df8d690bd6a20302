"""The README's pytest-plugin example, runnable: `pytest examples/test_partner_app.py` (the plugin starts a
sandbox in a thread; set ENKASH_SANDBOX_URL to use a running one)."""

import time

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from partner_app import load_card


def test_my_app_loads_a_card(enkash_client, enkash_tenant, enkash_journal):
    ref = (enkash_tenant["companyId"], enkash_tenant["cardAccounts"]["RELOADABLE_GPR"])
    card = enkash_client.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9000000001", loadAmount=100)
    load_card(enkash_client, *ref, card["enKashCardId"], 250, reference="ORDER-1")  # your code under test
    assert enkash_client.search_cards(*ref, card["enKashCardId"])["otbBalance"] == 350
    assert enkash_journal.last("/api/v0/partner/enKashCard/balance")["requestBody"]["amount"] == 250


def test_my_app_rides_out_an_outage(enkash_client, enkash_tenant, enkash_faults, enkash_journal):
    ref = (enkash_tenant["companyId"], enkash_tenant["cardAccounts"]["RELOADABLE_GPR"])
    card = enkash_client.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9000000002", loadAmount=100)
    enkash_faults.add({"type": "status", "status": 503}, path="*/balance", times=2)  # this tenant only
    load_card(enkash_client, *ref, card["enKashCardId"], 250, reference="ORDER-2")
    assert [e["status"] for e in enkash_journal.requests("/api/v0/partner/enKashCard/balance")] == [200, 503, 503]
    assert enkash_client.search_cards(*ref, card["enKashCardId"])["otbBalance"] == 350  # loaded once


def test_a_slow_answer_is_a_client_timeout(enkash_sandbox, enkash_tenant, enkash_faults):
    # the latency fault is longer than this client's timeout: the client gives up after 1 s, and the test with it
    ref = {"companyId": enkash_tenant["companyId"], "cardAccountId": enkash_tenant["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(enkash_sandbox.url, enkash_tenant, timeout=1) as impatient:
        impatient.access_token()  # the token first, so only the faulted call meets the timeout
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            impatient.request("POST", "/api/v0/partner/enKashCard/search", ref, headers=enkash_faults.header("latency", 3000))
    assert time.monotonic() - started < 2.5
