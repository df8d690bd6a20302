"""The request journal's redaction (bodies, headers, paths, queries, card numbers) and its bounds."""

from __future__ import annotations

import pytest
from enkash_sandbox.http.journal import (
    MASK,
    PATH_SECRET_KEYS,
    Journal,
    RawBody,
    decode_body,
    redact,
    redact_header,
    redact_path,
    redact_query,
)

SECRET = "hunter2-s3cret"


# -- bodies ---------------------------------------------------------------------------------------------
def test_secret_keys_are_masked_at_any_depth_and_in_any_case():
    body = {
        "Password": SECRET,
        "nested": {"ClientSecret": SECRET, "deeper": [{"otp": "123456"}, {"pinBlock": 8642}]},
        "access_token": SECRET,
        "refreshToken": SECRET,
        "firstName": "Asha",
    }
    out = redact(body)
    assert out == {
        "Password": MASK,
        "nested": {"ClientSecret": MASK, "deeper": [{"otp": MASK}, {"pinBlock": MASK}]},
        "access_token": MASK,
        "refreshToken": MASK,
        "firstName": "Asha",
    }
    assert body["Password"] == SECRET  # the recorded value itself is untouched: redaction is on the way out


def test_empty_secrets_stay_visible_so_a_missing_field_can_be_seen():
    assert redact({"password": None, "otp": "", "cvv": "123"}) == {"password": None, "otp": "", "cvv": MASK}


@pytest.mark.parametrize(
    "text, masked",
    [
        ("pan 4111111111111111 used", "pan 4111XXXXXXXX1111 used"),
        ("4111111111111", "4111XXXXX1111"),  # 13 digits
        ("6011000000000000004", "6011XXXXXXXXXXX0004"),  # 19 digits
    ],
)
def test_card_number_like_digit_runs_are_masked_in_text(text, masked):
    assert redact(text) == masked
    assert redact({"remarks": text}) == {"remarks": masked}


@pytest.mark.parametrize("text", ["123456789012", "12345678901234567890", "9876500001", "2024-01-02"])
def test_shorter_and_longer_digit_runs_are_not_card_numbers(text):
    assert redact(text) == text


def test_card_number_like_integers_are_masked_too():
    assert redact({"n": 4111111111111111}) == {"n": "4111XXXXXXXX1111"}
    assert redact({"n": 123456789012, "ok": True, "amount": 10.5}) == {"n": 123456789012, "ok": True, "amount": 10.5}


def test_json_bodies_are_decoded_then_redacted():
    assert decode_body(b'{"password": "hunter2-s3cret", "mobile": "9876500001"}', "application/json") == {
        "password": MASK,
        "mobile": "9876500001",
    }
    assert decode_body(b"", "application/json") is None
    assert decode_body(None) is None


def test_form_bodies_are_redacted_whatever_the_content_type_case():
    raw = f"username=u1&Password={SECRET}&grant_type=password&client_secret={SECRET}".encode()
    for content_type in ("application/x-www-form-urlencoded", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"):
        out = decode_body(raw, content_type)
        assert out == {"username": "u1", "Password": MASK, "grant_type": "password", "client_secret": MASK}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"password": "hunter2-s3cret", broken',
        b'{"clientSecret":"hunter2-s3cret"',
        b"password=hunter2-s3cret&x=1",
        b'{"pinBlock": 8642, "x": 1',
    ],
)
def test_bodies_that_are_not_valid_json_are_still_redacted(raw):
    out = decode_body(raw, "application/json")
    assert isinstance(out, str)
    assert SECRET not in out and "8642" not in out
    assert MASK in out


def test_keys_secret_only_on_some_operations():
    keys = PATH_SECRET_KEYS["/api/v0/partner/enKashCard/sso-token"]
    assert decode_body(b'{"token": "sso-abc"}', "application/json", keys) == {"token": MASK}
    # elsewhere `token` is a card token, shown as it is
    assert decode_body(b'{"token": "960d86edaf5d5d40a2b2"}', "application/json") == {"token": "960d86edaf5d5d40a2b2"}


