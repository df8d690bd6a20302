"""The dashboard and the SSO portal in a real browser (Debian's Chromium driven by Playwright).

Screenshots of the main pages are written to docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from enkash_sandbox.client import EnKashClient

from tests.conftest import IN_CI, postgres_database

CHROMIUM = os.environ.get("ENKASH_SANDBOX_CHROMIUM", "/usr/bin/chromium")
# screenshots go to a temporary folder unless ENKASH_SANDBOX_SCREENSHOTS names one (docs/screenshots for the README)
SHOTS = Path(os.environ.get("ENKASH_SANDBOX_SCREENSHOTS") or Path(os.environ.get("TMPDIR", "/tmp")) / "enkash-shots")
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not IN_CI:
    # locally the browser tests are optional: one line says why they did not run
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
# in CI both are required: a missing one fails every test of this module (below), it does not skip
from playwright import sync_api  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required in CI and was not found at {CHROMIUM} (apt-get install chromium)", pytrace=False)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


# The pages run on SQLite only: what they show comes through the ops layer, whose every query also runs on
# PostgreSQL in tests/control, tests/spend, tests/webhooks and tests/payouts; a browser pass per store doubled the
# suite's slowest module for no query of its own.
@pytest.fixture(scope="module", params=["sqlite"])
def sandbox(request, tmp_path_factory):
    """A sandbox of this module's own, on the default seed (42): the screenshots show the ids and names the README
    and the start banner show (the session's sandbox runs on seed 7)."""
    from enkash_sandbox.config import Settings
    from enkash_sandbox.testing.live import LiveSandbox

    if request.param == "postgresql":
        settings = Settings(database_url=postgres_database("browser"), seed=42)
    else:
        settings = Settings(db=str(tmp_path_factory.mktemp("browser") / "s.db"), seed=42)
    with LiveSandbox(settings) as live:
        live.backend = request.param
        yield live


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def money(text: str) -> float:
    return float(re.sub(r"[^\d.]", "", text))


def test_navigate_tenant_account_card_and_fund(sandbox, page):
    demo = sandbox.container.demo_credentials()
    page.goto(f"{sandbox.url}/_sandbox/ui")
    assert page.locator("h1").inner_text() == "EnKash Sandbox"
    # every time says its zone, and the clock's ISO instant stays on one line
    assert "CREATED (IST)" in page.inner_text("#tenants thead").upper()
    clock = page.locator("#clock-now")
    assert "(UTC)" in page.inner_text(".stat:has(#clock-now) .label").upper()
    assert clock.evaluate("e => e.scrollHeight <= parseFloat(getComputedStyle(e).lineHeight) * 1.5")
    shot(page, "dashboard")
    page.click(f"a.tenant-link:text('{demo['partnerId']}')")
    page.wait_for_selector("#accounts")
    shot(page, "tenant")
    page.click("a.account-link[data-type='EMPLOYEE_REWARDS']")
    page.wait_for_selector("#available-balance")
    before = money(page.inner_text("#available-balance"))
    assert page.locator("svg.chart").count() == 2
    assert "WHEN (IST)" in page.inner_text("#ledger thead").upper()
    page.fill("#fund-form input[name=amount]", "2500.50")
    page.click("#fund-form button")
    page.wait_for_selector("#notice")
    assert "Funded" in page.inner_text("#notice")
    assert money(page.inner_text("#available-balance")) == pytest.approx(before + 2500.50)
    page.fill("#allocate-form input[name=mobile]", "9812345678")
    page.fill("#allocate-form input[name=firstName]", "Browser")
    page.fill("#allocate-form input[name=amount]", "300")
    page.click("#allocate-form button")
    page.wait_for_selector("#notice")
    assert "Allocated" in page.inner_text("#notice")
    shot(page, "account")
    page.click("#cards a.card-link >> nth=-1")
    page.wait_for_selector("#otb")
    assert money(page.inner_text("#otb")) == 300
    assert "coins" not in page.inner_text("#holder-extra")  # a holder without coins is not told "coins 0"
    # one movement so far (the allocation): its balance chart shows a point, not an empty frame
    assert page.locator("svg.chart circle").count() >= 1
    # the card's one chart takes the width of its card
    chart, frame = page.locator(".charts svg.chart").bounding_box(), page.locator(".charts").bounding_box()
    assert chart and frame and chart["width"] >= 0.9 * frame["width"]
    page.click("#lock")
    page.wait_for_selector("#unlock")
    assert page.inner_text("#card-status") == "Locked"
    shot(page, "card")
    page.click("#unlock")
    page.wait_for_selector("#lock")


def test_snapshot_take_and_restore(sandbox, page):
    demo = sandbox.container.demo_credentials()
    account = demo["cardAccounts"]["GIFT"]
    page.goto(f"{sandbox.url}/_sandbox/ui/snapshots")
    page.fill("#snapshot-form input[name=name]", "before-demo")
    page.click("#snapshot-form button")
    page.wait_for_selector("#notice")
    page.goto(f"{sandbox.url}/_sandbox/ui/accounts/{account}")
    before = money(page.inner_text("#available-balance"))
    page.fill("#fund-form input[name=amount]", "999")
    page.click("#fund-form button")
    page.wait_for_selector("#notice")
    assert money(page.inner_text("#available-balance")) == pytest.approx(before + 999)
    page.goto(f"{sandbox.url}/_sandbox/ui/snapshots")
    assert "TAKEN (UTC, WALL CLOCK)" in page.inner_text("#snapshots thead").upper()
    size = page.inner_text("#snapshots tr:has-text('before-demo') td.size")
    assert re.fullmatch(r"[\d,]+\.\d (KiB|MiB)", size) or size == "in memory", size
    shot(page, "snapshots")
    page.click("#snapshots tr:has-text('before-demo') button.restore")
    page.wait_for_selector("#notice")
    page.goto(f"{sandbox.url}/_sandbox/ui/accounts/{account}")
    assert money(page.inner_text("#available-balance")) == pytest.approx(before)
    httpx.delete(f"{sandbox.url}/_sandbox/snapshots/before-demo")


def test_journal_faults_pages(sandbox, page, client, tenant):
    client.card_account(tenant["companyId"], tenant["cardAccounts"]["GIFT"])
    page.goto(f"{sandbox.url}/_sandbox/ui/journal")
    page.wait_for_selector("#journal-rows tr")
    page.wait_for_function("document.getElementById('live').textContent.startsWith('live ·')", timeout=10_000)
    assert "cardAccount/get" in page.inner_text("#journal-rows")
    assert "TIME (UTC)" in page.inner_text("#journal thead").upper()
    # an entry's bodies, opened, are as wide as the journal table (not squeezed into a cell), and stay open
    # across the live redraw
    bodies = page.locator("#journal-rows tr.bodies details").first
    bodies.locator("summary").click()
    request_body = bodies.locator("pre.journal-body").first
    assert "cardAccountId" in request_body.inner_text()
    box, table = request_body.bounding_box(), page.locator("#journal").bounding_box()
    cell = bodies.evaluate(
        "d => { const td = d.closest('td'), st = getComputedStyle(td);"
        " return td.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight); }"
    )
    assert box and table and abs(box["width"] - cell) <= 1 and box["width"] >= 0.95 * table["width"]
    page.wait_for_function("t => document.getElementById('live').textContent !== t", arg=page.inner_text("#live"))
    assert page.locator("#journal-rows tr.bodies details[open]").count() >= 1
    shot(page, "journal")
    page.goto(f"{sandbox.url}/_sandbox/ui/faults")
    # every placeholder of the fault form is readable whole in its box
    fits = """e => { const c = document.createElement('canvas').getContext('2d'), st = getComputedStyle(e);
        c.font = st.font;
        const room = e.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight);
        return c.measureText(e.placeholder).width <= room + 1; }"""
    for box in page.locator("#fault-form input[placeholder]").all():
        assert box.evaluate(fits), box.get_attribute("placeholder")
    page.fill("#fault-form input[name=path]", "*/never-called")
    page.fill("#fault-form input[name=status]", "503")
    page.click("#fault-form button")
    page.wait_for_selector("#notice")
    assert "*/never-called" in page.inner_text("#fault-rules")
    shot(page, "faults")
    page.click("#fault-rules tr:has-text('never-called') button")
    page.wait_for_selector("#notice")
    assert "never-called" not in page.inner_text("#fault-rules")


def test_sso_portal_redemption_in_the_browser(sandbox, page, client, tenant):
    ref = (tenant["companyId"], tenant["cardAccounts"]["EMPLOYEE_REWARDS"])
    holder = client.allocate_points(*ref, 3000, reference="BROWSER-1", mobile="9898989898", firstName="Kavya", lastName="Iyer")
    sso = client.sso_token(*ref, holder["enKashCardId"])
    page.goto(sso["employeeRewardsUrl"])
    assert "Kavya" in page.inner_text("h1")
    page.locator(".product form button").first.click()
    page.wait_for_selector("#notice")
    page.click("#checkout")
    page.wait_for_selector("#notice")
    assert "Ordered" in page.inner_text("#notice")
    assert page.locator("#orders code.voucher").count() >= 1
    shot(page, "sso-portal")
    admin_card = client.card_account(*ref)["primaryEnKashCard"]["enKashCardId"]
    admin = client.sso_token(*ref, admin_card)
    page.goto(admin["rewardAccountUrl"])
    assert "Kavya" in page.inner_text("#cards")
    # the card says what it counts: every allocation so far (this month's is the line under it)
    allocated = page.locator(".stat:has(#allocated-total)")
    assert "allocated (all time)" in allocated.inner_text().lower() and money(page.inner_text("#allocated-total")) >= 3000
    shot(page, "sso-admin")


def test_admin_token_login_page(tmp_path, page):
    from enkash_sandbox.config import Settings
    from enkash_sandbox.testing.live import LiveSandbox

    with LiveSandbox(Settings(db=str(tmp_path / "s.db"), admin_token="demo-secret", seed_demo=False)) as live:
        page.goto(f"{live.url}/_sandbox/ui")
        assert "/_sandbox/ui/login" in page.url
        page.fill("input[name=token]", "wrong")
        page.click("button")
        assert "not the admin token" in page.inner_text("body")
        page.fill("input[name=token]", "demo-secret")
        page.click("button")
        page.wait_for_selector("#tenants")
        assert EnKashClient  # the vendor API is untouched by the admin token


def test_simulate_purchase_holds_and_velocity_on_the_card_page(sandbox, page, client, tenant):
    from tests.spend.conftest import spendable_card

    card = spendable_card(client, tenant, load=1000, dtd=600)
    page.goto(f"{sandbox.url}/_sandbox/ui/cards/{card}")
    page.wait_for_selector("#simulate")
    page.fill("#spend-amount", "250")
    page.select_option("#spend-channel", "ECOM")
    page.fill("#spend-merchant", "Browser Books")
    page.click("#spend")
    page.wait_for_selector("#notice")
    assert "Approved" in page.inner_text("#notice") and "Browser Books" in page.inner_text("#notice")
    assert money(page.inner_text("#otb")) == 750
    # a hold shows with its buttons; the velocity bar counts it
    page.fill("#spend-amount", "100")
    page.check("#spend-hold")
    page.click("#spend")
    page.wait_for_selector("#holds")
    assert "Held" in page.inner_text("#notice") and money(page.inner_text("#otb")) == 650
    assert "₹350.00 of ₹600.00" in page.inner_text("#velocity")
    page.fill("#holds input[name=amount]", "40")
    page.click("#holds button:text('Clear')")
    page.wait_for_selector("#notice")
    assert "CLEARED" in page.inner_text("#notice") and money(page.inner_text("#otb")) == 710
    assert page.locator("#holds").count() == 0
    # a decline is shown with its reasons and changes nothing
    page.fill("#spend-amount", "500")
    page.click("#spend")
    page.wait_for_selector("#error")
    assert "DAILY_LIMIT_EXCEEDED" in page.inner_text("#error") and money(page.inner_text("#otb")) == 710
    assert page.locator("#authorizations tbody tr").count() == 3
    shot(page, "card-spending")
