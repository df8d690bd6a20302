"""Races on the scale-out path: two worker processes on one store, SQLite and PostgreSQL.

Every test checks the store against the test's own independent sums (what the client was told succeeded),
runs several trials, and ends with a clean audit. Each failure it guards against was seen before the fix:
orders settled twice, money stranded on replaced cards, two live cards for one holder, lost cart updates,
per-worker fault counters, clocks and snapshots.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
from enkash_sandbox.client import EnKashBusinessError, EnKashClient, EnKashHTTPError

from tests.integrity.conftest import TRIALS, report

CARD = "/api/v0/partner/enKashCard"
HOLDER_PASSWORD = "Holder@1234"


def rewards_ref(creds: dict) -> tuple[str, str]:
    return creds["companyId"], creds["cardAccounts"]["EMPLOYEE_REWARDS"]


def gpr_ref(creds: dict) -> tuple[str, str]:
    return creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"]


def a_voucher(server) -> tuple[str, Decimal]:
    for product in httpx.get(f"{server.url}/_sandbox/catalog").json():
        for denomination in product["denominations"]:
            if product["active"] and not denomination["customAmountEnabled"] and denomination["maxQuantity"] >= 1:
                return product["productCatalogId"], Decimal(str(denomination["mrp"]))
    raise AssertionError("no fixed-denomination voucher in the catalog")


def in_parallel(calls: list, workers: int = 16) -> list:
    """Run the calls together; each result is "ok", a business failure's message, or an HTTP status."""
    parties = min(workers, len(calls))
    barrier = threading.Barrier(parties)  # the first wave starts together; the rest follow as threads free up

    def one(indexed):
        index, call = indexed
        if index < parties:
            try:
                barrier.wait(timeout=10)
            except threading.BrokenBarrierError:
                pass
        try:
            call()
            return "ok"
        except EnKashBusinessError as exc:
            return exc.message
        except EnKashHTTPError as exc:
            return exc.status

    with ThreadPoolExecutor(parties) as pool:
        return list(pool.map(one, enumerate(calls)))


def clients(server, creds: dict, n: int, **login) -> list[EnKashClient]:
    made = [EnKashClient.from_credentials(server.url, {**creds, **login}) for _ in range(n)]
    for c in made:
        c.access_token()
    return made


def test_pending_orders_settle_exactly_once_whoever_asks(server):
    """orderDetails, search-order and the control plane all settle due orders; with 2 workers racing, each
    order must be settled once: one refund per failed order, its vouchers once per successful one."""
    catalog_id, denomination = a_voucher(server)
    total_orders = 0
    for trial in range(TRIALS):
        creds = server.provision(fundBalance=50_000)
        mobile = f"97{trial:02d}000001"
        with EnKashClient.from_credentials(server.url, creds) as partner:
            partner.allocate_points(*rewards_ref(creds), 20_000, reference=f"SEED-{trial}", mobile=mobile, firstName="Settle")
        holders = clients(server, creds, 8, username=mobile, password=HOLDER_PASSWORD)
        placed = []
        for i in range(12):
            outcome = "FAIL" if i % 2 else "OK"
            order = holders[0].create_order(catalog_id, denomination, 1, f"SBX-PENDING-{outcome}-{trial}-{i}")
            placed.append((order["orderId"], outcome, Decimal(str(order["totalAmount"]))))
        total_orders += len(placed)
        server.control("POST", "/clock", json={"action": "advance", "seconds": 600})
        try:
            calls = []
            for n, (reference, _, _) in enumerate(placed):
                for k in range(3):
                    calls.append(lambda c=holders[(n + k) % 8], r=reference: c.order_details(r))
                calls.append(lambda c=holders[n % 8]: c.search_orders(limit=50))
                calls.append(lambda: server.control("POST", "/orders/settle"))
            results = in_parallel(calls, workers=24)
            assert set(results) == {"ok"}, results
            spent = sum(cost for _, outcome, cost in placed if outcome == "OK")
            for reference, outcome, _ in placed:
                details = holders[0].order_details(reference)
                if outcome == "OK":
                    assert (details["orderStatus"], len(details["vouchers"])) == ("SUCCESS", 1), details
                else:
                    assert (details["orderStatus"], details["paymentStatus"], details["vouchers"]) == (
                        "FAILED",
                        "REFUNDED",
                        [],
                    ), details
            with EnKashClient.from_credentials(server.url, creds) as partner:
                card = partner.search_cards(*rewards_ref(creds))["data"][-1]
                assert Decimal(str(card["otbBalance"])) == Decimal(20_000) - spent
                refunds = [t for t in partner.transactions(*rewards_ref(creds))["data"] if t["type"] == "REFUND"]
                assert len(refunds) == len([p for p in placed if p[1] == "FAIL"])
            assert server.audit(creds["partnerId"])["discrepancies"] == []
        finally:
            server.control("POST", "/clock", json={"action": "reset"})
            for c in holders:
                c.close()
    report("settle-once", server, trials=TRIALS, detail=f"{total_orders} pending orders, 5 settling calls each")


