"""Shared fixtures: a live sandbox on a real socket, fresh tenants, and partner-side clients."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from sandbox.client import EnKashClient
from sandbox.config import Settings
from sandbox.testing import LiveSandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Iterator[LiveSandbox]:
    db = tmp_path_factory.mktemp("store") / "sandbox.db"
    with LiveSandbox(Settings(db=str(db), seed=7)) as live:
        yield live


@pytest.fixture
def tenant(sandbox) -> dict:
    return sandbox.provision()


@pytest.fixture
def client(sandbox, tenant) -> Iterator[EnKashClient]:
    c = EnKashClient.from_credentials(sandbox.url, tenant)
    yield c
    c.close()


@pytest.fixture
def http(sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=30) as c:
        yield c


def basic(creds: dict) -> str:
    return "Basic " + base64.b64encode(f"{creds['clientId']}:{creds['clientSecret']}".encode()).decode()


def password_form(creds: dict, **over) -> dict:
    form = {"username": creds["username"], "password": creds["password"], "grant_type": "password",
            "clientId": creds["clientId"]}
    form.update(over)
    return form


def token_for(http: httpx.Client, creds: dict) -> str:
    response = http.post("/oauth/token", data=password_form(creds), headers={"Authorization": basic(creds)})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def account_ref(creds: dict, kind: str = "RELOADABLE_GPR") -> dict:
    return {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"][kind]}
