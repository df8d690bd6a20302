"""Magic values (faults/magic.py) match exactly what docs/MAGIC_VALUES.md promises."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from enkash_sandbox.faults import magic

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "MAGIC_VALUES.md"


def doc_rows() -> list[dict]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("trigger", "---"):
            rows.append({"trigger": cells[0], "endpoints": cells[1], "outcome": cells[2]})
    return rows


def test_the_document_is_the_table_with_the_default_delays():
    assert doc_rows() == magic.table(slow_seconds=3.0, timeout_seconds=30.0, pending_seconds=60)


def test_the_table_follows_the_delays_in_force():
    rows = {r["trigger"]: r["outcome"] for r in magic.table(slow_seconds=0.5, timeout_seconds=2, pending_seconds=5)}
    assert rows["amount / loadAmount / denomination = 9.99"] == "answered normally after 0.5 s"
    assert any(outcome.startswith("no answer for 2 s, then HTTP 504") for outcome in rows.values())
    assert any("SUCCESS with vouchers 5 s later" in outcome for outcome in rows.values())


def documented_status(outcome: str) -> int:
    found = re.search(r"HTTP (\d{3})", outcome)
    return int(found.group(1)) if found else 200


AMOUNT_ROWS = [r for r in doc_rows() if r["trigger"].startswith("amount / loadAmount / denomination = ")]
REFERENCE_ROWS = [r for r in doc_rows() if " starting with SBX-" in r["trigger"] and r["endpoints"] == "any vendor POST"]


def test_the_document_lists_amounts_and_references():
    assert len(AMOUNT_ROWS) == len(magic.MAGIC_AMOUNTS) == 5
    assert len(REFERENCE_ROWS) == len(magic.MAGIC_REFERENCES) == 8


@pytest.mark.parametrize("row", AMOUNT_ROWS, ids=lambda r: r["trigger"].rsplit(" ", 1)[1])
@pytest.mark.parametrize("field", ["amount", "loadAmount", "denomination"])
def test_each_documented_amount_matches_in_each_amount_field(row, field):
    amount = row["trigger"].rsplit(" ", 1)[1]
    for value in (amount, float(amount), Decimal(amount), amount + "0"):  # "4.220" is the same amount
        kind, status, trigger = magic.match({field: value, "companyId": "CEK1"})
        assert status == documented_status(row["outcome"]), (value, row)
        assert trigger == f"{field}={Decimal(amount)}" or trigger == f"{field}={Decimal(amount + '0')}"
        assert kind in ("insufficient_balance", "status", "slow")


@pytest.mark.parametrize("row", REFERENCE_ROWS, ids=lambda r: r["trigger"].rsplit(" ", 1)[1])
@pytest.mark.parametrize("field", ["uniqueReferenceNumber", "uniqueReferenceNum", "orderReferenceId", "requestId"])
def test_each_documented_reference_prefix_matches_in_each_reference_field(row, field):
    prefix = row["trigger"].rsplit(" ", 1)[1]
    kind, status, trigger = magic.match({field: prefix + "anything-123", "amount": 10})
    outcome = row["outcome"]
    if "no answer for" in outcome:
        assert (kind, status) == ("timeout", 504)
    elif "Retry-After" in outcome:
        assert (kind, status) == ("rate_limit", 429)
    else:
        assert status == documented_status(outcome)
    assert trigger == f"{field} starts with {prefix}"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "4.23"},
        {"amount": 4},
        {"amount": "1.1"},
        {"amount": True},  # a boolean is not an amount
        {"amount": "abc"},
        {"amount": None},
        {"otherAmount": "4.22"},  # only the documented fields
        {"uniqueReferenceNumber": "X-SBX-500-1"},  # a prefix, not anywhere in the text
        {"uniqueReferenceNumber": "sbx-500-1"},
        {"uniqueReferenceNumber": 500},
        {"remarks": "SBX-500-1"},
        {"uniqueReferenceNumber": "DEMO-0001", "amount": 100},  # demo data never triggers
    ],
)
def test_ordinary_values_do_not_match(body):
    assert magic.match(body) is None


@pytest.mark.parametrize("body", [None, [{"amount": "4.22"}], "4.22", 4.22])
def test_only_json_objects_are_looked_at(body):
    assert magic.match(body) is None


def test_amounts_are_checked_before_references():
    kind, status, _ = magic.match({"uniqueReferenceNumber": "SBX-503-x", "amount": "5.55"})
    assert (kind, status) == ("status", 500)


def test_the_kyc_mobiles():
    assert magic.kyc_for_mobile("5000000001") == "PENDING"
    assert magic.kyc_for_mobile("5000000002") == "FAILED"
    assert magic.kyc_for_mobile("9876500001") is None and magic.kyc_for_mobile(None) is None
    doc = DOC.read_text(encoding="utf-8")
    assert f"holder mobile {magic.KYC_PENDING_MOBILE}" in doc and f"holder mobile {magic.KYC_FAILED_MOBILE}" in doc
    assert f"starting with {magic.PENDING_THEN_SUCCESS}" in doc and f"starting with {magic.PENDING_THEN_FAILURE}" in doc