def test_credits_racing_a_replacement_follow_the_holder(server):
    """Loads fired while the card is replaced: every load that was answered OK is on the live card, none is
    left on the replaced one (the replace sees credits committed before it; later ones are refused)."""
    for trial in range(TRIALS):
        creds = server.provision(fundBalance=100_000)
        ref = gpr_ref(creds)
        with EnKashClient.from_credentials(server.url, creds) as partner:
            old = partner.create_card(companyId=ref[0], cardAccountId=ref[1], mobile=f"96{trial:02d}000002", firstName="Swap")[
                "enKashCardId"
            ]
        pool = clients(server, creds, 12)
        calls = [
            lambda c=pool[i % 12], r=f"L-{trial}-{i}", card=old: c.load(*ref, card, 10, reference=r)  # noqa: B023
            for i in range(60)
        ]
        calls.insert(30, lambda c=pool[0], card=old: c.replace_card(card, otp_medium="MFA", mfaCode="123456"))
        results = in_parallel(calls, workers=24)
        replaced = results.pop(30)
        assert replaced == "ok", replaced
        loaded = results.count("ok")
        assert set(results) <= {"ok", f"Card {old} was replaced; use the replacement card"} | {
            r for r in results if isinstance(r, str) and r.startswith(f"Card {old} was replaced by")
        }, set(results)
        with EnKashClient.from_credentials(server.url, creds) as partner:
            cards = {c["enKashCardId"]: c for c in partner.search_cards(*ref)["data"]}
            assert cards[old]["otbBalance"] == 0 and cards[old]["blockCode"] == "BL"
            live = [c for c in cards.values() if c["mobile"] == f"96{trial:02d}000002" and c["enKashCardId"] != old]
            assert len(live) == 1, live
            assert Decimal(str(live[0]["otbBalance"])) == 10 * loaded
            assert Decimal(str(partner.card_account(*ref)["availableBalance"])) == 100_000 - 10 * loaded
        assert server.audit(creds["partnerId"])["discrepancies"] == []
        for c in pool:
            c.close()
    report("credits vs replace", server, trials=TRIALS, detail="60 loads and one replaceCard at once")


def test_loads_racing_for_an_account_funded_for_half_move_exactly_what_was_answered(server):
    """The load's write path (on PostgreSQL one statement for the account's debit, the card's credit and the
    transaction number, another for the transaction and its ledger rows): 60 loads of 10 over three cards of an
    account holding 300, six of them repeating an earlier reference. The account ends at 300 minus what was
    answered OK, each card holds its own OK loads, every OK load is its own transaction, and no reference
    moved money twice."""
    for trial in range(TRIALS):
        _loads_on_half_the_money(server, trial)
    report("loads on half the money", server, trials=TRIALS, detail="60 loads of 10 on 300, 3 cards, 6 repeats")


