"""The error catalog rendered by the app's one set of handlers: each error in EnKash's failure envelope with its
documented status (docs/FIDELITY.md), and the success/failure envelope styles."""

from __future__ import annotations

import inspect

import pytest
from enkash_sandbox import errors
from enkash_sandbox.config import Settings
from enkash_sandbox.envelopes import A, B, failure_body, json_response, success_body
from enkash_sandbox.errors import (
    AccountNotFound,
    AuthError,
    BadRequest,
    BusinessFailure,
    CardNotFound,
    CardUnusable,
    CompanyNotFound,
    FieldError,
    InsufficientBalance,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
    UserNotFound,
    VendorError,
)

from tests.unit.conftest import in_process

# every error of the catalog: (how to make one, the HTTP status, the message the envelope carries)
CATALOG = {
    VendorError: (lambda: VendorError(), 400, "Bad Request"),
    BadRequest: (lambda: BadRequest("Mandatory parameter missing: companyId"), 400, "Mandatory parameter missing: companyId"),
    Unprocessable: (lambda: Unprocessable(), 422, "Unprocessable Entity"),
    FieldError: (lambda: FieldError("mobile", "must be 10 digits"), 422, "mobile: must be 10 digits"),
    UnsupportedMediaType: (lambda: UnsupportedMediaType(), 415, "Unsupported Media Type"),
    NotFound: (lambda: NotFound(), 404, "Not Found"),
    AccountNotFound: (
        lambda: AccountNotFound("CEKX", "CAY"),
        404,
        "Card account not found for companyId: CEKX and cardAccountId: CAY",
    ),
    CardNotFound: (
        lambda: CardNotFound("EKC1", "CA1"),
        404,
        "EnKash card not found for cardAccountId: CA1 and enKashCardId: EKC1",
    ),
    CompanyNotFound: (lambda: CompanyNotFound("CEK1"), 404, "Company not found: CEK1"),
    UserNotFound: (lambda: UserNotFound("EK1"), 404, "User not found: EK1"),
    PayloadTooLarge: (lambda: PayloadTooLarge(), 413, "Request body is larger than the sandbox accepts"),
    BusinessFailure: (lambda: BusinessFailure("Card is locked"), 200, "Card is locked"),
    InsufficientBalance: (lambda: InsufficientBalance(), 200, "Insufficient balance in card account"),
    CardUnusable: (lambda: CardUnusable("Card EKC1 was replaced"), 200, "Card EKC1 was replaced"),
}


def test_the_table_covers_the_whole_catalog():
    """A new error class must get a row here (and so a status someone decided on)."""
    defined = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, VendorError) and cls.__module__ == errors.__name__
    }
    assert defined == set(CATALOG)


@pytest.fixture(scope="module")
def app_client():
    def raiser(name: str):
        if name == "auth-401":
            raise AuthError(401, "invalid_token", "Invalid access token: abc")
        if name == "auth-400":
            raise AuthError(400, "invalid_grant", "Bad credentials")
        if name == "unexpected":
            raise RuntimeError("boom")
        raise next(make for cls, (make, _, _) in CATALOG.items() if cls.__name__ == name)()

    with in_process() as client:
        # a route of the real app (its real handlers) that raises whichever error it is asked for
        client.app.add_api_route("/errors-under-test/{name}", raiser, methods=["GET"])  # type: ignore[attr-defined]
        yield client


@pytest.mark.parametrize("cls", list(CATALOG), ids=lambda c: c.__name__)
def test_each_error_renders_enkashs_failure_envelope_with_its_status(app_client, cls):
    _, status, message = CATALOG[cls]
    response = app_client.get(f"/errors-under-test/{cls.__name__}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if cls is FieldError:
        assert body.pop("errors") == [{"field": "mobile", "message": "must be 10 digits"}]
    assert body == {"response_code": 1, "response_message": message, "payload": message}


def test_a_field_error_lists_every_field_and_may_carry_its_own_status():
    err = FieldError("a", "bad", ("b", "worse"), summary="two problems", status=400)
    assert err.status == 400 and err.message == "two problems"
    assert err.errors == [{"field": "a", "message": "bad"}, {"field": "b", "message": "worse"}]
    assert FieldError("x", "y").status == 422  # the class default is untouched
    assert FieldError.status == 422


def test_auth_errors_render_the_spring_oauth_shape(app_client):
    response = app_client.get("/errors-under-test/auth-401")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "Invalid access token: abc"}
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    response = app_client.get("/errors-under-test/auth-400")
    assert response.status_code == 400 and "www-authenticate" not in response.headers
    assert response.json() == {"error": "invalid_grant", "error_description": "Bad credentials"}


def test_an_unexpected_error_is_a_500_in_the_failure_envelope_without_its_text(app_client):
    response = app_client.get("/errors-under-test/unexpected")
    assert response.status_code == 500
    assert response.json() == {
        "response_code": 1,
        "response_message": "Internal Server Error",
        "payload": "Internal Server Error",
    }


def test_an_unknown_path_gets_spring_boots_default_body(app_client):
    response = app_client.get("/api/v0/partner/no-such-thing")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "path"}
    assert body["status"] == 404 and body["error"] == "Not Found" and body["path"] == "/api/v0/partner/no-such-thing"


# -- envelope styles ------------------------------------------------------------------------------------
def test_success_uses_each_endpoints_documented_style():
    settings = Settings(envelope_style="documented")
    assert success_body(settings, {"x": 1}, A) == {"code": 0, "message": "Success", "payload": {"x": 1}}
    assert success_body(settings, [1], B) == {"response_code": 0, "response_message": "Success", "payload": [1]}


@pytest.mark.parametrize(
    "forced, keys", [("code", ("code", "message")), ("response_code", ("response_code", "response_message"))]
)
def test_a_forced_style_wins_everywhere(forced, keys):
    settings = Settings(envelope_style=forced)
    for documented in (A, B):
        body = success_body(settings, "p", documented)
        assert body == {keys[0]: 0, keys[1]: "Success", "payload": "p"}


def test_failures_carry_the_message_twice_and_errors_only_when_there_are_some():
    documented = Settings(envelope_style="documented")
    assert failure_body(documented, "nope") == {"response_code": 1, "response_message": "nope", "payload": "nope"}
    assert failure_body(documented, "nope", []) == {"response_code": 1, "response_message": "nope", "payload": "nope"}
    assert failure_body(documented, "nope", [{"field": "f", "message": "m"}])["errors"] == [{"field": "f", "message": "m"}]
    assert failure_body(Settings(envelope_style="code"), "nope") == {"code": 1, "message": "nope", "payload": "nope"}
    assert failure_body(Settings(envelope_style="response_code"), "nope")["response_code"] == 1


def test_json_response_keeps_amounts_exact():
    from decimal import Decimal

    response = json_response({"amount": Decimal("990553.44"), "whole": Decimal("11.00")}, 201, {"X-Test": "1"})
    assert response.status_code == 201 and response.headers["x-test"] == "1"
    assert response.body == b'{"amount":990553.44,"whole":11}'
