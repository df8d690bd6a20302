"""Parallel requests over real sockets: no lost update, no overdraw, one movement per reference."""

from enkash_sandbox.client import EnKashClient
from enkash_sandbox.store.tables import Card, CardAccount, LedgerEntry
from sqlalchemy import func
from sqlmodel import select

from tests.parallel import fire

CARD = "/api/v0/partner/enKashCard"


def ledger_sum(core, kind, holder_id):
    with core.db.read() as s:
        return s.exec(
            select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
                LedgerEntry.holder_kind == kind, LedgerEntry.holder_id == holder_id
            )
        ).one()


def test_parallel_debits_never_overdraw_a_card(sandbox):
    # DR unloads are refused by default ("DR not allowed on this card"); the profile lets this tenant unload
    creds = sandbox.provision(fundBalance=5000, profile={"balanceDebit": "allow"})
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        card = c.create_card(**ref, mobile="9000011111", firstName="Racer", loadAmount=1000)

    def debit(cl):
        return cl.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 10, transaction_type="DR")

    results = fire(sandbox.url, creds, [debit] * 200)
    assert results.count("ok") == 100
    assert set(results) - {"ok"} == {"Insufficient balance in card account"}
    core = sandbox.container
    with core.db.read() as s:
        assert s.get(Card, card["enKashCardId"]).balance_minor == 0
        assert s.get(CardAccount, ref["cardAccountId"]).balance_minor == 500000
    assert ledger_sum(core, "CARD", card["enKashCardId"]) == 0
    assert ledger_sum(core, "ACCOUNT", ref["cardAccountId"]) == 500000


def test_parallel_loads_never_overdraw_the_account(sandbox):
    creds = sandbox.provision(fundBalance=1000)
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        card = c.create_card(**ref, mobile="9000022222", firstName="Loader")

    def load(cl):
        return cl.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 30)

    results = fire(sandbox.url, creds, [load] * 60)
    assert results.count("ok") == 33
    with sandbox.container.db.read() as s:
        assert s.get(Card, card["enKashCardId"]).balance_minor == 99000
        assert s.get(CardAccount, ref["cardAccountId"]).balance_minor == 1000
    assert ledger_sum(sandbox.container, "ACCOUNT", ref["cardAccountId"]) == 1000


def test_same_reference_fifty_times_at_once_moves_money_once(sandbox):
    creds = sandbox.provision()
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        card = c.create_card(**ref, mobile="9000033333", firstName="Dup")

    def load(cl):
        return cl.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 7, reference="SAME-REF")

    results = fire(sandbox.url, creds, [load] * 50, workers=25)
    assert results.count("ok") == 1
    assert all(r.startswith("Duplicate uniqueReferenceNumber") for r in results if r != "ok")
    with sandbox.container.db.read() as s:
        assert s.get(Card, card["enKashCardId"]).balance_minor == 700


def test_same_reference_at_once_with_replay_answers_every_caller_with_the_first_answer(sandbox):
    # the loads arrive together and are written in one group (one transaction, a savepoint each): the repeats
    # must find the first one's answer inside that group's transaction, before it commits
    creds = sandbox.provision(profile={"duplicateReference": "replay"})
    ref = {"companyId": creds["companyId"], "cardAccountId": creds["cardAccounts"]["RELOADABLE_GPR"]}
    with EnKashClient.from_credentials(sandbox.url, creds) as c:
        card = c.create_card(**ref, mobile="9000044444", firstName="Replay")
    answers = []

    def load(cl):
        answers.append(cl.load(ref["companyId"], ref["cardAccountId"], card["enKashCardId"], 9, reference="REPLAYED"))

    results = fire(sandbox.url, creds, [load] * 40, workers=20)
    assert results == ["ok"] * 40
    assert len({a["enkashCardTxnId"] for a in answers}) == 1
    with sandbox.container.db.read() as s:
        assert s.get(Card, card["enKashCardId"]).balance_minor == 900
    assert ledger_sum(sandbox.container, "CARD", card["enKashCardId"]) == 900