def _loads_on_half_the_money(server, trial: int) -> None:
    creds = server.provision(fundBalance=300)
    ref = gpr_ref(creds)
    with EnKashClient.from_credentials(server.url, creds) as partner:
        cards = [
            partner.create_card(companyId=ref[0], cardAccountId=ref[1], mobile=f"91{trial:02d}00000{n}", firstName="Half")[
                "enKashCardId"
            ]
            for n in range(3)
        ]
    pool = clients(server, creds, 12)
    references = [f"HALF-{trial}-{i if i < 54 else i - 54}" for i in range(60)]  # the last six repeat the first six
    answered: dict[int, str] = {}

    def load(i: int) -> None:
        answered[i] = pool[i % 12].load(*ref, cards[i % 3], 10, reference=references[i])["enkashCardTxnId"]

    results = in_parallel([lambda i=i: load(i) for i in range(60)], workers=24)
    assert {r for r in results if r != "ok"} <= {"Insufficient balance in card account"} | {
        r for r in results if isinstance(r, str) and r.startswith("Duplicate uniqueReferenceNumber")
    }, set(results)
    ok = [i for i, r in enumerate(results) if r == "ok"]
    assert len(ok) == len(answered) and len(set(answered.values())) == len(ok)  # one transaction each
    assert len({references[i] for i in ok}) == len(ok), "a reference moved money twice"
    with EnKashClient.from_credentials(server.url, creds) as partner:
        balances = {c["enKashCardId"]: Decimal(str(c["otbBalance"])) for c in partner.search_cards(*ref)["data"]}
        for n, card in enumerate(cards):
            assert balances[card] == 10 * sum(1 for i in ok if i % 3 == n), card
        assert Decimal(str(partner.card_account(*ref)["availableBalance"])) == 300 - 10 * len(ok) >= 0
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    for c in pool:
        c.close()


def test_concurrent_replacements_leave_one_live_card(server):
    for trial in range(TRIALS):
        creds = server.provision(fundBalance=1_000)
        ref = gpr_ref(creds)
        with EnKashClient.from_credentials(server.url, creds) as partner:
            old = partner.create_card(
                companyId=ref[0], cardAccountId=ref[1], mobile=f"95{trial:02d}000003", firstName="Twice", loadAmount=100
            )["enKashCardId"]
        pool = clients(server, creds, 6)
        results = in_parallel([lambda c=c, card=old: c.replace_card(card, otp_medium="MFA", mfaCode="123456") for c in pool])
        assert results.count("ok") == 1, results
        with EnKashClient.from_credentials(server.url, creds) as partner:
            mine = [c for c in partner.search_cards(*ref)["data"] if c["mobile"] == f"95{trial:02d}000003"]
            live = [c for c in mine if c["blockCode"] != "BL"]
            assert len(mine) == 2 and len(live) == 1 and live[0]["otbBalance"] == 100, mine
        assert server.audit(creds["partnerId"])["discrepancies"] == []
        for c in pool:
            c.close()
    report("replace x6", server, trials=TRIALS, detail="6 replaceCard calls on one card at once")


def test_a_refund_for_a_replaced_card_reaches_the_replacement(server):
    catalog_id, denomination = a_voucher(server)
    creds = server.provision(fundBalance=10_000)
    mobile = "9400000004"
    with EnKashClient.from_credentials(server.url, creds) as partner:
        first = partner.allocate_points(*rewards_ref(creds), 1_000, reference="R-1", mobile=mobile, firstName="Moved")[
            "enKashCardId"
        ]
        with partner.as_user(mobile, HOLDER_PASSWORD) as holder:
            order = holder.create_order(catalog_id, denomination, 1, "SBX-PENDING-FAIL-MOVED")
            cost = Decimal(str(order["totalAmount"]))
            # the documented string payload: the new card's id (profile replaceCardResponse=string)
            second = partner.replace_card(first, otp_medium="MFA", mfaCode="123456")
            server.control("POST", f"/orders/{order['enkashOrderId']}/settle", json={"status": "FAILED"})
            assert holder.order_details("SBX-PENDING-FAIL-MOVED")["paymentStatus"] == "REFUNDED"
        cards = {c["enKashCardId"]: c for c in partner.search_cards(*rewards_ref(creds))["data"]}
    assert cards[first]["otbBalance"] == 0
    assert Decimal(str(cards[second]["otbBalance"])) == 1_000  # 1000 - cost moved over, + cost refunded
    assert cost > 0
    assert server.audit(creds["partnerId"])["discrepancies"] == []


def test_concurrent_adds_to_one_cart_are_all_counted(server):
    product = next(
        p
        for p in httpx.get(f"{server.url}/_sandbox/catalog").json()
        if p["active"] and any(d["maxQuantity"] >= 10 and not d["customAmountEnabled"] for d in p["denominations"])
    )
    config = next(
        d["productConfigId"] for d in product["denominations"] if d["maxQuantity"] >= 10 and not d["customAmountEnabled"]
    )
    for trial in range(TRIALS):
        creds = server.provision(fundBalance=1_000)
        mobile = f"93{trial:02d}000005"
        with EnKashClient.from_credentials(server.url, creds) as partner:
            partner.allocate_points(*rewards_ref(creds), 100, reference="CART", mobile=mobile, firstName="Cart")
        pool = clients(server, creds, 5, username=mobile, password=HOLDER_PASSWORD)
        results = in_parallel([lambda c=c: c.add_to_cart(product["productCatalogId"], {config: 1}) for c in pool])
        assert results == ["ok"] * 5, results
        cart = pool[0].cart()
        assert [c["items"][config]["quantity"] for c in cart] == [5], cart
        for c in pool:
            c.close()
    report("add-to-cart x5", server, trials=TRIALS, detail="5 adds of quantity 1 at once")


