import pytest
from pydantic import ValidationError

from clients.sdk import AuthorizationDetail, DataWindow, Grant

WIRE_EXAMPLE = {
    "type": "personal_data_transfer",
    "holder": "enedis",
    "resources": ["daily_consumption", "consumption_load_curve"],
    "purpose": "energy_coaching",
    "data_window": {"history": "P12M", "include_future": True},
    "frequency": "daily",
    "duration": "P1Y",
}


def test_the_wire_example_round_trips_byte_for_byte() -> None:
    detail = AuthorizationDetail(
        holder="enedis",
        resources=["daily_consumption", "consumption_load_curve"],
        purpose="energy_coaching",
        data_window=DataWindow(history="P12M", include_future=True),
        frequency="daily",
        duration="P1Y",
    )
    assert detail.to_wire() == WIRE_EXAMPLE
    assert AuthorizationDetail.model_validate(WIRE_EXAMPLE) == detail


@pytest.mark.parametrize("duration", ["P", "1Y", "PT1H", "P1.5Y", "P-1M", ""])
def test_malformed_durations_are_refused_before_leaving(duration: str) -> None:
    with pytest.raises(ValidationError):
        AuthorizationDetail.model_validate({**WIRE_EXAMPLE, "duration": duration})


@pytest.mark.parametrize("duration", ["P1Y", "P12M", "P2W", "P30D", "P1Y6M", "P3Y"])
def test_calendar_durations_are_accepted(duration: str) -> None:
    assert AuthorizationDetail.model_validate({**WIRE_EXAMPLE, "duration": duration})


@pytest.mark.parametrize(
    "change",
    [
        {"resources": []},
        {"resources": ["a", "a"]},
        {"frequency": "hourly"},
        {"type": "payment_initiation"},
        {"holder": "Enedis!"},
    ],
)
def test_invalid_requests_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AuthorizationDetail.model_validate({**WIRE_EXAMPLE, **change})


def test_a_grant_with_unknown_members_still_parses() -> None:
    grant = Grant.model_validate(
        {
            "grant_id": "g-1",
            "status": "active",
            "authorization_details": [WIRE_EXAMPLE],
            "created_at": "2025-03-01T12:00:00Z",
            "expires_at": "2026-03-01T12:00:00Z",
            "holder_linked": True,
            "revision": 2,
        }
    )
    assert grant.holder_linked is True
    assert grant.authorization_details[0].holder == "enedis"
