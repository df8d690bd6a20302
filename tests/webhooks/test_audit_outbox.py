"""The audit learns the outbox's failures: plant each one in the store and see it reported."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from enkash_sandbox.config import Settings
from enkash_sandbox.testing.live import LiveSandbox
from sqlalchemy import text


def audit(sandbox, partner_id: str) -> set[str]:
    report = httpx.get(f"{sandbox.url}/_sandbox/audit", params={"partnerId": partner_id}, timeout=60).json()
    return {d["check"] for d in report["discrepancies"]}


def plant(sandbox, sql: str, **params) -> None:
    with sandbox.container.db.write() as s:
        s.exec(text(sql), params=params)


def test_an_event_without_its_delivery_and_a_dead_lease_are_reported(tmp_path):
    # no deliverer: a live one would take the stale delivery over (which is what the lease is for)
    with LiveSandbox(Settings(db=str(tmp_path / "audit.db"), seed_demo=False, webhook_deliverer=False)) as sandbox:
        check(sandbox, sandbox.provision()["partnerId"])


def check(sandbox, partner: str) -> None:
    assert audit(sandbox, partner) == set()
    now = datetime(2026, 1, 1)
    plant(
        sandbox,
        "INSERT INTO webhook_event (id, partner_id, company_id, event_type, payload, created_at) "
        "VALUES ('EVPLANTED0001', :p, NULL, 'CARD_LOADED', '{}', :now)",
        p=partner,
        now=now,
    )
    try:
        assert "webhook_event_delivered" in audit(sandbox, partner)
        plant(
            sandbox,
            "INSERT INTO webhook_subscription (id, partner_id, url, events, headers, enabled, secret, sign, failing, "
            "created_at, modified_at) VALUES ('WHPLANT1', :p, 'http://127.0.0.1:9/x', '[]', '{}', false, 's', true, "
            "false, :now, :now)",
            p=partner,
            now=now,
        )
        plant(
            sandbox,
            "INSERT INTO webhook_delivery (event_id, subscription_id, partner_id, status, attempts, next_attempt_at, "
            "claimed_until, attempt_log, created_at) VALUES ('EVPLANTED0001', 'WHPLANT1', :p, 'DELIVERING', 1, :now, "
            ":lease, '[]', :now)",
            p=partner,
            now=now,
            lease=datetime.utcnow() - timedelta(hours=1),
        )
        found = audit(sandbox, partner)
        assert "webhook_lease" in found and "webhook_event_delivered" not in found
    finally:
        plant(sandbox, "DELETE FROM webhook_delivery WHERE event_id = 'EVPLANTED0001'")
        plant(sandbox, "DELETE FROM webhook_subscription WHERE id = 'WHPLANT1'")
        plant(sandbox, "DELETE FROM webhook_event WHERE id = 'EVPLANTED0001'")
    assert audit(sandbox, partner) == set()
