import pytest
from enkash_sandbox import crypto


def test_documented_test_vector():
    # computed from EnKash's NodeJS sample (key = SHA-256(secret)[:16], AES-128-ECB, PKCS#7, Base64)
    assert crypto.derive_key("enkash-secret").hex() == "919b44b45a71733be41872829ce38868"
    assert crypto.encrypt('{"companyId":"CEKEP5GSGP","cardAccountId":"CAA8W45"}', "enkash-secret") == (
        "1xarTaeNFLv4Mqtee791NEY421WQ8EFCbgF+ouEDzZxKujQlfjsIdYsrhlFqBvCCetYvBXZN537bzHGnbEsbFg=="
    )


def test_round_trip_unicode():
    obj = {"firstName": "ज्योति", "amount": 10.5}
    assert crypto.decrypt_json(crypto.encrypt_json(obj, "s3cret"), "s3cret") == obj


@pytest.mark.parametrize(
    "ciphertext, reason",
    [
        ("not base64 !!", "Base64"),
        ("", "non-empty"),
        ("AAAA", "block size"),
    ],
)
def test_bad_ciphertext_is_a_clear_error(ciphertext, reason):
    with pytest.raises(crypto.EnvelopeError, match=reason):
        crypto.decrypt(ciphertext, "secret")


def test_wrong_key_is_detected():
    envelope = crypto.encrypt_json({"a": 1}, "right")
    with pytest.raises(crypto.EnvelopeError):
        crypto.decrypt_json(envelope, "wrong")


def test_truncated_ciphertext_is_detected():
    value = crypto.encrypt_json({"a": "x" * 40}, "k")["request"]
    with pytest.raises(crypto.EnvelopeError):
        crypto.decrypt(value[:-8], "k")
