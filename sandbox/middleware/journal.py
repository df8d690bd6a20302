"""The request journal: a bounded ring of what partners sent and got back, decrypted, secrets redacted.

Per process (each worker keeps its own ring); partners' CI asserts "my app sent exactly this".
"""

from __future__ import annotations

import re
import threading
from collections import deque
from itertools import count
from urllib.parse import parse_qsl

from enkash_sandbox import jsonio

SECRET_KEYS = {"authorization", "password", "clientsecret", "client_secret", "pinblock", "pin", "otp", "mfacode",
               "access_token", "refresh_token", "accesstoken", "cvv", "token_secret", "voucherpin"}
PAN_LIKE = re.compile(r"(?<!\d)(\d{4})\d{5,11}(\d{4})(?!\d)")
MASK = "***"


def redact(value):
    """Mask secret fields and card-number-like digit runs (13-19 digits) anywhere in a JSON value."""
    if isinstance(value, dict):
        return {k: (MASK if k.lower() in SECRET_KEYS and v not in (None, "") else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return PAN_LIKE.sub(lambda m: m.group(1) + "X" * (len(m.group(0)) - 8) + m.group(2), value)
    if isinstance(value, int) and not isinstance(value, bool) and 13 <= len(str(abs(value))) <= 19:
        return redact(str(value))
    return value


def redact_header(name: str, value: str) -> str:
    if name.lower() == "authorization":
        scheme, _, _ = value.partition(" ")
        return f"{scheme} {MASK}" if scheme else MASK
    return value


def decode_body(raw: bytes | None, content_type: str = "") -> object:
    if not raw:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            return redact(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
        except UnicodeDecodeError:
            return "<undecodable form>"
    try:
        return redact(jsonio.loads(raw))
    except jsonio.JSONDecodeError:
        text = raw[:2048].decode("utf-8", errors="replace")
        return redact(text)


class RawBody:
    """A body as it crossed the wire (decrypted), decoded and redacted only when the journal is read."""

    __slots__ = ("raw", "content_type")

    def __init__(self, raw: bytes | None, content_type: str = ""):
        self.raw = raw
        self.content_type = content_type

    def decode(self):
        return decode_body(self.raw, self.content_type)


def _materialise(entry: dict) -> dict:
    out = dict(entry)
    for key in ("requestBody", "responseBody"):
        if isinstance(out.get(key), RawBody):
            out[key] = out[key].decode()
    return out


class Journal:
    def __init__(self, size: int):
        self._entries: deque[dict] = deque(maxlen=max(1, size))
        self._ids = count(1)
        self._lock = threading.Lock()

    def record(self, entry: dict) -> None:
        with self._lock:
            entry["id"] = next(self._ids)
            self._entries.append(entry)

    def clear(self) -> int:
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
            return n

    def query(self, *, partner_id: str | None = None, path: str | None = None, method: str | None = None,
              status: int | None = None, since: str | None = None, limit: int = 100) -> list[dict]:
        with self._lock:
            entries = list(self._entries)
        out = []
        for entry in reversed(entries):
            if partner_id and entry.get("partnerId") != partner_id:
                continue
            if path and not (entry["path"] == path or (path.endswith("*") and entry["path"].startswith(path[:-1]))):
                continue
            if method and entry["method"] != method.upper():
                continue
            if status is not None and entry["status"] != status:
                continue
            if since and entry["time"] < since:
                continue
            out.append(_materialise(entry))
            if len(out) >= limit:
                break
        return out
