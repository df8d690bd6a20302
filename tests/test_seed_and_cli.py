"""Determinism of the seed, the demo tenant, and the command-line helpers."""

import json

from enkash_sandbox import crypto
from enkash_sandbox.banner import render
from enkash_sandbox.cli import app
from enkash_sandbox.config import Settings
from enkash_sandbox.container import build
from enkash_sandbox.products.cards.schemas import CardSearch
from typer.testing import CliRunner

runner = CliRunner()


def _demo(seed):
    core = build(Settings(db=":memory:", seed=seed))
    core.start()
    creds = core.demo_credentials()
    _, cards = core.cards.search(
        creds["partnerId"], CardSearch(companyId=creds["companyId"], cardAccountId=creds["cardAccounts"]["EMPLOYEE_REWARDS"])
    )
    core.close()
    return creds, [(c["enKashCardId"], c["firstName"], c["mobile"], c["otbBalance"]) for c in cards["data"]]


def test_same_seed_same_ids_and_data_other_seed_other_data():
    a, b, c = _demo(11), _demo(11), _demo(12)
    assert a == b
    assert a[1] != c[1]
    creds, cards = a
    assert set(creds["cardAccounts"]) == {"EMPLOYEE_REWARDS", "CHANNEL_INCENTIVE", "GIFT", "MEAL", "FUEL", "RELOADABLE_GPR"}
    assert len(cards) == 7  # the admin's primary card and six holders
    assert sum(card[3] for card in cards) == 2500 + 1200 + 800 + 5000 + 300 + 1500


def test_store_keeps_its_seed_and_state_across_restarts(tmp_path):
    db = str(tmp_path / "s.db")
    first = build(Settings(db=db, seed=5))
    first.start()
    creds = first.demo_credentials()
    created = first.tenants.provision()
    first.close()
    again = build(Settings(db=db, seed=99))  # a different seed must not be mixed into an existing store
    again.start()
    assert again.db.seed == 5
    assert again.demo_credentials() == creds
    assert created["partnerId"] in {p.id for p in again.tenants.list_partners()}
    again.close()


def test_encrypt_and_decrypt_commands_round_trip():
    out = runner.invoke(app, ["encrypt", "--secret", "enkash-secret", '{"companyId":"CEKEP5GSGP","cardAccountId":"CAA8W45"}'])
    assert out.exit_code == 0
    envelope = json.loads(out.stdout)
    assert envelope["request"].startswith("1xarTaeNFLv4")
    back = runner.invoke(app, ["decrypt", "--secret", "enkash-secret", out.stdout])
    assert json.loads(back.stdout) == {"companyId": "CEKEP5GSGP", "cardAccountId": "CAA8W45"}
    bare = runner.invoke(app, ["decrypt", "--secret", "enkash-secret", envelope["request"]])
    assert json.loads(bare.stdout)["cardAccountId"] == "CAA8W45"
    wrong = runner.invoke(app, ["decrypt", "--secret", "other", envelope["request"]])
    assert wrong.exit_code == 1


def test_token_command_against_a_live_sandbox(sandbox):
    out = runner.invoke(app, ["token", "--url", sandbox.url, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["token_type"] == "bearer"


def test_banner_prints_every_credential():
    creds = {
        "partnerId": "CRX",
        "clientId": "CEKX",
        "clientSecret": "sec",
        "username": "9000000001",
        "password": "pw",
        "companyId": "CEKX",
        "companyName": "Co",
        "cardAccounts": {"GIFT": "CA1"},
        "holders": [{"userId": "EK1", "name": "A B", "mobile": "9111111111", "password": "h"}],
    }
    text = render("http://127.0.0.1:8080", creds, "sqlite:///x.db")
    for value in ("CRX", "CEKX", "sec", "9000000001", "pw", "CA1", "9111111111", "enkash-sandbox encrypt"):
        assert value in text
    assert crypto.derive_key("sec")  # the secret printed is the one that keys the envelope