def test_one_holder_gets_one_card_however_many_creates_race(server):
    for trial in range(TRIALS):
        creds = server.provision(fundBalance=1_000)
        ref = gpr_ref(creds)
        pool = clients(server, creds, 8)
        mobile = f"92{trial:02d}000006"
        results = in_parallel(
            [
                lambda c=c, r=ref, m=mobile: c.create_card(companyId=r[0], cardAccountId=r[1], mobile=m, firstName="Once")
                for c in pool
            ]
        )
        assert results.count("ok") == 1, results
        assert all(r == 422 for r in results if r != "ok"), results
        with EnKashClient.from_credentials(server.url, creds) as partner:
            assert len([c for c in partner.search_cards(*ref)["data"] if c["mobile"] == mobile]) == 1
        assert server.audit(creds["partnerId"])["discrepancies"] == []
        for c in pool:
            c.close()
    report("create-card x8", server, trials=TRIALS, detail="8 creates for one new holder at once")


def test_a_fault_rule_for_one_request_fires_once_across_workers(server):
    creds = server.provision()
    ref = gpr_ref(creds)
    server.control(
        "POST",
        "/faults",
        json={
            "path": "*/cardAccount/get",
            "partnerId": creds["partnerId"],
            "times": 1,
            "action": {"type": "status", "status": 503},
        },
    )
    pool = clients(server, creds, 10)
    statuses = [
        s
        for s, _ in (
            c.request("POST", f"{CARD}/cardAccount/get", {"companyId": ref[0], "cardAccountId": ref[1]}, raw=True)
            for c in pool
            for _ in range(3)
        )
    ]
    assert statuses.count(503) == 1 and statuses.count(200) == 29, statuses
    for c in pool:
        c.close()


def test_a_clock_change_is_seen_by_every_worker_at_once(server):
    creds = server.provision()
    ref = gpr_ref(creds)
    pool = clients(server, creds, 10)
    try:
        server.control("POST", "/clock", json={"action": "advance", "seconds": 3 * 86400})
        # every token issued before the jump has expired, whichever worker checks it
        statuses = [
            c.request("POST", f"{CARD}/cardAccount/get", {"companyId": ref[0], "cardAccountId": ref[1]}, raw=True)[0]
            for c in pool
            for _ in range(2)
        ]
        assert statuses == [401] * 20, statuses
    finally:
        server.control("POST", "/clock", json={"action": "reset"})
        for c in pool:
            c.close()


def test_snapshots_are_store_wide(server):
    server.provision()
    server.control("POST", "/snapshots", json={"name": "shared-snap"})
    try:
        listings = [[s["name"] for s in server.control("GET", "/snapshots")] for _ in range(20)]
        assert all("shared-snap" in names for names in listings)
        for _ in range(6):
            assert server.control("POST", "/snapshots/shared-snap/restore")["restored"] == "shared-snap"
    finally:
        server.control("DELETE", "/snapshots/shared-snap")


