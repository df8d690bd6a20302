"""A hostile-input corpus: every input a hostile tester found answering 500 (or doing harm) before, and more.

Each case is sent the way a caller would and must get a 4xx in the sandbox's shape and change nothing: the
audit's counts, the tenants, the fault rules, the clock and the snapshots are compared before and after.
"""

from __future__ import annotations

import json

import httpx
import pytest
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox

from tests.conftest import token_for

CARD = "/api/v0/partner/enKashCard"
HUGE = "1" * 27
HUGE_NUMBER = int(HUGE)
BIG_OFFSET = 2**63
BAD_DATES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]


@pytest.fixture
def world(sandbox, tenant, http):
    """An encryption-off tenant (plain bodies: the corpus is about values, not envelopes) with one card."""
    http.put(f"/_sandbox/partners/{tenant['partnerId']}/encryption", json={"encryption": "off"})
    token = token_for(http, tenant)
    headers = {"Authorization": f"Bearer {token}", "partnerId": tenant["partnerId"]}
    ref = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["RELOADABLE_GPR"]}
    rewards = {"companyId": tenant["companyId"], "cardAccountId": tenant["cardAccounts"]["EMPLOYEE_REWARDS"]}
    card = http.post(CARD, json={**ref, "mobile": "9812300001", "firstName": "Corpus", "loadAmount": 10}, headers=headers).json()[
        "payload"
    ]
    return {"http": http, "headers": headers, "ref": ref, "rewards": rewards, "card": card["enKashCardId"], "tenant": tenant}


def vendor_cases(w) -> list[tuple[str, str, str, dict | None, object]]:
    ref, rewards, card = w["ref"], w["rewards"], w["card"]
    alloc = {**rewards, "transactionType": "CR", "type": "ALLOCATE_POINT", "mobile": "9812300002", "firstName": "H"}
    load = {**ref, "enKashCardId": card, "transactionType": "CR"}
    txns = dict(ref)
    cases: list[tuple[str, str, str, dict | None, object]] = []
    for name, value in (("string", HUGE), ("number", HUGE_NUMBER)):
        cases += [
            (
                f"allocate loadAmount 27 digits ({name})",
                "POST",
                f"{CARD}/create-allocate-points",
                None,
                {**alloc, "loadAmount": value, "uniqueReferenceNumber": "H1"},
            ),
            (f"load amount 27 digits ({name})", "POST", f"{CARD}/balance", None, {**load, "amount": value}),
            (
                f"velocity dtd 27 digits ({name})",
                "POST",
                f"{CARD}/velocity/rule",
                None,
                {**ref, "enKashCardIds": [card], "dtd": value},
            ),
            (
                f"transaction amountFrom 27 digits ({name})",
                "POST",
                f"{CARD}/transaction/all",
                None,
                {**txns, "amountFrom": value},
            ),
            (f"transaction amountTo 27 digits ({name})", "POST", f"{CARD}/transaction/all", None, {**txns, "amountTo": value}),
            (
                f"create card loadAmount 27 digits ({name})",
                "POST",
                CARD,
                None,
                {**ref, "mobile": "9812300003", "loadAmount": value},
            ),
        ]
    cases += [
        ("velocity dtdCount 1e30", "POST", f"{CARD}/velocity/rule", None, {**ref, "enKashCardIds": [card], "dtdCount": 1e30}),
        (
            "velocity limit as {present, value: 1e400}",
            "POST",
            f"{CARD}/velocity/rule",
            None,
            {**ref, "enKashCardIds": [card], "perTxnLimit": {"present": True, "value": HUGE_NUMBER}},
        ),
        ("card search offset 2^63", "POST", f"{CARD}/search", None, {**ref, "offset": BIG_OFFSET}),
        ("transaction offset 2^63", "POST", f"{CARD}/transaction/all", None, {**txns, "offset": BIG_OFFSET}),
        ("transaction limit 2^63", "POST", f"{CARD}/transaction/all", None, {**txns, "limit": BIG_OFFSET}),
        ("search-order ?offset=2^63", "POST", f"/api/v0/partner/search-order?offset={BIG_OFFSET}", None, {}),
        ("search-order ?limit=²", "POST", "/api/v0/partner/search-order?limit=%C2%B2", None, {}),
        ("search-order ?limit=٣ (Arabic-Indic digit)", "POST", "/api/v0/partner/search-order?limit=%D9%A3", None, {}),
        (
            "update cart id 2^63",
            "PATCH",
            "/api/v0/cart?product=VOUCHER",
            "holder",
            {"cartId": BIG_OFFSET, "items": {"PCN1": {"quantity": 1}}},
        ),
        (
            "coin amount 27 digits",
            "POST",
            "/api/v0/enkash-coins/create-coins-config",
            None,
            {"companyId": ref["companyId"], "event": "HUGE_EVENT", "configuration": "DEFAULT", "amount": HUGE_NUMBER},
        ),
        (
            "order quantity 2^63",
            "POST",
            "/api/v0/partner/create-order",
            "holder",
            {"denomination": 100, "orderReferenceId": "Q-BIG", "productCatalogId": "PC1", "quantity": BIG_OFFSET},
        ),
    ]
    for date in BAD_DATES:
        cases += [
            (f"txnDateFrom {date}", "POST", f"{CARD}/transaction/all", None, {**txns, "txnDateFrom": date}),
            (f"txnDateTo {date}", "POST", f"{CARD}/transaction/all", None, {**txns, "txnDateTo": date}),
            (f"search-order createdOnFrom {date}", "POST", "/api/v0/partner/search-order", None, {"createdOnFrom": date}),
        ]
    return cases


