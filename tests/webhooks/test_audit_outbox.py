"""The audit learns the outbox's failures: plant each one in the store and see it reported."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from enkash_sandbox.client import EnKashClient
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


def test_a_money_event_that_tells_another_story_than_its_movement_is_reported(tmp_path):
    """A CARD_LOADED payload is built (only when a subscription wants it) from the load in its transaction; one
    whose amount, card or transaction disagree with the ledger, and a PAYOUT_* event naming no transfer of the
    partner, reach the partner as fact: the audit names each."""
    with LiveSandbox(Settings(db=str(tmp_path / "money.db"), seed_demo=False, webhook_deliverer=False)) as sandbox:
        creds = sandbox.provision(encryption="off", fundBalance=1000)
        partner, company, account = creds["partnerId"], creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"]
        with EnKashClient.from_credentials(sandbox.url, creds, encrypt=False) as client:
            client.subscribe_webhook("http://127.0.0.1:9/hook", ["CARD_LOADED"])
            card = client.create_card(companyId=company, cardAccountId=account, mobile="9876500001", firstName="Audit")
            loaded = client.load(company, account, card["enKashCardId"], "12.34", reference="AUDIT-1")
        with sandbox.container.db.read() as s:
            (event_id, payload), *_ = s.exec(text("SELECT id, payload FROM webhook_event WHERE event_type = 'CARD_LOADED'")).all()
        assert f'"transactionId":"{loaded["enkashCardTxnId"]}"' in payload.replace(" ", "")
        assert audit(sandbox, partner) == set()  # the event as emitted agrees with its load

        for wrong in (
            payload.replace("12.34", "43.21"),  # another amount
            payload.replace(loaded["enkashCardTxnId"], "EKTXNOTREAL1"),  # a transaction that does not exist
            payload.replace(card["enKashCardId"], "EKCOTHER0001"),  # another card
        ):
            assert wrong != payload
            plant(sandbox, "UPDATE webhook_event SET payload = :p WHERE id = :id", p=wrong, id=event_id)
            assert audit(sandbox, partner) == {"webhook_event_money"}, wrong
        plant(sandbox, "UPDATE webhook_event SET payload = :p WHERE id = :id", p=payload, id=event_id)
        assert audit(sandbox, partner) == set()

        plant(
            sandbox,
            "INSERT INTO webhook_event (id, partner_id, company_id, event_type, payload, created_at) VALUES "
            "('EVPLANTED0002', :p, NULL, 'PAYOUT_SUCCESS', :payload, :now)",
            p=partner,
            payload='{"enkashTransactionId": "EKPNOTREAL1", "transferAmount": 10.5}',
            now=datetime(2026, 1, 1),
        )
        assert "webhook_event_money" in audit(sandbox, partner)


def test_a_delivery_to_a_subscription_that_did_not_ask_for_it_is_reported(tmp_path):
    """A card load picks its subscriptions before its ledger locks and hands them to emit: a wrong pick would
    deliver an event to a subscription of other events or of another company. The audit judges the deliveries
    of every subscription unchanged since it was made (a changed one may have asked for it back then)."""
    with LiveSandbox(Settings(db=str(tmp_path / "unwanted.db"), seed_demo=False, webhook_deliverer=False)) as sandbox:
        creds = sandbox.provision(encryption="off", fundBalance=1000)
        partner, company, account = creds["partnerId"], creds["companyId"], creds["cardAccounts"]["RELOADABLE_GPR"]
        with EnKashClient.from_credentials(sandbox.url, creds, encrypt=False) as client:
            client.subscribe_webhook("http://127.0.0.1:9/loads", ["CARD_LOADED"])
            other = client.subscribe_webhook("http://127.0.0.1:9/payouts", ["PAYOUT_SUCCESS"])
            card = client.create_card(companyId=company, cardAccountId=account, mobile="9876500002", firstName="Audit")
            client.load(company, account, card["enKashCardId"], "5.00", reference="UNWANTED-1")
        with sandbox.container.db.read() as s:
            (event_id,) = s.exec(text("SELECT id FROM webhook_event WHERE event_type = 'CARD_LOADED'")).one()
            subs = dict(s.exec(text("SELECT url, id FROM webhook_subscription")).all())
        payouts_sub = subs["http://127.0.0.1:9/payouts"]
        assert other and audit(sandbox, partner) == set()  # the load went to the CARD_LOADED subscription only

        plant(
            sandbox,
            "INSERT INTO webhook_delivery (event_id, subscription_id, partner_id, status, attempts, next_attempt_at, "
            "attempt_log, created_at) VALUES (:e, :sub, :p, 'PENDING', 0, :now, '[]', :now)",
            e=event_id,
            sub=payouts_sub,
            p=partner,
            now=datetime(2026, 1, 1),
        )
        assert audit(sandbox, partner) == {"webhook_unwanted_delivery"}  # a PAYOUT_SUCCESS subscription got a load
        plant(
            sandbox,
            "UPDATE webhook_subscription SET events = :ev, company_id = 'CEKANOTHER1' WHERE id = :sub",
            ev='["CARD_LOADED"]',
            sub=payouts_sub,
        )
        assert audit(sandbox, partner) == {"webhook_unwanted_delivery"}  # the right event, another company's
        plant(
            sandbox,
            "UPDATE webhook_subscription SET modified_at = :later WHERE id = :sub",
            later=datetime(2030, 1, 1),
            sub=payouts_sub,
        )
        assert audit(sandbox, partner) == set()  # changed since: it may have asked for it when it was delivered
