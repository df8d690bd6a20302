"""Shared fixtures: a live sandbox on a real socket, fresh tenants, and partner-side clients."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox
from sqlalchemy import create_engine, text

# The HTTP suite runs on the embedded SQLite store, and again on PostgreSQL when a server is given
# (.ci/run starts one; locally: ENKASH_SANDBOX_TEST_DATABASE_URL=postgresql+psycopg://user:pw@host/db).
POSTGRES_URL = os.environ.get("ENKASH_SANDBOX_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
# In CI (CI=true) what needs Chromium or PostgreSQL is required: missing, it fails instead of skipping.
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def backend_settings(backend: str, tmp_path_factory, **overrides) -> Settings:
    if backend == "postgresql":
        return Settings(database_url=postgres_database("session"), **overrides)
    return Settings(db=str(tmp_path_factory.mktemp("store") / "enkash_sandbox.db"), **overrides)


def module_settings(request, tmp_path_factory, prefix: str, *, shared: bool = False, **overrides) -> Settings:
    """Settings for a module's own sandbox (or, `shared`, a package's) on the backend `request.param` names: a
    PostgreSQL database of its own (the session sandbox's must not be dropped from under it) or a fresh SQLite file."""
    if request.param == "postgresql":
        name = prefix + ("package" if shared else request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_"))
        return Settings(database_url=postgres_database(name), **overrides)
    return Settings(db=str(tmp_path_factory.mktemp(prefix) / "enkash_sandbox.db"), **overrides)


def control_client(sandbox: LiveSandbox, timeout: float = 30) -> Iterator[httpx.Client]:
    """The control plane of `sandbox`; the clock goes back to real time afterwards, so a test that moved it does
    not leave it moved for the next one."""
    with httpx.Client(base_url=f"{sandbox.url}/_sandbox", timeout=timeout) as c:
        yield c
        c.post("/clock", json={"action": "reset"})


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
    form = {"username": creds["username"], "password": creds["password"], "grant_type": "password", "clientId": creds["clientId"]}
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
    # one database per xdist worker too: two workers must never share (or drop) each other's
    database = f"{url.database}_{name}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    _MADE_DATABASES.append(database)
    return url.set(database=database).render_as_string(hide_password=False)


# the databases this process made, dropped when its session ends (a developer's server would otherwise keep
# every module's database of every run: 80 of them, 800 MB, seen here)
_MADE_DATABASES: list[str] = []


def _drop_made_databases() -> None:
    from sqlalchemy.engine import make_url

    if not _MADE_DATABASES:
        return
    admin = create_engine(make_url(POSTGRES_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for database in set(_MADE_DATABASES):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
    _MADE_DATABASES.clear()


_WORKER_REPORTS: list[str] = []


def pytest_sessionfinish(session):
    """An xdist worker hands its race report to the controller, which prints them all; every process drops the
    PostgreSQL databases it made (its fixtures, servers included, are torn down by now)."""
    from tests.integrity.conftest import RACE_REPORT

    _drop_made_databases()
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["race_report"] = list(RACE_REPORT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _WORKER_REPORTS.extend(getattr(node, "workeroutput", {}).get("race_report", []))


def pytest_terminal_summary(terminalreporter):
    """How many race trials ran, on which store: the concurrency tests are only as good as their count."""
    from tests.integrity.conftest import RACE_REPORT

    lines = sorted(RACE_REPORT + _WORKER_REPORTS)
    if lines:
        terminalreporter.section("race trials")
        for line in lines:
            terminalreporter.write_line(line)
