from decimal import Decimal

import pytest
from enkash_sandbox import ids
from enkash_sandbox.money import AmountError, from_minor, parse_amount, to_minor


@pytest.mark.parametrize("raw, expected", [(10, "10.00"), ("10.5", "10.50"), (0.01, "0.01"), (1e2, "100.00")])
def test_amounts_accept_numbers_and_numeric_strings(raw, expected):
    assert parse_amount(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", [-1, 0, "0.001", "NaN", "Infinity", "abc", True, None, "1e13", "1e2", " 5", [1]])
def test_amounts_reject_what_money_cannot_be(raw):
    with pytest.raises(AmountError):
        parse_amount(raw)


def test_minor_units_round_trip_exactly():
    for text in ("0.01", "990553.44", "999999999999.99"):
        assert from_minor(to_minor(Decimal(text))) == Decimal(text)


def test_ids_have_enkash_shapes():
    assert ids.format_id(1, "company", 0).startswith("CEK") and len(ids.format_id(1, "company", 0)) == 10
    assert len(ids.format_id(1, "card", 5)) == 10 and ids.format_id(1, "card", 5).startswith("EKC")
    assert len(ids.format_id(1, "user", 5)) == 8
    assert len(ids.format_id(1, "txn", 5)) == 13 and ids.format_id(1, "txn", 5).startswith("ECT")
    assert len(ids.format_id(1, "partner", 5)) == 9


def test_ids_are_deterministic_per_seed_and_never_collide():
    first = [ids.format_id(42, "user", n) for n in range(20000)]
    assert first == [ids.format_id(42, "user", n) for n in range(20000)]
    assert len(set(first)) == len(first)
    assert first[:5] != [ids.format_id(43, "user", n) for n in range(5)]


def test_amounts_print_exactly_and_alike_for_equal_values_however_many_are_written(monkeypatch):
    from enkash_sandbox import jsonio

    monkeypatch.setattr(jsonio, "_FRAGMENTS_MAX", 8)
    assert jsonio.dumps([Decimal("11.00"), Decimal("11.0"), Decimal("11")]) == b"[11,11,11]"
    assert jsonio.dumps({"a": Decimal("10.50"), "b": Decimal("10.5")}) == b'{"a":10.5,"b":10.5}'
    big = Decimal("123456789012345678901234567.89")
    assert jsonio.dumps(big) == b"123456789012345678901234567.89"
    for minor in range(100):  # more values than the cache holds: it starts again, never grows past its bound
        assert jsonio.dumps(Decimal(minor) / 100) == (f"{minor / 100:g}".encode() if minor % 100 else b"0")
    assert len(jsonio._FRAGMENTS) <= 8
    with pytest.raises(TypeError):
        jsonio.dumps(Decimal("NaN"))
    with pytest.raises(TypeError):
        jsonio.dumps(Decimal("sNaN"))