# -- headers, paths, queries ----------------------------------------------------------------------------
def test_authorization_headers_keep_their_scheme_only():
    assert redact_header("Authorization", f"Bearer {SECRET}") == f"Bearer {MASK}"
    assert redact_header("authorization", "Basic Y2xpZW50OnNlY3JldA==") == f"Basic {MASK}"
    assert redact_header("Authorization", "Bearer") == f"Bearer {MASK}"
    assert redact_header("partnerId", "CRZTA688O") == "CRZTA688O"


def test_an_authorization_header_without_a_scheme_is_masked_whole():
    assert redact_header("Authorization", SECRET) == MASK


def test_tokens_in_sso_and_vkyc_paths_are_masked():
    assert redact_path(f"/sso/{SECRET}/catalog") == f"/sso/{MASK}/catalog"
    assert redact_path(f"/_sandbox/vkyc/{SECRET}") == f"/_sandbox/vkyc/{MASK}"
    assert redact_path("/api/v0/partner/enKashCard/search") == "/api/v0/partner/enKashCard/search"


def test_secret_query_parameters_and_card_numbers_are_masked():
    out = redact_query(f"password={SECRET}&name=asha&access_token={SECRET}&card=4111111111111111&otp=")
    assert SECRET not in out and "4111111111111111" not in out
    assert "name=asha" in out and "4111XXXXXXXX1111" in out
    assert "otp=&" not in out and out.endswith("otp=")  # an empty value has nothing to hide
    assert redact_query("") == ""


# -- bounds ---------------------------------------------------------------------------------------------
def entry(path="/api/v0/partner/enKashCard/balance", *, partner="P1", method="POST", status=200, body=None) -> dict:
    return {
        "time": "2030-01-01T00:00:00.000Z",
        "partnerId": partner,
        "method": method,
        "path": path,
        "status": status,
        "requestBody": body,
    }


def test_a_body_past_the_limit_is_cut_and_marked_truncated():
    body = RawBody(b'{"remarks": "' + b"x" * 200 + b'"}', "application/json", limit=64)
    assert body.truncated and body.kept_bytes == 64 and body.size == 215
    journal = Journal(10)
    journal.record(entry(body=body))
    (out,) = journal.query()
    assert out["requestBodyTruncated"] is True and out["requestBodyBytes"] == 215
    assert isinstance(out["requestBody"], str) and len(out["requestBody"]) <= 64  # not JSON any more, shown as text
    assert "_bytes" not in out


def test_a_body_within_the_limit_is_whole_and_unmarked():
    journal = Journal(10)
    journal.record(entry(body=RawBody(b'{"password": "x", "a": 1}', "application/json", limit=64)))
    (out,) = journal.query()
    assert out["requestBody"] == {"password": MASK, "a": 1}
    assert "requestBodyTruncated" not in out and "requestBodyBytes" not in out


def test_the_journal_keeps_the_newest_entries_by_count():
    journal = Journal(3)
    for n in range(5):
        journal.record(entry(path=f"/p/{n}"))
    assert [e["path"] for e in journal.query()] == ["/p/4", "/p/3", "/p/2"]
    assert [e["id"] for e in journal.query()] == [5, 4, 3]


def test_the_journal_keeps_the_newest_entries_by_bytes():
    journal = Journal(1000, max_bytes=3 * (512 + 100))
    for n in range(6):
        journal.record(entry(path=f"/p/{n}", body=RawBody(b"y" * 100, "text/plain")))
    assert len(journal.query()) == 3
    assert journal.bytes <= 3 * (512 + 100)
    assert journal.clear() == 3 and journal.query() == [] and journal.bytes == 0


def test_journal_filters():
    journal = Journal(100)
    journal.record(entry(path="/api/a", partner="P1", status=200))
    journal.record(entry(path="/api/b", partner="P2", status=422, method="GET"))
    journal.record(entry(path="/oauth/token", partner="P1", status=400))
    assert [e["path"] for e in journal.query(partner_id="P1")] == ["/oauth/token", "/api/a"]
    assert [e["path"] for e in journal.query(path="/api/*")] == ["/api/b", "/api/a"]
    assert [e["path"] for e in journal.query(path="/api")] == []  # exact unless it ends with *
    assert [e["path"] for e in journal.query(method="get")] == ["/api/b"]
    assert [e["path"] for e in journal.query(status=400)] == ["/oauth/token"]
    assert len(journal.query(limit=1)) == 1
