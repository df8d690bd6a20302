"""Shared fixtures: a live sandbox on a real socket, fresh tenants, and partner-side clients."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.testing import LiveSandbox

# The HTTP suite runs on the embedded SQLite store, and again on PostgreSQL when a server is given
# (.ci/run starts one; locally: ENKASH_SANDBOX_TEST_DATABASE_URL=postgresql+psycopg://user:pw@host/db).
POSTGRES_URL = os.environ.get("ENKASH_SANDBOX_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def fresh_postgres(url: str) -> None:
    """An empty schema, so each run starts from nothing."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def backend_settings(backend: str, tmp_path_factory, **overrides) -> Settings:
    if backend == "postgresql":
        fresh_postgres(POSTGRES_URL)
        return Settings(database_url=POSTGRES_URL, **overrides)
    return Settings(db=str(tmp_path_factory.mktemp("store") / "enkash_sandbox.db"), **overrides)


@pytest.fixture(scope="session", params=BACKENDS)
def sandbox(request, tmp_path_factory) -> Iterator[LiveSandbox]:
    with LiveSandbox(backend_settings(request.param, tmp_path_factory, seed=7)) as live:
        live.backend = request.param
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


def postgres_database(name: str) -> str:
    """A fresh, empty PostgreSQL database of its own (beside the session store's), for a test module that runs
    its own server processes: dropping a shared schema would pull it from under the session's sandbox."""
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    database = f"{url.database}_{name}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return url.set(database=database).render_as_string(hide_password=False)


def pytest_terminal_summary(terminalreporter):
    """How many race trials ran, on which store: the concurrency tests are only as good as their count."""
    from tests.integrity.conftest import RACE_REPORT

    if RACE_REPORT:
        terminalreporter.section("race trials")
        for line in RACE_REPORT:
            terminalreporter.write_line(line)
