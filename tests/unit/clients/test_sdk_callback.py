import pytest

from clients.sdk import (
    AuthorizationDenied,
    InvalidGrant,
    IssuerMismatch,
    OAuthError,
    PendingAuthorization,
    ProtocolViolation,
    StateMismatch,
)
from clients.sdk.callback import check_callback

ISSUER = "http://127.0.0.1:8000"
PENDING = PendingAuthorization(
    url=f"{ISSUER}/oauth/authorize?client_id=c&request_uri=urn:x",
    state="the-state",
    code_verifier="v" * 43,
    redirect_uri="http://127.0.0.1:8002/callback",
)


def test_a_good_callback_yields_its_code() -> None:
    query = {"code": "abc", "state": "the-state", "iss": ISSUER}
    assert check_callback(query, PENDING, ISSUER) == "abc"


@pytest.mark.parametrize("state", ["other-state", "", None])
def test_a_state_that_is_not_ours_is_refused(state: str | None) -> None:
    query = {"code": "abc", "iss": ISSUER}
    if state is not None:
        query["state"] = state
    with pytest.raises(StateMismatch):
        check_callback(query, PENDING, ISSUER)


@pytest.mark.parametrize("iss", ["https://evil.example", f"{ISSUER}/", None])
def test_an_issuer_that_is_not_ours_is_refused(iss: str | None) -> None:
    query = {"code": "abc", "state": "the-state"}
    if iss is not None:
        query["iss"] = iss
    with pytest.raises(IssuerMismatch):
        check_callback(query, PENDING, ISSUER)


def test_access_denied_raises_authorization_denied() -> None:
    query = {"error": "access_denied", "state": "the-state", "iss": ISSUER}
    with pytest.raises(AuthorizationDenied) as caught:
        check_callback(query, PENDING, ISSUER)
    assert caught.value.error == "access_denied"


def test_other_errors_raise_oauth_error_with_their_code() -> None:
    query = {
        "error": "server_error",
        "error_description": "holder down",
        "state": "the-state",
        "iss": ISSUER,
    }
    with pytest.raises(OAuthError) as caught:
        check_callback(query, PENDING, ISSUER)
    assert type(caught.value) is OAuthError
    assert (caught.value.error, caught.value.description) == ("server_error", "holder down")


def test_an_error_from_a_forged_callback_is_not_believed() -> None:
    query = {"error": "access_denied", "state": "forged", "iss": ISSUER}
    with pytest.raises(StateMismatch):
        check_callback(query, PENDING, ISSUER)


def test_a_callback_with_neither_code_nor_error_is_refused() -> None:
    with pytest.raises(ProtocolViolation):
        check_callback({"state": "the-state", "iss": ISSUER}, PENDING, ISSUER)


def test_error_tree_lets_callers_catch_broadly() -> None:
    assert issubclass(AuthorizationDenied, OAuthError)
    assert issubclass(InvalidGrant, OAuthError)
    assert issubclass(StateMismatch, ProtocolViolation)


def test_pending_authorization_round_trips_through_json_and_hides_secrets() -> None:
    restored = PendingAuthorization.model_validate_json(PENDING.model_dump_json())
    assert restored == PENDING
    assert "the-state" not in repr(PENDING)
    assert "v" * 43 not in repr(PENDING)
