"""EnKash-shaped ids from one seeded generator.

Each kind of id is a bijection of a per-kind counter: n -> (a*n + b) mod 36^width, written in
base 36 after the kind's prefix. a and b come from the seed, so a seed always yields the same ids,
and because the map is a bijection two ids of one kind never collide, however many are made.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class IdKind:
    prefix: str
    width: int


KINDS: dict[str, IdKind] = {
    "partner": IdKind("CR", 7),
    "company": IdKind("CEK", 7),
    "account": IdKind("CA", 7),
    "user": IdKind("EK", 6),
    "card": IdKind("EKC", 7),
    "txn": IdKind("ECT", 10),
    "otp": IdKind("EK", 8),
    "plan": IdKind("PM", 7),
    "fault": IdKind("FR", 8),
    "order": IdKind("OR", 11),
    "coin_config": IdKind("WCC", 6),
    "voucher": IdKind("VC", 10),
    "voucher-code": IdKind("", 16),
    "webhook": IdKind("WH", 8),
    "event": IdKind("EV", 12),
    # payouts: enkashTransactionId (EKPT + 12), fund sources (EK + 8, as the docs' EKCI4XTWKC), payout movements
    "payout": IdKind("EKPT", 12),
    "fund_source": IdKind("EK", 8),
    "payout_movement": IdKind("EKPM", 10),
}


@lru_cache(maxsize=1024)
def _affine(seed: int, kind: str, modulus: int) -> tuple[int, int]:
    digest = hashlib.blake2b(f"{seed}:{kind}".encode(), digest_size=16).digest()
    a = int.from_bytes(digest[:8], "big") % modulus
    a |= 1  # odd ...
    while a % 3 == 0:  # ... and not a multiple of 3: coprime with 36^k, so the map is a bijection
        a += 2
    b = int.from_bytes(digest[8:], "big") % modulus
    return a % modulus, b


def format_id(seed: int, kind: str, n: int) -> str:
    spec = KINDS[kind]
    modulus = 36**spec.width
    a, b = _affine(seed, kind, modulus)
    x = (a * n + b) % modulus
    chars = []
    for _ in range(spec.width):
        x, r = divmod(x, 36)
        chars.append(ALPHABET[r])
    return spec.prefix + "".join(reversed(chars))


def hex_token(seed: int, kind: str, n: int, length: int = 20) -> str:
    """Seeded lower-case hex (card tokens)."""
    return hashlib.blake2b(f"{seed}:{kind}:{n}".encode(), digest_size=32).hexdigest()[:length]


def digits(seed: int, kind: str, n: int, count: int) -> str:
    value = int.from_bytes(hashlib.blake2b(f"{seed}:{kind}:{n}".encode(), digest_size=8).digest(), "big")
    return str(value % 10**count).zfill(count)
