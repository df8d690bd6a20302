"""The dashboard's Webhooks page in a real browser (Debian's Chromium driven by Playwright, as the other
dashboard tests): subscribe from the form, fire an event, watch the delivery and its attempts, redeliver."""

from __future__ import annotations

import pytest

from tests.browser import test_dashboard as dashboard_tests
from tests.webhooks.test_delivery import wait_until

# pages on SQLite only, as tests/browser/test_dashboard.py explains
pytestmark = pytest.mark.parametrize("sandbox", ["sqlite"], indirect=True)


# the dashboard tests' Chromium fixtures (and, by the import, their rule: skip locally without it, fail in CI)
browser = dashboard_tests.browser
page = dashboard_tests.page


def test_subscribe_fire_inspect_and_redeliver_from_the_page(sandbox, tenant, client, receiver, page):
    receiver.answer_with(500)
    page.goto(f"{sandbox.url}/_sandbox/ui")
    page.click("nav >> text=Webhooks")
    assert page.locator("h1").inner_text() == "Webhooks"

    form = page.locator("#subscribe-form")
    form.locator("input[name=partnerId]").fill(tenant["partnerId"])
    form.locator("input[name=webhookUrl]").fill(receiver.url)
    form.locator("select[name=events]").select_option(["PAYOUT_SUCCESS", "PAYOUT_FAILED"])
    form.locator("button").click()
    assert "Subscribed WH" in page.locator("#notice").inner_text()
    sub = client.webhook_subscriptions()[0]
    receiver.secret = sub["secret"]
    assert page.locator(f"#sub-{sub['id']}").is_visible()

    fire = page.locator("#fire-form")
    fire.locator("input[name=partnerId]").fill(tenant["partnerId"])
    fire.locator("select[name=event]").select_option("PAYOUT_SUCCESS")
    fire.locator("button").click()
    assert "Fired PAYOUT_SUCCESS EV" in page.locator("#notice").inner_text()

    # the receiver answered 500 the first time: the page shows the attempt and the queued retry
    wait_until(lambda: client.webhook_deliveries()[0]["attemptLog"], what="the first attempt")
    delivery = client.webhook_deliveries()[0]
    page.goto(f"{sandbox.url}/_sandbox/ui/webhooks?partnerId={tenant['partnerId']}")
    row = page.locator(f"#delivery-{delivery['id']}")
    assert row.locator(".delivery-status").inner_text() == "PENDING"
    row.locator("summary").click()
    assert "HTTP 500" in row.locator("ol.attempts").inner_text()

    # redeliver now instead of waiting for the clock
    row.locator("button.redeliver").click()
    assert f"Redelivering #{delivery['id']}" in page.locator("#notice").inner_text()
    receiver.wait_for("PAYOUT_SUCCESS")
    wait_until(lambda: client.webhook_deliveries()[0]["status"] == "DELIVERED", what="DELIVERED")
    page.goto(f"{sandbox.url}/_sandbox/ui/webhooks?partnerId={tenant['partnerId']}&status=DELIVERED")
    assert page.locator(f"#delivery-{delivery['id']} .delivery-status").inner_text() == "DELIVERED"

    # a bad filter is refused with a message, not an error page
    page.goto(f"{sandbox.url}/_sandbox/ui/webhooks?status=LOST")
    assert "status" in page.locator("#error").inner_text()

    page.locator(f"#sub-{sub['id']} >> text=Disable").click()
    assert f"Disabled {sub['id']}" in page.locator("#notice").inner_text()
    assert client.webhook_subscriptions()[0]["enabled"] is False
    page.locator(f"#sub-{sub['id']} >> text=Delete").click()
    assert client.webhook_subscriptions() == []