def test_reset_and_restore_under_traffic_never_500_and_leave_no_stray_tenants(server):
    """Traffic (provisioning, loads, searches, snapshot listings) while resets and restores run: every answer is
    a success or a clean refusal, never a 5xx, and a quiet reset afterwards leaves the seeded state only."""
    server.control("POST", "/reset")
    server.control("POST", "/snapshots", json={"name": "under-traffic"})
    stop = threading.Event()
    statuses: list[int] = []
    lock = threading.Lock()

    def traffic(worker: int):
        with httpx.Client(base_url=server.url, timeout=60) as http:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    creds = http.post("/_sandbox/partners", json={"encryption": "off"}).json()
                    codes = [201]
                    if "partnerId" in creds:
                        with EnKashClient.from_credentials(server.url, creds, encrypt=False) as c:
                            ref = gpr_ref(creds)
                            codes.append(
                                c.request(
                                    "POST", f"{CARD}/cardAccount/get", {"companyId": ref[0], "cardAccountId": ref[1]}, raw=True
                                )[0]
                            )
                    codes.append(http.get("/_sandbox/snapshots").status_code)
                except (httpx.HTTPError, EnKashHTTPError, KeyError) as exc:
                    codes = [getattr(exc, "status", 599)]
                with lock:
                    statuses.extend(codes)

    threads = [threading.Thread(target=traffic, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    operations = []
    try:
        for _ in range(8):
            operations.append(server.control_raw("POST", "/reset").status_code)
            operations.append(server.control_raw("POST", "/snapshots/under-traffic/restore").status_code)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert operations == [200] * 16, operations
    assert statuses and not [s for s in statuses if s >= 500], sorted(set(statuses))
    server.control("POST", "/reset")
    demo = server.control("GET", "/demo")
    assert [p["partnerId"] for p in server.control("GET", "/partners")] == [demo["partnerId"]]
    assert server.audit()["discrepancies"] == []
    server.control("DELETE", "/snapshots/under-traffic")
    report("reset/restore under traffic", server, trials=16, detail=f"{len(statuses)} requests meanwhile, no 5xx")


def test_an_audit_taken_while_money_moves_sees_one_moment(server):
    """The audit compares balances with ledger sums read by separate queries; on a live store they must read one
    snapshot (PostgreSQL's READ COMMITTED would let a load commit in between and look like missing money)."""
    creds = server.provision(fundBalance=100_000)
    ref = gpr_ref(creds)
    with EnKashClient.from_credentials(server.url, creds) as partner:
        card = partner.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9700000077", firstName="Audit")["enKashCardId"]
    pool = clients(server, creds, 8)
    stop = threading.Event()
    loaded = []

    def keep_loading(c):
        while not stop.is_set():
            c.load(*ref, card, 1)
            loaded.append(1)

    with ThreadPoolExecutor(8) as loaders:
        futures = [loaders.submit(keep_loading, c) for c in pool]
        try:
            reports = [server.audit(creds["partnerId"]) for _ in range(6)]
        finally:
            stop.set()
        for f in futures:
            f.result()
    assert loaded, "no load went through during the audits"
    assert [r["discrepancies"] for r in reports] == [[]] * 6
    for c in pool:
        c.close()
    report("audit during loads", server, trials=6, detail=f"{len(loaded)} loads meanwhile")


def test_account_only_allocations_all_reach_the_primary_card(server):
    """The guide's top-up by cardAccountId alone credits the account's primary card: 16 at once, each counted once."""
    creds = server.provision(fundBalance=10_000)
    ref = rewards_ref(creds)
    pool = clients(server, creds, 16)
    amounts = [Decimal(f"{n + 1}.25") for n in range(16)]
    answers: list[dict] = []
    results = in_parallel(
        [
            lambda c=c, a=a, n=n: answers.append(
                c.payload(
                    f"{CARD}/create-allocate-points",
                    {"companyId": ref[0], "cardAccountId": ref[1], "loadAmount": a, "uniqueReferenceNumber": f"TOPUP-{n}"},
                )
            )
            for n, (c, a) in enumerate(zip(pool, amounts, strict=True))
        ]
    )
    assert results == ["ok"] * 16, results
    cards = {answer["enKashCardId"] for answer in answers}
    assert len(cards) == 1, cards  # every one went to the primary card
    with EnKashClient.from_credentials(server.url, creds) as partner:
        assert Decimal(str(partner.card_account(*ref)["availableBalance"])) == 10_000 - sum(amounts)
        primary = partner.search_cards(*ref, cards.pop())
        assert Decimal(str(primary["otbBalance"])) == sum(amounts)
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    for c in pool:
        c.close()
    report("account-only top-up x16", server, trials=1, detail="16 allocations to the primary card at once")


def test_creates_without_a_holder_identifier_each_make_their_own_card(server):
    """G1's create with no userId, mobile or email: every one a new holder and card, each load debited once."""
    creds = server.provision(fundBalance=1_000)
    ref = gpr_ref(creds)
    pool = clients(server, creds, 10)
    made: list[dict] = []
    results = in_parallel(
        [
            lambda c=c: made.append(c.create_card(companyId=ref[0], cardAccountId=ref[1], firstName="Bearer", loadAmount=10))
            for c in pool
        ]
    )
    assert results == ["ok"] * 10, results
    assert len({card["enKashCardId"] for card in made}) == 10
    with EnKashClient.from_credentials(server.url, creds) as partner:
        assert Decimal(str(partner.card_account(*ref)["availableBalance"])) == 1_000 - 10 * 10
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    for c in pool:
        c.close()
    report("create-card, no holder x10", server, trials=1, detail="10 anonymous creates at once")


def test_a_create_retried_with_its_reference_makes_one_card_and_one_load(server):
    """The same create (holder, reference, load) sent 8 times at once: one card, its load debited once; the
    others are refused as a repeated reference or as the holder's existing card, and move nothing."""
    creds = server.provision(fundBalance=1_000)
    ref = gpr_ref(creds)
    pool = clients(server, creds, 8)
    body = {"companyId": ref[0], "cardAccountId": ref[1], "mobile": "9333300007", "firstName": "Retry", "loadAmount": 50}
    results = in_parallel([lambda c=c: c.create_card(**body, uniqueReferenceNumber="CREATE-1") for c in pool])
    assert results.count("ok") == 1, results
    for refused in (r for r in results if r != "ok"):
        assert refused == 422 or str(refused).startswith("Duplicate uniqueReferenceNumber: CREATE-1"), results
    with EnKashClient.from_credentials(server.url, creds) as partner:
        assert Decimal(str(partner.card_account(*ref)["availableBalance"])) == 1_000 - 50
        assert len([c for c in partner.search_cards(*ref)["data"] if c["mobile"] == body["mobile"]]) == 1
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    for c in pool:
        c.close()
    report("create-card retry x8", server, trials=1, detail="one create with one reference sent 8 times at once")


def test_concurrent_provisioning_gives_each_tenant_one_funded_fund_source(server):
    """Provisioning writes a payout fund source and its prefunding in the tenant's transaction: 8 at once, each
    tenant with its own source holding exactly ₹10,00,000, and the payout ledger agreeing."""
    results: list[dict] = []
    outcome = in_parallel([lambda: results.append(server.provision()) for _ in range(8)], workers=8)
    assert outcome == ["ok"] * 8, outcome
    sources = [tenant["payoutFundSourceId"] for tenant in results]
    assert len(set(sources)) == 8, sources
    accounts = {a["fundSourceId"]: a for a in server.control("GET", "/payouts/accounts")}
    for tenant in results:
        account = accounts[tenant["payoutFundSourceId"]]
        assert account["partnerId"] == tenant["partnerId"]
        assert Decimal(str(account["balance"])) == Decimal("1000000")
        assert server.audit(tenant["partnerId"])["discrepancies"] == []
    report("provision x8", server, trials=1, detail="8 tenants provisioned at once, fund sources checked")


def test_one_reference_at_once_under_replay_moves_money_once_and_answers_alike(server):
    """Loads arriving together are written as one group per worker (one transaction, a savepoint each; on
    PostgreSQL side by side): 24 loads with one reference under duplicateReference=replay, spread over both
    workers, move the money once and all answer with the first load's transaction."""
    creds = server.provision(fundBalance=1_000, profile={"duplicateReference": "replay"})
    ref = gpr_ref(creds)
    with EnKashClient.from_credentials(server.url, creds) as partner:
        card = partner.create_card(companyId=ref[0], cardAccountId=ref[1], mobile="9333300011", firstName="Replay")
    pool = clients(server, creds, 12)
    answers: list[dict] = []
    lock = threading.Lock()

    def load(c):
        answer = c.load(*ref, card["enKashCardId"], "12.34", reference="REPLAY-1")
        with lock:
            answers.append(answer)

    results = in_parallel([lambda c=c: load(c) for c in pool * 2], workers=12)
    assert results == ["ok"] * 24, results
    assert len({a["enkashCardTxnId"] for a in answers}) == 1
    with EnKashClient.from_credentials(server.url, creds) as partner:
        assert Decimal(str(partner.card_account(*ref)["availableBalance"])) == Decimal("1000") - Decimal("12.34")
        assert Decimal(str(partner.search_cards(*ref, card["enKashCardId"])["otbBalance"])) == Decimal("12.34")
    assert server.audit(creds["partnerId"])["discrepancies"] == []
    for c in pool:
        c.close()
    report("replay one reference x24", server, trials=1, detail="one reference under replay, 24 loads at once")