def control_cases() -> list[tuple[str, str, str, object]]:
    long_name = "x" * 300
    cases = [
        ("snapshot name of 300 characters", "POST", "/snapshots", {"name": long_name}),
        ("restore a 300-character name", "POST", f"/snapshots/{long_name}/restore", None),
        ("delete a 300-character name", "DELETE", f"/snapshots/{long_name}", None),
        ("take the reserved baseline name", "POST", "/snapshots", {"name": "__baseline__-42"}),
        ("delete the reserved baseline", "DELETE", "/snapshots/__baseline__-7", None),
        ("restore the reserved baseline by name", "POST", "/snapshots/__baseline__-7/restore", None),
        ("clock advance -1e12 s", "POST", "/clock", {"action": "advance", "seconds": -1e12}),
        ("clock advance 1e12 s", "POST", "/clock", {"action": "advance", "seconds": 1e12}),
        ("clock advance 50 years back", "POST", "/clock", {"action": "advance", "seconds": -50 * 366 * 86400}),
        ("clock set 9999-12-31", "POST", "/clock", {"action": "set", "at": "9999-12-31T00:00:00Z"}),
        ("clock set 0001-01-01+14:00", "POST", "/clock", {"action": "set", "at": BAD_DATES[0]}),
        ("clock freeze at 9999-12-31", "POST", "/clock", {"action": "freeze", "at": "9999-12-31T23:59:59-12:00"}),
        ("clock advance NaN", "POST", "/clock", '{"action": "advance", "seconds": NaN}'),
        ("clock advance Infinity", "POST", "/clock", '{"action": "advance", "seconds": Infinity}'),
        ("fund NaN", "POST", "/card-accounts/{account}/fund", '{"amount": NaN}'),
        ("fund Infinity", "POST", "/card-accounts/{account}/fund", '{"amount": Infinity}'),
        ("fund 27 digits", "POST", "/card-accounts/{account}/fund", {"amount": HUGE}),
        ("fund 3 decimals", "POST", "/card-accounts/{account}/fund", {"amount": "1.005"}),
        ("provision fundBalance NaN", "POST", "/partners", '{"fundBalance": NaN}'),
        ("provision fundBalance -1", "POST", "/partners", {"fundBalance": -1}),
        ("fault latency 1e308", "POST", "/faults", {"action": {"type": "latency", "latencyMs": 1e308}}),
        ("fault latency Infinity", "POST", "/faults", '{"action": {"type": "latency", "latencyMs": Infinity}}'),
        ("fault latency NaN", "POST", "/faults", '{"action": {"type": "latency", "latencyMs": NaN}}'),
        ("fault latency range past the cap", "POST", "/faults", {"action": {"type": "latency", "latencyMs": [1, 500_000]}}),
        ("fault status 0", "POST", "/faults", {"action": {"type": "status", "status": 0}}),
        ("fault status 99", "POST", "/faults", {"action": {"type": "status", "status": 99}}),
        ("fault status 1000", "POST", "/faults", {"action": {"type": "status", "status": 1000}}),
        ("fault type foo", "POST", "/faults", {"action": {"type": "foo"}}),
        ("fault times -5", "POST", "/faults", {"action": {"type": "drop"}, "times": -5}),
        ("fault probability NaN", "POST", "/faults", '{"action": {"type": "drop"}, "probability": NaN}'),
        ("fault probability 2", "POST", "/faults", {"action": {"type": "drop"}, "probability": 2}),
        ("fault rule with no action", "POST", "/faults", {"path": "*"}),
        ("otp inbox with an empty mobile", "GET", "/otps?mobile=", None),
        ("journal status 0", "GET", "/requests?status=0", None),
        ("restore seed 2^63", "POST", "/reset", {"seed": 2**63}),
    ]
    return cases


