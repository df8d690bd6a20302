"""EnKash's AES envelope: AES-128-ECB, PKCS#7, key = SHA-256(client secret)[:16], standard Base64.

The wire format is {"request": "<base64 ciphertext>"} in both directions (the docs use the key
`request` for responses too).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from functools import lru_cache

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from enkash_sandbox import jsonio


class EnvelopeError(ValueError):
    """The ciphertext could not be turned back into a JSON request."""


@lru_cache(maxsize=4096)
def derive_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()[:16]


def _cipher(secret: str) -> Cipher:
    return Cipher(algorithms.AES(derive_key(secret)), modes.ECB())


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets, whatever characters a caller sends (hmac.compare_digest
    refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def encrypt(plaintext: str | bytes, secret: str) -> str:
    data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = _cipher(secret).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode("ascii")


def decrypt(ciphertext_b64: str, secret: str) -> bytes:
    try:
        raw = base64.b64decode(ciphertext_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise EnvelopeError("request is not valid Base64") from exc
    if not raw:
        raise EnvelopeError("request must be a non-empty Base64 string")
    if len(raw) % 16:
        raise EnvelopeError("ciphertext length is not a multiple of the AES block size (truncated?)")
    dec = _cipher(secret).decryptor()
    padded = dec.update(raw) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise EnvelopeError("ciphertext does not decrypt with this partner's key (wrong secret?)") from exc


def encrypt_json(obj: object, secret: str) -> dict[str, str]:
    """Wrap a JSON-serialisable object the way a partner sends it."""
    return {"request": encrypt(jsonio.dumps(obj), secret)}


def decrypt_json(envelope: str | dict, secret: str) -> object:
    """Accept a bare Base64 string or a {"request": ...} envelope and return the decoded JSON."""
    if isinstance(envelope, dict):
        value = envelope.get("request")
        if not isinstance(value, str):
            raise EnvelopeError('envelope must be {"request": "<base64>"}')
        envelope = value
    plaintext = decrypt(envelope, secret)
    try:
        return json.loads(plaintext)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EnvelopeError("decrypted request is not JSON") from exc
