"""pytest plugin (registered as `enkash_sandbox` through the pytest11 entry point).

Fixtures for a partner's own test suite:

- `enkash_sandbox` (session): a sandbox on a free port in a thread with a throw-away store, or the one
  at ENKASH_SANDBOX_URL if set (ENKASH_SANDBOX_ADMIN_TOKEN is sent to its control plane if set).
- `enkash_tenant`: a fresh isolated tenant per test (so pytest-xdist workers never collide).
- `enkash_client`: an EnKashClient logged in as that tenant (token, AES envelope, EnKash errors).
- `enkash_faults`: add fault rules for that tenant, or get an X-Sandbox-Fault header; removed after the test.
- `enkash_journal`: what the sandbox received from that tenant, decrypted, newest first.
- `enkash_webhooks`: a local webhook receiver; `wait_for(event)` returns the verified payload.
- `enkash_payouts`: that tenant's payout fund source: fund it, read its balance and statement, list its transfers
  with their status timelines, force a transfer's next state (SUCCESS, FAILED, REVERSED) or settle what is due,
  switch the tenant's payout APIs off; the payout calls themselves are `enkash_client`'s (`transfer`, …).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from enkash_sandbox import jsonio
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.testing.webhooks import WebhookReceiver


class RemoteSandbox:
    def __init__(self, url: str, admin_token: str | None):
        self.url = url.rstrip("/")
        self.admin_token = admin_token
        # the shared demo partner of a running sandbox (None: not seeded), looked up once per session
        self.demo_partner: str | None | bool = False

    def __enter__(self) -> RemoteSandbox:
        return self

    def __exit__(self, *exc) -> None:
        return None


class Control:
    """A small client for the /_sandbox control plane."""

    def __init__(self, url: str, admin_token: str | None = None):
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self.http = httpx.Client(base_url=f"{url.rstrip('/')}/_sandbox", headers=headers, timeout=30)

    def call(self, method: str, path: str, **kw):
        response = self.http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.http.close()


class Faults:
    def __init__(self, control: Control, partner_id: str):
        self.control = control
        self.partner_id = partner_id
        self.created: list[str] = []

    def add(
        self,
        action: dict,
        *,
        path: str = "*",
        method: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        seed: int = 0,
        body_field: dict | None = None,
    ) -> dict:
        """Add a rule for this tenant, e.g. add({"type": "status", "status": 503}, path="*/balance", times=1)."""
        body = {"action": action, "path": path, "partnerId": self.partner_id, "seed": seed}
        for key, value in (("method", method), ("times", times), ("probability", probability), ("bodyField", body_field)):
            if value is not None:
                body[key] = value
        rule = self.control.call("POST", "/faults", json=body)
        self.created.append(rule["id"])
        return rule

    @staticmethod
    def header(kind: str, delay_ms: int | None = None) -> dict:
        """Headers that fault one request: client.request(..., headers=enkash_faults.header("500"))."""
        return {"X-Sandbox-Fault": kind + (f";delay={delay_ms}" if delay_ms else "")}

    def cleanup(self) -> None:
        for rule_id in self.created:
            self.control.http.delete(f"/faults/{rule_id}")


class JournalView:
    def __init__(self, control: Control, partner_id: str):
        self.control = control
        self.partner_id = partner_id

    def requests(self, path: str | None = None, method: str | None = None, limit: int = 100) -> list[dict]:
        params = {"partnerId": self.partner_id, "limit": limit}
        if path:
            params["path"] = path
        if method:
            params["method"] = method
        return self.control.call("GET", "/requests", params=params)

    def last(self, path: str | None = None) -> dict | None:
        found = self.requests(path, limit=1)
        return found[0] if found else None


class PayoutAccount:
    """One tenant's payout fund source, driven through the control plane (`/_sandbox/payouts/...`) and read
    through EnKash's own payout APIs. Amounts are Decimal."""

    def __init__(self, control: Control, client: EnKashClient, tenant: dict):
        self.control = control
        self.client = client
        self.partner_id: str = tenant["partnerId"]
        self.fund_source_id: str = tenant["payoutFundSourceId"]

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        response = self.control.http.request(method, path, **kw)
        response.raise_for_status()
        return _exact_json(response.text)

    def fund(self, amount: Decimal | int | str, from_account_number: str | None = None) -> dict:
        """Money arriving in the fund source (a ledger row; with from_account_number, it must be the whitelisted
        source account)."""
        body: dict[str, Any] = {"amount": str(amount)}
        if from_account_number is not None:
            body["fromAccountNumber"] = from_account_number
        return self._call("POST", f"/payouts/accounts/{self.fund_source_id}/fund", json=body)

    def balance(self) -> Decimal:
        """The available balance, as Get Balance answers it."""
        return self.client.payout_balance(self.fund_source_id)

    def statement(self) -> list[dict]:
        """Every ledger row of the fund source with its running balance (the vendor statement's rows)."""
        return self._call("GET", f"/payouts/accounts/{self.fund_source_id}/statement")["data"]

    def transfers(self, status: str | None = None, limit: int = 100) -> list[dict]:
        """This tenant's transfers, newest first (what is due on the sandbox clock is settled first)."""
        params: dict[str, Any] = {"partner": self.partner_id, "limit": limit}
        if status:
            params["status"] = status
        return self._call("GET", "/payouts/transfers", params=params)

    def transfer(self, transaction_id: str) -> dict:
        """A transfer by your transactionId (or its enkashTransactionId), with its status timeline."""
        return self._call("GET", f"/payouts/transfers/{self._enkash_id(transaction_id)}")

    def advance(self, transaction_id: str, to: str, reason_code: str | None = None) -> dict:
        """Force a transfer's next state: PROCESSING (a PENDING batch item), SUCCESS or FAILED (a PROCESSING one,
        FAILED refunds), REVERSED (a SUCCESS one, refunded); anything else is refused (409)."""
        body: dict[str, Any] = {"to": to}
        if reason_code:
            body["reasonCode"] = reason_code
        return self._call("POST", f"/payouts/transfers/{self._enkash_id(transaction_id)}/advance", json=body)

    def settle(self) -> dict:
        """Settle everything due at the sandbox clock now (the background sweep would, within a moment)."""
        return self._call("POST", "/payouts/settle")

    def enable(self, enabled: bool = True) -> dict:
        """Switch the tenant's payout APIs on or off (off: 403 "APIs not enabled")."""
        return self._call("POST", f"/partners/{self.partner_id}/payouts", json={"enabled": enabled})

    def _enkash_id(self, transaction_id: str) -> str:
        if transaction_id.startswith("EKPT") and len(transaction_id) == 16:
            return transaction_id
        for row in self.transfers(limit=1000):
            if row["transactionId"] == transaction_id:
                return row["enkashTransactionId"]
        raise LookupError(f"no transfer {transaction_id} for {self.partner_id}")


