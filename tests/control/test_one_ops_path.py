"""One ops action, three surfaces: the JSON control plane (/_sandbox/...), the dashboard's form (with its CSRF
token) and the `enkash-sandbox` CLI against a live server. They must have the same effect and refuse the same
bad input with the same reason, because all three go through the same spec and the same `ops` call
(ops/actions.py): snapshots (take and restore), funding, the clock, fault rules, tenants and the journal."""

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
from enkash_sandbox.ops.actions import ClockSpec, FaultRuleSpec, OpsError, ProvisionSpec, SnapshotSpec, parse
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
    def _form(self, url_path: str, **fields) -> Outcome:
        response = self.http.post(f"/_sandbox/ui{url_path}", data={**fields, "csrf": self.csrf}, follow_redirects=False)
        assert response.status_code == 303, (url_path, response.status_code, response.text[:300])
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


# -- every other control action, through the three surfaces ----------------------------------------------------
def cli_json(outcome: Outcome) -> object:
    import json

    assert outcome.ok, outcome.message
    return json.loads(outcome.message)


def spec_refusal(spec, body: dict) -> str:
    """The reason the shared spec gives for a body, without the field path each surface prefixes differently."""
    with pytest.raises(OpsError) as caught:
        parse(spec, body)
    return caught.value.message.split(": ", 1)[1] if ": " in caught.value.message else caught.value.message


def test_funding_through_every_surface_adds_up_and_refuses_alike(live, surfaces):
    from enkash_sandbox.ops.actions import FundSpec

    creds = live.provision(encryption="off", fundBalance="1000")
    account = creds["cardAccounts"]["GIFT"]

    def balance() -> str:
        with EnKashClient.from_credentials(live.url, creds, encrypt=False) as c:
            return str(c.card_account(creds["companyId"], account)["availableBalance"])

    api = surfaces._api(surfaces.http.post(f"/_sandbox/card-accounts/{account}/fund", json={"amount": "10.25"}), 200)
    dashboard = surfaces._form(f"/accounts/{account}/fund", amount="10.25")
    cli = surfaces._cli("fund", account, "10.25")
    assert api.ok and dashboard.ok and cli.ok, (api, dashboard, cli)
    assert balance() == "1030.75"
    reason = spec_refusal(FundSpec, {"amount": "0"})
    for outcome in (
        surfaces._api(surfaces.http.post(f"/_sandbox/card-accounts/{account}/fund", json={"amount": "0"}), 200),
        surfaces._form(f"/accounts/{account}/fund", amount="0"),
        surfaces._cli("fund", account, "0"),
    ):
        assert not outcome.ok and reason in outcome.message, (reason, outcome.message)
    assert balance() == "1030.75"


def test_the_clock_through_every_surface(live, surfaces):
    surfaces.http.post("/_sandbox/clock", json={"action": "reset"})
    try:
        assert surfaces._api(surfaces.http.post("/_sandbox/clock", json={"action": "advance", "seconds": 3600}), 200).ok
        assert surfaces._form("/clock", action="advance", seconds="3600").ok
        assert cli_json(surfaces._cli("clock", "advance", "--seconds", "3600"))["offset_seconds"] == 3 * 3600
        shown = cli_json(surfaces._cli("clock"))
        assert shown == surfaces.http.get("/_sandbox/clock").json() | {"now": shown["now"]}
        reason = spec_refusal(ClockSpec, {"action": "advance"})
        for outcome in (
            surfaces._api(surfaces.http.post("/_sandbox/clock", json={"action": "advance"}), 200),
            surfaces._form("/clock", action="advance"),
            surfaces._cli("clock", "advance"),
        ):
            assert not outcome.ok and reason in outcome.message, (reason, outcome.message)
        assert surfaces.http.get("/_sandbox/clock").json()["offset_seconds"] == 3 * 3600
        assert surfaces._form("/clock", action="freeze", at="2030-01-02T03:04:05Z").ok
        assert surfaces.http.get("/_sandbox/clock").json()["now"].startswith("2030-01-02T03:04:05")
    finally:
        surfaces.http.post("/_sandbox/clock", json={"action": "reset"})


def test_fault_rules_through_every_surface_are_the_same_rule(live, surfaces):
    surfaces.http.delete("/_sandbox/faults")
    assert surfaces._api(
        surfaces.http.post("/_sandbox/faults", json={"path": "/x/api", "action": {"type": "status", "status": 503}}), 201
    ).ok
    assert surfaces._form("/faults", path="/x/dashboard", type="status", status="503").ok
    assert surfaces._cli("faults", "add", "--path", "/x/cli", "--type", "status", "--status", "503").ok
    rules = surfaces.http.get("/_sandbox/faults").json()
    assert sorted(r["path"] for r in rules) == ["/x/api", "/x/cli", "/x/dashboard"]
    assert {(r["action"]["type"], r["action"]["status"]) for r in rules} == {("status", 503)}
    listed = surfaces._cli("faults", "list")
    assert listed.ok and len(listed.message.splitlines()) == 3
    reason = spec_refusal(FaultRuleSpec, {"action": {"type": "status"}})
    for outcome in (
        surfaces._api(surfaces.http.post("/_sandbox/faults", json={"action": {"type": "status"}}), 201),
        surfaces._form("/faults", type="status"),
        surfaces._cli("faults", "add", "--type", "status"),
    ):
        assert not outcome.ok and reason in outcome.message, (reason, outcome.message)
    assert len(surfaces.http.get("/_sandbox/faults").json()) == 3
    assert surfaces._cli("faults", "delete", rules[0]["id"]).ok
    assert surfaces._form(f"/faults/{rules[1]['id']}/delete").ok
    assert surfaces._cli("faults", "clear").ok
    assert surfaces.http.get("/_sandbox/faults").json() == []


