"""JSON in and out. Strict on the way in (no NaN/Infinity, as Jackson), exact money on the way out."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import orjson


def _default(obj):
    if isinstance(obj, Decimal):
        # amounts are bounded (money.MAX_AMOUNT) with two places, so the shortest float repr is
        # exactly the decimal text: 11.00 -> 11, 990553.44 -> 990553.44, as the docs print them
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def dumps(obj) -> bytes:
    try:
        return orjson.dumps(obj, default=_default)
    except TypeError:
        # integers past 64 bits (orjson's limit) still serialise, slowly
        return json.dumps(obj, default=_default, separators=(",", ":"), ensure_ascii=False).encode()


def loads(data: bytes | str):
    return orjson.loads(data)


JSONDecodeError = orjson.JSONDecodeError