def _exact_json(text: str) -> Any:
    """Control-plane JSON with its amounts exact."""
    return jsonio.loads_exact(text)


@pytest.fixture(scope="session")
def enkash_sandbox(tmp_path_factory):
    url = os.environ.get("ENKASH_SANDBOX_URL")
    if url:
        with RemoteSandbox(url, os.environ.get("ENKASH_SANDBOX_ADMIN_TOKEN")) as remote:
            yield remote
        return
    from enkash_sandbox.config import Settings
    from enkash_sandbox.testing.live import LiveSandbox

    store = tmp_path_factory.mktemp("enkash-sandbox") / "enkash_sandbox.db"
    with LiveSandbox(Settings(db=str(store), seed_demo=False, admin_token=None)) as live:
        live.admin_token = None
        yield live


@pytest.fixture
def enkash_control(enkash_sandbox) -> Iterator[Control]:
    control = Control(enkash_sandbox.url, getattr(enkash_sandbox, "admin_token", None))
    if isinstance(enkash_sandbox, RemoteSandbox):
        # a running sandbox's demo login is shared: a test that locked it with bad passwords must not lock out
        # the tests after it (each test's own tenant is fresh, so only the demo partner needs this)
        if enkash_sandbox.demo_partner is False:
            demo = control.http.get("/demo")
            enkash_sandbox.demo_partner = demo.json()["partnerId"] if demo.status_code == 200 else None
        if enkash_sandbox.demo_partner:
            control.call("POST", f"/partners/{enkash_sandbox.demo_partner}/unlock")
    yield control
    control.close()


@pytest.fixture
def enkash_tenant(enkash_control) -> dict:
    return enkash_control.call("POST", "/partners")


@pytest.fixture
def enkash_client(enkash_sandbox, enkash_tenant) -> Iterator[EnKashClient]:
    with EnKashClient.from_credentials(enkash_sandbox.url, enkash_tenant) as client:
        yield client


@pytest.fixture
def enkash_faults(enkash_control, enkash_tenant) -> Iterator[Faults]:
    faults = Faults(enkash_control, enkash_tenant["partnerId"])
    yield faults
    faults.cleanup()


@pytest.fixture
def enkash_journal(enkash_control, enkash_tenant) -> JournalView:
    return JournalView(enkash_control, enkash_tenant["partnerId"])


@pytest.fixture
def enkash_payouts(enkash_control, enkash_client, enkash_tenant) -> PayoutAccount:
    """The test tenant's payout fund source (₹10,00,000 to start): `.fund(amount)`, `.balance()`, `.statement()`,
    `.transfers(status)`, `.transfer(transactionId)` with its timeline, `.advance(transactionId, "SUCCESS")`,
    `.settle()`, `.enable(False)`. Pay with `enkash_client.transfer(...)`."""
    return PayoutAccount(enkash_control, enkash_client, enkash_tenant)


@pytest.fixture
def enkash_webhooks() -> Iterator[WebhookReceiver]:
    """A local webhook receiver (127.0.0.1, a free port) for the test: `.url`, `.received`,
    `.subscribe(enkash_client, [events])` (sets the secret every delivery's signature is checked with),
    `.wait_for(event, timeout)` → the verified payload, `.answer_with(500, 500)` / `.hang_for(s)` to test retries."""
    with WebhookReceiver() as receiver:
        yield receiver
