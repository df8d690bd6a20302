"""The request journal: a bounded ring of what partners sent and got back, decrypted, secrets redacted.

Per process (each worker keeps its own ring; docs/ARCHITECTURE.md says so and why); partners' CI asserts
"my app sent exactly this". Bounded twice: by entries and by bytes, and each body is kept up to
`journal_body_bytes` (the rest is dropped and the entry says so), so no caller can grow it without limit.

Redaction happens when the journal is read, in every representation a secret can travel in: JSON keys (any
case, any depth), form bodies (whatever the Content-Type's case), text that is not valid JSON, query
strings, and URL paths that carry a token (SSO and VKYC links). Card-number-like digit runs are masked too.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, urlencode

from enkash_sandbox import jsonio

SECRET_KEYS = {
    "authorization",
    "password",
    "clientsecret",
    "client_secret",
    "pinblock",
    "pin",
    "otp",
    "mfacode",
    "access_token",
    "refresh_token",
    "accesstoken",
    "refreshtoken",
    "cvv",
    "token_secret",
    "voucherpin",
    "secret",
    "admin_token",
    "admintoken",
}
# keys that hold a credential only on some operations (a card view's `token` is a card token, not a login)
PATH_SECRET_KEYS = {"/api/v0/partner/enKashCard/sso-token": {"token"}}
PAN_LIKE = re.compile(r"(?<!\d)(\d{4})\d{5,11}(\d{4})(?!\d)")
# a token inside a URL path: /sso/<token>/..., /_sandbox/vkyc/<token>
TOKEN_IN_PATH = re.compile(r"(/sso/|/vkyc/)([^/\"'\s?#]+)")
_KEYS = "|".join(sorted((re.escape(k) for k in SECRET_KEYS), key=len, reverse=True))
# "key": "value" / "key": 1234 and key=value, for bodies that are not valid JSON (or not JSON at all)
TEXT_SECRETS = [
    re.compile(rf'("(?:{_KEYS})"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}}\]\s]+)', re.I),
    re.compile(rf"(\b(?:{_KEYS})=)([^&\s]*)", re.I),
]
MASK = "***"
AUTH_SCHEMES = {"bearer", "basic", "digest"}


def _mask_text(text: str) -> str:
    text = TOKEN_IN_PATH.sub(lambda m: m.group(1) + MASK, text)
    for pattern in TEXT_SECRETS:
        text = pattern.sub(lambda m: m.group(1) + (f'"{MASK}"' if m.group(2).startswith('"') else MASK), text)
    return PAN_LIKE.sub(lambda m: m.group(1) + "X" * (len(m.group(0)) - 8) + m.group(2), text)


def redact(value: Any, extra_keys: frozenset[str] | set[str] = frozenset()) -> Any:
    """Mask secret fields, tokens in URLs and card-number-like digit runs anywhere in a JSON value."""
    if isinstance(value, dict):
        return {
            k: (
                MASK
                if isinstance(k, str) and (k.lower() in SECRET_KEYS or k in extra_keys) and v not in (None, "")
                else redact(v, extra_keys)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, extra_keys) for v in value]
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and 13 <= len(str(abs(value))) <= 19:
        return _mask_text(str(value))
    return value


def redact_header(name: str, value: str) -> str:
    if name.lower() == "authorization":
        # keep the scheme (Bearer, Basic) when there is one; a bare value is all secret
        scheme, space, _ = value.strip().partition(" ")
        return f"{scheme} {MASK}" if space or scheme.lower() in AUTH_SCHEMES else MASK
    return value


def redact_path(path: str) -> str:
    if "/sso/" not in path and "/vkyc/" not in path:  # every path but two kinds: no regex per request
        return path
    return TOKEN_IN_PATH.sub(lambda m: m.group(1) + MASK, path)


def redact_query(query: str) -> str:
    if not query:
        return query
    try:
        pairs = parse_qsl(query, keep_blank_values=True)
    except ValueError:
        return _mask_text(query)
    return urlencode([(k, MASK if k.lower() in SECRET_KEYS and v else _mask_text(v)) for k, v in pairs])


def decode_body(raw: bytes | None, content_type: str = "", extra_keys: frozenset[str] | set[str] = frozenset()) -> Any:
    if not raw:
        return None
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        try:
            return redact(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)), extra_keys)
        except (UnicodeDecodeError, ValueError):
            return _mask_text(raw[:2048].decode("utf-8", errors="replace"))
    try:
        return redact(jsonio.loads(raw), extra_keys)
    except jsonio.JSONDecodeError:
        return _mask_text(raw[:4096].decode("utf-8", errors="replace"))


class RawBody:
    """A body as it crossed the wire (decrypted, at most `limit` bytes of it), decoded and redacted only when
    the journal is read."""

    __slots__ = ("raw", "content_type", "size", "extra_keys")

    def __init__(
        self,
        raw: bytes | None,
        content_type: str = "",
        limit: int = 64 * 1024,
        extra_keys: frozenset[str] | set[str] = frozenset(),
    ):
        self.size = len(raw) if raw else 0
        self.raw = raw[:limit] if raw else raw
        self.content_type = content_type
        self.extra_keys = extra_keys

    @property
    def truncated(self) -> bool:
        return self.raw is not None and len(self.raw) < self.size

    @property
    def kept_bytes(self) -> int:
        return len(self.raw) if self.raw else 0

    def decode(self) -> Any:
        return decode_body(self.raw, self.content_type, self.extra_keys)


def _materialise(entry: dict) -> dict:
    out = dict(entry)
    out.pop("_bytes", None)
    for key in ("requestBody", "responseBody"):
        body = out.get(key)
        if isinstance(body, RawBody):
            out[key] = body.decode()
            if body.truncated:
                out[key + "Truncated"] = True
                out[key + "Bytes"] = body.size
    return out


class Journal:
    def __init__(self, size: int, max_bytes: int = 32 * 1024 * 1024):
        self.size = max(1, size)
        self.max_bytes = max(1, max_bytes)
        self._entries: deque[dict] = deque()
        self._bytes = 0
        self._ids = count(1)
        self._lock = threading.Lock()

    def record(self, entry: dict) -> None:
        weight = 512 + sum(
            body.kept_bytes for body in (entry.get("requestBody"), entry.get("responseBody")) if isinstance(body, RawBody)
        )
        entry["_bytes"] = weight
        with self._lock:
            if "id" not in entry:
                entry["id"] = next(self._ids)
            self._entries.append(entry)
            self._bytes += weight
            while self._entries and (len(self._entries) > self.size or self._bytes > self.max_bytes):
                self._bytes -= self._entries.popleft()["_bytes"]

    def reserve(self) -> int:
        """An id for an entry recorded later: the gateway names it in X-Sandbox-Explain before the answer goes out."""
        with self._lock:
            return next(self._ids)

    def get(self, entry_id: int) -> dict | None:
        with self._lock:
            found = next((entry for entry in self._entries if entry["id"] == entry_id), None)
        return _materialise(found) if found is not None else None

    def clear(self) -> int:
        with self._lock:
            n = len(self._entries)
            self._entries.clear()
            self._bytes = 0
            return n

    @property
    def bytes(self) -> int:
        return self._bytes

    def query(
        self,
        *,
        partner_id: str | None = None,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
        since: str | None = None,
        limit: int = 100,
    ) -> list[dict]:
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
