"""Shared fixtures: a live sandbox on a real socket, fresh tenants, and partner-side clients."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from sandbox.app import create_app
from sandbox.client import EnKashClient
from sandbox.config import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveSandbox:
    """A sandbox served by uvicorn in a thread, as a partner's test suite would run it."""

    def __init__(self, settings: Settings):
        self.app = create_app(settings)
        self.core = self.app.state.core
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, limit_concurrency=2000)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveSandbox:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.core.db.dispose()

    def provision(self, **body) -> dict:
        response = httpx.post(f"{self.url}/_sandbox/partners", json=body or None, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()


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
