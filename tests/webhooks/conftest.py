"""A sandbox of the webhook tests' own (its clock is moved, its receivers hang), on every store the suite runs
on, and a local receiver per test (the pytest plugin's, enkash_sandbox.testing.webhooks)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.testing.live import LiveSandbox
from enkash_sandbox.testing.webhooks import WebhookReceiver

from tests.conftest import BACKENDS, control_client, module_settings

# a receiver that hangs is given up on after this long (the default is 5 s)
TIMEOUT_SECONDS = 1.0


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request, tmp_path_factory) -> Iterator[LiveSandbox]:
    with LiveSandbox(module_settings(request, tmp_path_factory, "wh_", seed=11, webhook_timeout_seconds=TIMEOUT_SECONDS)) as live:
        live.backend = request.param  # type: ignore[attr-defined]
        yield live


@pytest.fixture
def control(sandbox) -> Iterator[httpx.Client]:
    yield from control_client(sandbox)


@pytest.fixture
def tenant(sandbox) -> dict:
    return sandbox.provision()


@pytest.fixture
def client(sandbox, tenant) -> Iterator[EnKashClient]:
    with EnKashClient.from_credentials(sandbox.url, tenant) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


def gpr(creds: dict) -> tuple[str, str]:
    return creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"]


def new_card(client: EnKashClient, creds: dict, mobile: str = "9876500001") -> str:
    company, account = gpr(creds)
    return client.create_card(companyId=company, cardAccountId=account, mobile=mobile, firstName="Hook")["enKashCardId"]
