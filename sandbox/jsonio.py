"""JSON in and out. Strict on the way in (no NaN/Infinity, as Jackson), exact money on the way out."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import orjson


def decimal_text(value: Decimal) -> str:
    """A Decimal as the docs print amounts: 11.00 -> 11, 10.50 -> 10.5, 990553.44 -> 990553.44 — exactly,
    however large (money never passes through a float, not even on its way out)."""
    if value == value.to_integral_value():
        return str(int(value))
    # the exact digits, trailing zeros dropped (normalize() would round to the context's 28 digits)
    return format(value, "f").rstrip("0")


# the JSON text of amounts already written, by value (equal values print alike: 11.00 and 11.0 are both "11"):
# a card answer holds seven amounts and most are the same few values; bounded, as the values are callers'
_FRAGMENTS: dict[Decimal, orjson.Fragment] = {}
_FRAGMENTS_MAX = 4096


def _default(obj):
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise TypeError("cannot serialise a non-finite Decimal")
        fragment = _FRAGMENTS.get(obj)
        if fragment is None:
            if len(_FRAGMENTS) >= _FRAGMENTS_MAX:
                _FRAGMENTS.clear()
            fragment = _FRAGMENTS[obj] = orjson.Fragment(decimal_text(obj).encode())
        return fragment
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def _big_ints(obj):
    """Integers past 64 bits (orjson's limit) as raw JSON text, everything else as it is."""
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int) and not -(2**63) <= obj < 2**64:
        return orjson.Fragment(str(obj).encode())
    if isinstance(obj, dict):
        return {k: _big_ints(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_big_ints(v) for v in obj]
    return obj


def dumps(obj) -> bytes:
    try:
        return orjson.dumps(obj, default=_default)
    except TypeError:
        return orjson.dumps(_big_ints(obj), default=_default)


def loads(data: bytes | str):
    return orjson.loads(data)


def loads_exact(data: bytes | str):
    """JSON whose numbers with a fraction are read as Decimal (amounts stored by `dumps` read back exactly)."""
    return json.loads(data, parse_float=Decimal)


JSONDecodeError = orjson.JSONDecodeError