def fingerprint(sandbox, http, tenant) -> dict:
    audit = sandbox.container.audit.run(tenant["partnerId"])
    assert audit["ok"], audit
    clock = http.get("/_sandbox/clock").json()
    return {
        "audit": audit["checked"],
        "partners": len(http.get("/_sandbox/partners").json()),
        "faults": http.get("/_sandbox/faults").json(),
        "snapshots": http.get("/_sandbox/snapshots").json(),
        "clock": (clock["frozen"], round(clock["offset_seconds"])),
    }


def holder_headers(w) -> dict:
    http, tenant = w["http"], w["tenant"]
    creds = dict(tenant, username="9812300001", password="Holder@1234")
    return {"Authorization": f"Bearer {token_for(http, creds)}"}


def test_hostile_vendor_inputs_get_4xx_and_change_nothing(sandbox, world):
    http = world["http"]
    before = fingerprint(sandbox, http, world["tenant"])
    failures = []
    holder = holder_headers(world)
    for name, method, path, auth, body in vendor_cases(world):
        headers = holder if auth == "holder" else world["headers"]
        r = http.request(method, path, content=json.dumps(body).encode(), headers={**headers, "Content-Type": "application/json"})
        ok_shape = r.headers.get("content-type", "").startswith("application/json") and (
            r.json().get("response_code") == 1 or "error" in r.json()
        )
        if not (400 <= r.status_code < 500 and ok_shape):
            failures.append((name, r.status_code, r.text[:200]))
    assert failures == []
    # a bulk call answers row by row: the bad row fails with its 422 inside a 200, and nothing moves
    rewards = world["rewards"]
    r = http.post(
        f"{CARD}/bulk-create-allocate-points-json",
        params={**rewards, "isPointsAllocation": "true"},
        json=[
            {
                "title": "Mr",
                "name": "A B",
                "email": "a@b.co",
                "mobile": "9812300004",
                "loadAmount": HUGE,
                "uniqueReferenceNumber": "BULK-H",
            }
        ],
        headers=world["headers"],
    )
    failed = r.json()["payload"]["failedBulkEnKashCardCreateDTOs"]
    assert r.status_code == 200 and [f["httpStatus"] for f in failed] == [422], r.text
    assert fingerprint(sandbox, http, world["tenant"]) == before


def test_hostile_control_inputs_get_4xx_and_change_nothing(sandbox, world):
    http = world["http"]
    account = world["tenant"]["cardAccounts"]["GIFT"]
    before = fingerprint(sandbox, http, world["tenant"])
    failures = []
    for name, method, path, body in control_cases():
        path = "/_sandbox" + path.replace("{account}", account)
        content = body if isinstance(body, str) else (json.dumps(body) if body is not None else None)
        r = http.request(method, path, content=content, headers={"Content-Type": "application/json"})
        if not (400 <= r.status_code < 500 and "error" in r.json()):
            failures.append((name, r.status_code, r.text[:200]))
    assert failures == []
    after = fingerprint(sandbox, http, world["tenant"])
    assert after == before


