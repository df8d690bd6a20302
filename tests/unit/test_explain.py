"""X-Sandbox-Explain's text: when it is there, what it says, and that it stays one short latin-1 line."""

from enkash_sandbox.http.explain import MAX_CHARS, explanation


def explain(status: int, body: bytes, **kw) -> str | None:
    args = {"method": "POST", "path": "/api/v0/partner/enKashCard/balance", "principal": None, "hint": None, "fault": None}
    return explanation(status, body, **{**args, "journal_id": 7, **kw})


def test_a_success_has_none_and_a_failure_has_one():
    assert explain(200, b'{"response_code":0,"response_message":"Success","payload":{}}') is None
    assert explain(200, b'{"code":0,"message":"Success","payload":{"code":1}}') is None
    text = explain(200, b'{"response_code":1,"response_message":"Insufficient balance in card account","payload":"x"}')
    assert text is not None
    assert text.startswith("business failure (response_code 1): Insufficient balance in card account. What to do: fund")
    assert text.endswith(" Journal: /_sandbox/requests/7")


def test_a_failure_is_read_from_the_envelopes_head_in_either_style_and_a_nested_code_is_not_one():
    # only the head is searched (the envelope's code comes first), so a long success stays cheap to check
    long_success = b'{"code":0,"message":"Success","payload":{"rows":[' + b'{"code":1},' * 500 + b'{"code":1}]}}'
    assert explain(200, long_success) is None
    assert explain(200, b'{"code":1,"message":"Card is blocked","payload":"Card is blocked"}') is not None
    assert explain(200, b'{"response_code": 1, "response_message": "No", "payload": "No"}') is not None


def test_the_raise_sites_hint_wins_and_a_fault_names_its_trigger():
    body = b'{"error":"invalid_token","error_description":"Invalid access token"}'
    assert explain(401, body, hint="do this").startswith("401 invalid_token: Invalid access token. What to do: do this.")
    faulted = explain(503, b'{"response_code":1,"response_message":"x","payload":"x"}', fault={"source": "rule:F1"})
    assert "fault rule F1" in faulted and "DELETE /_sandbox/faults/F1" in faulted


def test_a_long_or_hostile_message_stays_one_bounded_line_with_its_pointer():
    long = ("a\r\nb" * 2000).encode()
    body = b'{"response_code":1,"response_message":"' + long.replace(b"\r\n", b"\\r\\n") + b'","payload":"x"}'
    text = explain(422, body)
    assert text is not None and len(text) <= MAX_CHARS and "\r" not in text and "\n" not in text
    assert text.endswith(" Journal: /_sandbox/requests/7")
    assert explain(502, b"<html>bad gateway</html>").startswith("502 HTTP 502. What to do:")