def test_tenants_through_every_surface(live, surfaces):
    before = {p["partnerId"] for p in surfaces.http.get("/_sandbox/partners").json()}
    made = [
        surfaces._api(surfaces.http.post("/_sandbox/partners", json={"companyName": "Via Api"}), 201),
        surfaces._form("/partners", companyName="Via Dashboard", fundBalance="500"),
        surfaces._cli("provision", "--company-name", "Via Cli"),
    ]
    assert all(o.ok for o in made), made
    listed = surfaces._cli("partners")
    names = {line.split("\t")[3] for line in listed.message.splitlines()}
    assert {"Via Api", "Via Dashboard", "Via Cli"} <= names
    reason = spec_refusal(ProvisionSpec, {"encryption": "sometimes"})
    for outcome in (
        surfaces._api(surfaces.http.post("/_sandbox/partners", json={"encryption": "sometimes"}), 201),
        surfaces._form("/partners", encryption="sometimes"),
        surfaces._cli("provision", "--encryption", "sometimes"),
    ):
        assert not outcome.ok and reason in outcome.message, (reason, outcome.message)
    after = {p["partnerId"] for p in surfaces.http.get("/_sandbox/partners").json()}
    assert len(after - before) == 3


def test_the_journal_is_cleared_through_every_surface(live, surfaces):
    creds = live.provision(encryption="off")
    for clear in (
        lambda: surfaces._api(surfaces.http.delete("/_sandbox/requests"), 200),
        lambda: surfaces._form("/journal/clear"),
        lambda: surfaces._cli("journal", "--clear"),
    ):
        with EnKashClient.from_credentials(live.url, creds, encrypt=False) as c:
            c.card_account(creds["companyId"], creds["cardAccounts"]["GIFT"])
        assert surfaces.http.get("/_sandbox/requests").json()
        assert clear().ok
        assert surfaces.http.get("/_sandbox/requests").json() == []


def test_a_tenants_fidelity_profile_through_every_surface(live, surfaces):
    creds = live.provision(encryption="off", profile={"tokenTtlSeconds": 300})
    pid = creds["partnerId"]
    assert creds["profile"]["tokenTtlSeconds"] == 300

    def effective() -> dict:
        return surfaces.http.get(f"/_sandbox/partners/{pid}/profile").json()

    assert effective()["overrides"] == ["tokenTtlSeconds"]
    api = surfaces._api(surfaces.http.patch(f"/_sandbox/partners/{pid}/profile", json={"searchById": "card"}), 200)
    assert api.ok and effective()["profile"]["searchById"] == "card"
    # the dashboard form carries every key: empty = back to the default
    assert surfaces._form(f"/partners/{pid}/profile", otpResponse="object").ok
    now = effective()
    assert now["overrides"] == ["otpResponse"] and now["profile"]["searchById"] == now["defaults"]["searchById"]
    cli = surfaces._cli("profile", pid, "--set", "balanceDebit=allow", "--set", "otpResponse=")
    assert cli.ok and "balanceDebit          allow  (set for this tenant)" in cli.message
    assert effective()["overrides"] == ["balanceDebit"]
    shown = surfaces._cli("profile", pid)
    assert shown.ok and "searchById            list" in shown.message
    # the same refusal, for the same reason, everywhere; nothing changes
    reason = "searchById: Input should be 'list' or 'card' (one of list, card)"
    for outcome in (
        surfaces._api(surfaces.http.patch(f"/_sandbox/partners/{pid}/profile", json={"searchById": "bogus"}), 200),
        surfaces._form(f"/partners/{pid}/profile", searchById="bogus"),
        surfaces._cli("profile", pid, "--set", "searchById=bogus"),
        surfaces._api(surfaces.http.post("/_sandbox/partners", json={"profile": {"searchById": "bogus"}}), 201),
    ):
        assert not outcome.ok and reason in outcome.message, outcome.message
    unknown = surfaces._api(surfaces.http.patch(f"/_sandbox/partners/{pid}/profile", json={"nope": 1}), 200)
    assert not unknown.ok and "unknown profile key(s) nope" in unknown.message
    assert effective()["overrides"] == ["balanceDebit"]
    missing = surfaces._api(surfaces.http.get("/_sandbox/partners/CRNOPE0000/profile"), 200)
    assert not missing.ok and "HTTP 404" in missing.message
    # the page shows it
    page = surfaces.http.get(f"/_sandbox/ui/partners/{pid}")
    assert page.status_code == 200 and 'data-key="balanceDebit">allow<' in page.text
