"""Reset, tenant reset and snapshots: complete, fast, and scoped as promised."""

import httpx
import pytest
from enkash_sandbox.client import EnKashClient
from enkash_sandbox.config import Settings
from enkash_sandbox.store.snapshots import tenant_tables
from enkash_sandbox.testing.live import LiveSandbox
from sqlmodel import Field, SQLModel, select

GLOBAL_TABLES = {"meta", "id_sequence", "partner", "control_state", "snapshot_blob", "store_secret"}


@pytest.fixture
def fresh(tmp_path):
    with LiveSandbox(Settings(db=str(tmp_path / "s.db"), seed=3)) as live:
        yield live


def test_every_table_is_tenant_scoped_or_declared_global():
    """Tenant reset finds a tenant's rows by partner_id: a new table without it would silently leak."""
    scoped = {t.name for t in SQLModel.metadata.sorted_tables if "partner_id" in t.c}
    assert set(t.name for t in SQLModel.metadata.sorted_tables) - scoped == GLOBAL_TABLES
    assert {"card", "transaction", "ledger_entry", "voucher", "cart_line"} <= {t.name for t in tenant_tables()}


def test_full_reset_returns_to_the_seeded_state(fresh):
    demo = fresh.container.demo_credentials()
    tenant = fresh.provision()
    with EnKashClient.from_credentials(fresh.url, demo) as c:
        ref = {"companyId": demo["companyId"], "cardAccountId": demo["cardAccounts"]["RELOADABLE_GPR"]}
        before = c.card_account(*ref.values())
        c.create_card(**ref, mobile="9123000001", firstName="Temp", loadAmount=100)
    r = httpx.post(f"{fresh.url}/_sandbox/reset")
    assert r.status_code == 200 and r.json()["seed"] == 3
    partners = [p["partnerId"] for p in httpx.get(f"{fresh.url}/_sandbox/partners").json()]
    assert partners == [demo["partnerId"]] and tenant["partnerId"] not in partners
    with EnKashClient.from_credentials(fresh.url, demo) as c:
        assert c.card_account(*ref.values()) == before
    again = fresh.provision()
    assert again["partnerId"] == tenant["partnerId"]  # same seed, same ids


def test_reset_with_another_seed_changes_ids_and_data(fresh):
    first = fresh.container.demo_credentials()
    httpx.post(f"{fresh.url}/_sandbox/reset", json={"seed": 11})
    second = httpx.get(f"{fresh.url}/_sandbox/demo").json()
    assert second["cardAccounts"] != first["cardAccounts"]
    assert second["partnerId"] == first["partnerId"]  # pinned by the fixture
    httpx.post(f"{fresh.url}/_sandbox/reset", json={"seed": 3})
    assert httpx.get(f"{fresh.url}/_sandbox/demo").json()["cardAccounts"] == first["cardAccounts"]


def test_a_new_table_is_covered_without_being_listed(fresh):
    class ScratchThing(SQLModel, table=True):
        __tablename__ = "scratch_thing_for_test"
        id: int | None = Field(default=None, primary_key=True)
        partner_id: str
        note: str

    try:
        fresh.container.db.create_all()
        with fresh.container.db.write() as s:
            s.add(ScratchThing(partner_id="CRX", note="left behind"))
        httpx.post(f"{fresh.url}/_sandbox/reset")
        with fresh.container.db.read() as s:
            assert s.exec(select(ScratchThing)).all() == []
    finally:
        SQLModel.metadata.remove(ScratchThing.__table__)


def test_tenant_reset_leaves_other_tenants_alone_and_keeps_sessions(fresh):
    a, b = fresh.provision(), fresh.provision()
    ref_a = {"companyId": a["companyId"], "cardAccountId": a["cardAccounts"]["RELOADABLE_GPR"]}
    ref_b = {"companyId": b["companyId"], "cardAccountId": b["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(fresh.url, a) as ca, EnKashClient.from_credentials(fresh.url, b) as cb:
        ca.create_card(**ref_a, mobile="9200000001", firstName="A", loadAmount=500)
        cb.create_card(**ref_b, mobile="9200000002", firstName="B", loadAmount=700)
        r = httpx.post(f"{fresh.url}/_sandbox/partners/{a['partnerId']}/reset")
        assert r.status_code == 200
        assert ca.card_account(*ref_a.values())["availableBalance"] == 100000  # same token still works
        assert ca.search_cards(*ref_a.values())["recordsCount"] == 1  # only the admin card is left
        assert cb.card_account(*ref_b.values())["availableBalance"] == 99300
        assert cb.search_cards(*ref_b.values())["recordsCount"] == 2
        assert ca.create_card(**ref_a, mobile="9200000001", firstName="A again", loadAmount=1)["otbBalance"] == 1
    assert httpx.post(f"{fresh.url}/_sandbox/partners/CRNOPE123/reset").status_code == 404


def test_snapshots_capture_and_restore_the_whole_state(fresh):
    demo = fresh.container.demo_credentials()
    ref = {"companyId": demo["companyId"], "cardAccountId": demo["cardAccounts"]["EMPLOYEE_REWARDS"]}
    http = httpx.Client(base_url=f"{fresh.url}/_sandbox")
    with EnKashClient.from_credentials(fresh.url, demo) as c:
        c.allocate_points(*ref.values(), amount=250, reference="SNAP-1", mobile="9300000001", firstName="Snap")
        prepared = c.card_account(*ref.values())
        assert http.post("/snapshots", json={"name": "demo-ready"}).status_code == 201
        c.allocate_points(*ref.values(), amount=50, reference="SNAP-2", mobile="9300000002", firstName="Later")
        assert http.post("/snapshots/demo-ready/restore").status_code == 200
        assert c.card_account(*ref.values()) == prepared
    names = [s["name"] for s in http.get("/snapshots").json()]
    assert names == ["demo-ready"]
    assert http.post("/snapshots", json={"name": "../etc"}).status_code == 422
    assert http.post("/snapshots/nope/restore").status_code == 404
    assert http.delete("/snapshots/demo-ready").status_code == 200
    assert http.get("/snapshots").json() == []


def test_memory_store_snapshots_and_reset(tmp_path):
    with LiveSandbox(Settings(db=":memory:", seed=5)) as live:
        http = httpx.Client(base_url=f"{live.url}/_sandbox")
        live.provision()
        assert http.post("/snapshots", json={"name": "two-tenants"}).status_code == 201
        assert http.post("/reset").status_code == 200
        assert len(http.get("/partners").json()) == 1
        http.post("/snapshots/two-tenants/restore")
        assert len(http.get("/partners").json()) == 2
