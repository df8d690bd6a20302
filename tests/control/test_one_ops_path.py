"""One ops action, three surfaces: the JSON control plane (/_sandbox/...), the dashboard's form (with its CSRF
token) and the `enkash-sandbox` CLI against a live server. They must have the same effect and refuse the same
bad input with the same reason, because all three go through the same spec and the same `ops` call
(ops/actions.py). The action is the one all three offer: snapshots (take and restore)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.ops.actions import OpsError, SnapshotSpec, parse
from enkash_sandbox.testing.live import LiveSandbox

from tests.conftest import BACKENDS, postgres_database

SURFACES = ("api", "dashboard", "cli")


def cli_command() -> list[str]:
    beside = Path(sys.executable).with_name("enkash-sandbox")
    found = str(beside) if beside.exists() else shutil.which("enkash-sandbox")
    assert found, "the enkash-sandbox command is installed with the package (pip install -e .)"
    return [found]


@dataclass
class Outcome:
    ok: bool
    message: str  # the error (or the notice) the surface shows a person


class Surfaces:
    """The same action asked of each surface, each answer read the way its user reads it."""

    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60)
        page = self.http.get("/_sandbox/ui/snapshots")
        assert page.status_code == 200
        self.csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    def close(self) -> None:
        self.http.close()

    # -- the JSON control plane
    def _api(self, response: httpx.Response, success: int) -> Outcome:
        if response.status_code == success:
            return Outcome(True, response.text)
        return Outcome(False, f"HTTP {response.status_code}: {response.json()['error']}")

    # -- the dashboard: a form post with the page's CSRF token, answered by a redirect carrying the outcome
    def _form(self, path: str, **fields) -> Outcome:
        response = self.http.post(f"/_sandbox/ui{path}", data={**fields, "csrf": self.csrf}, follow_redirects=False)
        assert response.status_code == 303, (path, response.status_code, response.text[:300])
        query = parse_qs(urlsplit(response.headers["location"]).query)
        if "error" in query:
            return Outcome(False, query["error"][0])
        return Outcome(True, query["notice"][0])

    # -- the CLI, a process of its own, against the live server
    def _cli(self, *args: str) -> Outcome:
        done = subprocess.run([*cli_command(), *args, "--url", self.url], capture_output=True, text=True, timeout=60)
        assert done.returncode in (0, 1), done.stderr
        return Outcome(done.returncode == 0, done.stdout if done.returncode == 0 else done.stderr)

    def take(self, surface: str, name: str) -> Outcome:
        if surface == "api":
            return self._api(self.http.post("/_sandbox/snapshots", json={"name": name}), 201)
        if surface == "dashboard":
            return self._form("/snapshots", name=name)
        return self._cli("snapshot", name)

    def restore(self, surface: str, name: str) -> Outcome:
        if surface == "api":
            return self._api(self.http.post(f"/_sandbox/snapshots/{name}/restore"), 200)
        if surface == "dashboard":
            return self._form(f"/snapshots/{name}/restore")
        return self._cli("restore", name)

    def snapshot_names(self) -> list[str]:
        return [s["name"] for s in self.http.get("/_sandbox/snapshots").json()]


@pytest.fixture(scope="module", params=BACKENDS)
def live(request, tmp_path_factory):
    if request.param == "postgresql":
        settings = Settings(database_url=postgres_database("ops_path"), seed=11, seed_demo=False)
    else:
        settings = Settings(db=str(tmp_path_factory.mktemp("ops_path") / "enkash_sandbox.db"), seed=11, seed_demo=False)
    with LiveSandbox(settings) as sandbox:
        yield sandbox


@pytest.fixture
def surfaces(live):
    s = Surfaces(live.url)
    yield s
    s.close()


def state(url: str, creds: dict) -> tuple[list[str], object]:
    """What a restore must bring back: the tenants, and the balance of one account."""
    partners = sorted(p["partnerId"] for p in httpx.get(f"{url}/_sandbox/partners").json())
    with EnKashClient.from_credentials(url, creds, encrypt=False) as c:  # a fresh login: a restore drops later tokens
        balance = c.card_account(creds["companyId"], creds["cardAccounts"]["GIFT"])["availableBalance"]
    return partners, balance


def test_a_snapshot_taken_through_any_surface_is_restored_through_any_other(live, surfaces):
    creds = live.provision(encryption="off", fundBalance="1000")
    before = state(live.url, creds)
    for surface in SURFACES:
        outcome = surfaces.take(surface, f"via-{surface}")
        assert outcome.ok, (surface, outcome.message)
    assert {"via-api", "via-dashboard", "via-cli"} <= set(surfaces.snapshot_names())
    cli_list = surfaces._cli("snapshots")
    assert cli_list.ok and {"via-api", "via-dashboard", "via-cli"} <= {
        line.split("\t")[0] for line in cli_list.message.splitlines()
    }

    # each snapshot restored through another surface than the one that took it
    for taken, restorer in (("api", "dashboard"), ("dashboard", "cli"), ("cli", "api")):
        live.provision()  # the state moves on: another tenant, and money into this one's account
        assert httpx.post(
            f"{live.url}/_sandbox/card-accounts/{creds['cardAccounts']['GIFT']}/fund", json={"amount": "25"}
        ).is_success
        assert state(live.url, creds) != before
        outcome = surfaces.restore(restorer, f"via-{taken}")
        assert outcome.ok, (taken, restorer, outcome.message)
        assert state(live.url, creds) == before, (taken, restorer)


def expected_refusal(name: str) -> str:
    """The reason the shared spec gives, without the field name each surface prefixes differently."""
    with pytest.raises(OpsError) as caught:
        parse(SnapshotSpec, {"name": name})
    return caught.value.message.removeprefix("name: ")


@pytest.mark.parametrize("name", ["__baseline-11", "bad name", "dots/../up", "x" * 65])
def test_every_surface_refuses_the_same_bad_snapshot_name_for_the_same_reason(surfaces, name):
    reason = expected_refusal(name)
    before = surfaces.snapshot_names()
    for surface in SURFACES:
        outcome = surfaces.take(surface, name)
        assert not outcome.ok, (surface, outcome.message)
        assert reason in outcome.message, (surface, reason, outcome.message)
        if surface != "dashboard":  # the dashboard shows the reason; the API and the CLI also give the status
            assert "HTTP 422" in outcome.message, (surface, outcome.message)
    assert surfaces.snapshot_names() == before


@pytest.mark.parametrize(
    "name, status, reason",
    [
        ("never-taken", 404, "no snapshot named never-taken"),
        # the reset baseline is not a snapshot anyone may restore by name
        ("__baseline-11", 422, "names starting with '__' are reserved for the sandbox's own reset baseline"),
    ],
)
def test_every_surface_refuses_the_same_bad_restore(live, surfaces, name, status, reason):
    creds = live.provision(encryption="off")
    before = state(live.url, creds)
    for surface in SURFACES:
        outcome = surfaces.restore(surface, name)
        assert not outcome.ok, (surface, outcome.message)
        assert reason in outcome.message, (surface, outcome.message)
        if surface != "dashboard":
            assert f"HTTP {status}" in outcome.message, (surface, outcome.message)
    assert state(live.url, creds) == before  # nothing was restored