def test_restoring_a_damaged_or_foreign_snapshot_file_is_refused(tmp_path):
    """SQLite keeps snapshots as files (PostgreSQL keeps them in the store, where none can be damaged)."""
    with LiveSandbox(Settings(db=str(tmp_path / "s.db"), seed=5)) as live, httpx.Client(base_url=live.url, timeout=30) as http:
        tenant = live.provision()
        folder = live.container.state.folder
        folder.mkdir(parents=True, exist_ok=True)
        for content in (b"", b"not a database at all, just text", b"SQLite format 3\x00" + b"\x00" * 84):
            (folder / "damaged.db").write_bytes(content)
            before = fingerprint(live, http, tenant)
            r = http.post("/_sandbox/snapshots/damaged/restore")
            assert r.status_code == 422 and "snapshot damaged" in r.json()["error"], r.text
            assert fingerprint(live, http, tenant) == before
        # a sound snapshot of this store taken under another seed is refused unless the restore says so
        assert http.post("/_sandbox/snapshots", json={"name": "seed-five"}).status_code == 201
        assert http.post("/_sandbox/reset", json={"seed": 11}).json()["seed"] == 11
        refused = http.post("/_sandbox/snapshots/seed-five/restore")
        assert refused.status_code == 409 and "adoptSeed" in refused.json()["error"]
        assert http.get("/_sandbox/health").json()["seed"] == 11
        adopted = http.post("/_sandbox/snapshots/seed-five/restore", json={"adoptSeed": True})
        assert adopted.status_code == 200 and adopted.json()["seed"] == 5
        assert http.get("/_sandbox/health").json()["seed"] == 5


def test_the_dashboard_cannot_touch_the_reset_baseline(sandbox, http):
    page = http.get("/_sandbox/ui/snapshots").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    baseline = f"__baseline__-{http.get('/_sandbox/health').json()['seed']}"
    for path, data in (
        ("/_sandbox/ui/snapshots", {"name": baseline}),
        (f"/_sandbox/ui/snapshots/{baseline}/delete", {}),
        (f"/_sandbox/ui/snapshots/{baseline}/restore", {}),
    ):
        r = http.post(path, data={**data, "csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303 and "error=" in r.headers["location"], (path, r.headers.get("location"))
    assert sandbox.container.state.exists(baseline)  # still there for the next reset


def test_the_dashboard_stores_no_fault_rule_the_api_would_refuse(sandbox, http, tenant):
    page = http.get("/_sandbox/ui/faults").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    before = http.get("/_sandbox/faults").json()
    for form in (
        {},
        {"type": "foo"},
        {"type": "status", "status": "0"},
        {"type": "status", "status": "1000"},
        {"type": "drop", "times": "-5"},
        {"type": "drop", "probability": "nan"},
        {"type": "latency", "latencyMs": "1e308"},
        {"type": "status"},
    ):
        r = http.post("/_sandbox/ui/faults", data={**form, "csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303 and "error=" in r.headers["location"], (form, r.headers.get("location"))
    assert http.get("/_sandbox/faults").json() == before
    assert http.get("/_sandbox/ui/faults").status_code == 200


def test_money_never_passes_through_a_float(sandbox, http):
    account = http.post("/_sandbox/partners", json={"fundBalance": 0}).json()["cardAccounts"]["GIFT"]
    for _ in range(100):
        http.post(f"/_sandbox/card-accounts/{account}/fund", json={"amount": "1000000000000"})
    last = http.post(f"/_sandbox/card-accounts/{account}/fund", json={"amount": "0.01"})
    assert last.status_code == 200
    assert b'"availableBalance":100000000000000.01' in last.content, last.content


def test_a_clock_that_cannot_be_set_is_not_set(sandbox, http):
    r = http.post("/_sandbox/clock", json={"action": "advance", "seconds": -1e12})
    assert r.status_code == 422
    assert abs(http.get("/_sandbox/clock").json()["offset_seconds"]) < 1
    assert httpx.post(f"{sandbox.url}/_sandbox/partners").status_code == 201  # and everything still answers
