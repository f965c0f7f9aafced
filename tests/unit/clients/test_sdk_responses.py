import json

import pytest

from clients.sdk import (
    AuthorizationDenied,
    DataAccessDenied,
    InvalidGrant,
    InvalidToken,
    OAuthError,
    TransportError,
)
from clients.sdk.responses import oauth_failure, parse_problem, problem_failure

ISSUER = "http://127.0.0.1:8000"
PROBLEM = "application/problem+json"


def _problem(reason: str, status: int, **extra: object) -> bytes:
    body = {
        "type": f"{ISSUER}/problems/{reason}",
        "title": "Consent revoked",
        "status": status,
        "detail": "the resident revoked it",
        "reason": reason,
        "grant_id": "g-1",
        **extra,
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize("reason", ["consent_revoked", "consent_expired", "consent_not_active"])
def test_a_withdrawn_consent_becomes_data_access_denied_with_its_reason(reason: str) -> None:
    error = problem_failure(403, PROBLEM, _problem(reason, 403), {})
    assert isinstance(error, DataAccessDenied)
    assert error.reason == reason
    assert error.problem.status == 403
    assert error.problem.grant_id == "g-1"
    assert error.problem.detail == "the resident revoked it"


def test_a_401_invalid_token_becomes_invalid_token() -> None:
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    error = problem_failure(401, PROBLEM, _problem("invalid_token", 401), headers)
    assert isinstance(error, InvalidToken)
    assert error.problem is not None and error.problem.reason == "invalid_token"


def test_a_bare_401_is_still_invalid_token() -> None:
    error = problem_failure(401, "text/plain", b"nope", {})
    assert isinstance(error, InvalidToken)


def test_quota_exceeded_carries_retry_after() -> None:
    error = problem_failure(429, PROBLEM, _problem("quota_exceeded", 429), {"Retry-After": "12"})
    assert isinstance(error, DataAccessDenied)
    assert error.retry_after == 12


def test_holder_error_keeps_the_holder_code() -> None:
    body = _problem("holder_error", 502, holder_error="ADAM-DC-0008")
    error = problem_failure(502, PROBLEM, body, {})
    assert isinstance(error, DataAccessDenied)
    assert error.problem.holder_error == "ADAM-DC-0008"


def test_reason_is_recovered_from_the_type_when_missing() -> None:
    body = json.dumps({"type": f"{ISSUER}/problems/outside_data_window", "status": 403}).encode()
    problem = parse_problem(403, body)
    assert problem is not None and problem.reason == "outside_data_window"


def test_a_non_problem_error_page_is_a_transport_error() -> None:
    error = problem_failure(502, "text/html", b"<html>Bad gateway</html>", {})
    assert isinstance(error, TransportError)
    assert error.status == 502


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("invalid_grant", InvalidGrant),
        ("access_denied", AuthorizationDenied),
        ("invalid_client", OAuthError),
    ],
)
def test_oauth_errors_map_to_their_class(code: str, expected: type[OAuthError]) -> None:
    body = json.dumps({"error": code, "error_description": "why"}).encode()
    error = oauth_failure(400, body)
    assert type(error) is expected
    assert isinstance(error, OAuthError)
    assert (error.error, error.description, error.status) == (code, "why", 400)


def test_an_oauth_answer_that_is_not_json_is_a_transport_error() -> None:
    assert isinstance(oauth_failure(500, b"Internal Server Error"), TransportError)
