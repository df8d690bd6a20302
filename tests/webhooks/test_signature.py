"""The signature the deliverer writes and the one verify_signature() accepts are the same scheme: HMAC-SHA256
of "<t>.<body>", hex, with a timestamp tolerance; anything else is refused."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from enkash_sandbox.client import verify_signature
from enkash_sandbox.products.webhooks.deliverer import signature

SECRET = "whsec_0123456789abcdef"
BODY = b'{"amount":12345.67,"eventType":"CARD_LOADED"}'
T = 1_800_000_000


def test_the_deliverers_signature_verifies():
    header = signature(SECRET, BODY, T)
    mac = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},v1={mac}"
    assert verify_signature(BODY, header, SECRET, now=T)
    assert verify_signature(BODY, header, SECRET, now=T + 300) and verify_signature(BODY, header, SECRET, now=T - 300)


@pytest.mark.parametrize(
    ("body", "header", "secret", "now"),
    [
        (BODY + b" ", signature(SECRET, BODY, T), SECRET, T),  # one byte more
        (BODY, signature(SECRET, BODY, T), SECRET + "x", T),  # another secret
        (BODY, signature(SECRET, BODY, T), SECRET, T + 301),  # too old: a replay
        (BODY, signature(SECRET, BODY, T), SECRET, T - 301),  # from the future
        (BODY, signature(SECRET, BODY, T).replace(f"t={T}", f"t={T + 1}"), SECRET, T),  # timestamp changed
        (BODY, f"t={T}", SECRET, T),  # no v1
        (BODY, "v1=" + "0" * 64, SECRET, T),  # no t
        (BODY, f"t=soon,v1={'0' * 64}", SECRET, T),
        (BODY, "", SECRET, T),
        (BODY, "garbage", SECRET, T),
    ],
)
def test_anything_else_is_refused(body, header, secret, now):
    assert verify_signature(body, header, secret, now=now) is False


def test_any_of_several_v1_values_may_match():
    header = signature(SECRET, BODY, T) + ",v1=" + "0" * 64
    assert verify_signature(BODY, header, SECRET, now=T)
