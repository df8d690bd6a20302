"""A sandbox of the payout tests' own (they move its clock), on every store the suite runs on, and a partner-side
payout caller: token, Bearer, User-Agent and the AES envelope, as a partner's code sends them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.testing.live import LiveSandbox

from tests.conftest import BACKENDS, control_client, module_settings

BENEFICIARY = "/api/v0/beneficiary-detail"
TRANSFER = "/api/v0/payout-transaction"
BATCH = "/api/v0/payout-transaction/batch"
BALANCE = "/api/v0/payout-account/balance"
STATEMENT = "/api/v0/payout-account/statement"
WHITELIST = "/api/v0/bankDetail/whitelist"
EVERYTHING = {"fromDate": "2000-01-01T00:00:00Z", "toDate": "2100-01-01T00:00:00Z"}


class Payouts:
    """One partner's payout calls: every body encrypted (the default) and every answer decrypted."""

    def __init__(self, url: str, creds: dict, *, encrypt: bool = True) -> None:
        self.creds = creds
        self.url = url
        self.fund_source = creds["payoutFundSourceId"]
        self.client = EnKashClient.from_credentials(url, creds, encrypt=encrypt)

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, data = self.client.request(method, path, body, raw=True, **kw)
        return status, data

    def ok(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        status, data = self.call(method, path, body, **kw)
        assert status == 200, (status, data)
        return data

    def beneficiary(self, beneficiary_id: str, name: str = "Meera Nair", **fields: Any) -> dict:
        body = {"beneficiaryId": beneficiary_id, "beneficiaryName": name, **fields}
        if "vpaHandle" not in fields and "beneficiaryAccountNumber" not in fields:
            body.update(beneficiaryAccountNumber="50100123456789", beneficiaryIfsc="HDFC0000123")
        return self.ok("POST", BENEFICIARY, body)

    def transfer(self, transaction_id: str, amount: Any = "100.00", beneficiary: str = "BENBANK001", **fields: Any) -> dict:
        body = {"transactionId": transaction_id, "beneficiaryId": beneficiary, "transferAmount": amount, **fields}
        return self.ok("POST", TRANSFER, body)

    def get(self, transaction_id: str) -> dict:
        return self.ok("GET", f"{TRANSFER}/{transaction_id}")

    def balance(self) -> Any:
        return self.ok("GET", BALANCE, params={"fundSourceId": self.fund_source, "debitAccountNumber": ""})["totalBalance"]

    def statement(self) -> list[dict]:
        body = {"fundSourceId": self.fund_source, "debitAccountNumber": "", **EVERYTHING}
        return self.ok("POST", STATEMENT, body)["data"]

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="package", params=BACKENDS)
def sandbox(request, tmp_path_factory) -> Iterator[LiveSandbox]:
    # one per store for the whole package: every test takes a fresh tenant, and the control fixture puts the clock
    # back after each test
    with LiveSandbox(module_settings(request, tmp_path_factory, "po_", shared=True, seed=20, seed_demo=False)) as live:
        live.backend = request.param  # type: ignore[attr-defined]
        yield live


@pytest.fixture
def control(sandbox) -> Iterator[httpx.Client]:
    yield from control_client(sandbox, timeout=60)


@pytest.fixture
def tenant(sandbox) -> dict:
    return sandbox.provision()


@pytest.fixture
def payouts(sandbox, tenant) -> Iterator[Payouts]:
    p = Payouts(sandbox.url, tenant)
    yield p
    p.close()


def audit_ok(sandbox, partner_id: str) -> None:
    report = httpx.get(f"{sandbox.url}/_sandbox/audit", params={"partnerId": partner_id}, timeout=60).json()
    assert report["discrepancies"] == [], report["discrepancies"]
