"""The resident may say "yes, but less" (oui, non ou autrement) — never "yes, and more"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from consent.errors import InvalidDuration, InvalidRequest
from consent.model import Consent, ConsentState

from .builders import DAILY, IDENTITY, LOAD_CURVE, NOW, requested


def _refused_unchanged(consent: Consent, **choice: object) -> None:
    before = consent.model_dump()
    with pytest.raises(InvalidRequest):
        consent.accept(NOW, **choice)  # type: ignore[arg-type]
    assert consent.model_dump() == before
    assert consent.state is ConsentState.REQUESTED


def test_accepting_as_asked_grants_every_requested_resource_for_the_asked_duration() -> None:
    consent = requested()
    consent.accept(NOW)
    assert consent.resources == [DAILY, LOAD_CURVE]
    assert consent.duration == "P1Y"
    assert consent.data_window == consent.requested.data_window
    assert consent.expires_at == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def test_the_resident_may_keep_a_subset_of_the_resources() -> None:
    consent = requested()
    consent.accept(NOW, resources=[LOAD_CURVE])
    assert consent.resources == [LOAD_CURVE]
    assert consent.state is ConsentState.AWAITING_HOLDER


def test_kept_resources_keep_the_order_the_service_asked_them_in() -> None:
    consent = requested(resources=[DAILY, LOAD_CURVE, IDENTITY])
    consent.accept(NOW, resources=[IDENTITY, DAILY])
    assert consent.resources == [DAILY, IDENTITY]


def test_the_resident_may_shorten_the_duration_and_the_end_date_follows() -> None:
    consent = requested()
    consent.accept(NOW, duration="P6M")
    assert consent.duration == "P6M"
    assert consent.expires_at == datetime(2025, 9, 10, 9, 30, tzinfo=UTC)


def test_the_same_duration_spelled_differently_is_not_longer() -> None:
    consent = requested(duration="P1Y")
    consent.accept(NOW, duration="P12M")
    assert consent.expires_at == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def test_the_resident_may_shorten_the_history_and_keeps_the_future_setting() -> None:
    consent = requested(data_window={"history": "P24M", "include_future": False})
    consent.accept(NOW, history="P6M")
    assert consent.data_window.history == "P6M"
    assert consent.data_window.include_future is False


def test_granted_detail_is_what_the_resident_chose_not_what_was_asked() -> None:
    consent = requested()
    consent.accept(NOW, resources=[DAILY], duration="P3M", history="P1M")
    granted = consent.granted_detail()
    assert granted.resources == [DAILY]
    assert granted.duration == "P3M"
    assert granted.data_window.history == "P1M"
    assert consent.requested.resources == [DAILY, LOAD_CURVE]


def test_the_resident_cannot_grant_a_resource_that_was_not_asked_for() -> None:
    _refused_unchanged(requested(), resources=[DAILY, IDENTITY])


def test_the_resident_cannot_grant_no_resource_at_all() -> None:
    _refused_unchanged(requested(), resources=[])


def test_the_resident_cannot_lengthen_the_duration() -> None:
    _refused_unchanged(requested(duration="P1Y"), duration="P13M")


def test_the_resident_cannot_lengthen_the_history() -> None:
    _refused_unchanged(requested(), history="P13M")


def test_a_malformed_duration_from_the_resident_is_refused() -> None:
    consent = requested()
    with pytest.raises(InvalidDuration):
        consent.accept(NOW, duration="one year")
    assert consent.state is ConsentState.REQUESTED


@pytest.mark.parametrize(
    ("decided", "duration", "expires"),
    [
        (datetime(2024, 1, 31, tzinfo=UTC), "P1M", datetime(2024, 2, 29, tzinfo=UTC)),
        (datetime(2025, 1, 31, tzinfo=UTC), "P1M", datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), "P1Y", datetime(2025, 2, 28, tzinfo=UTC)),
        (datetime(2024, 2, 29, tzinfo=UTC), "P4Y", datetime(2028, 2, 29, tzinfo=UTC)),
        (
            datetime(2024, 12, 31, 23, 59, tzinfo=UTC),
            "P2W",
            datetime(2025, 1, 14, 23, 59, tzinfo=UTC),
        ),
        (datetime(2024, 8, 31, tzinfo=UTC), "P1Y6M", datetime(2026, 2, 28, tzinfo=UTC)),
    ],
)
def test_the_end_date_is_computed_with_calendar_arithmetic(
    decided: datetime, duration: str, expires: datetime
) -> None:
    consent = requested(duration="P4Y")
    consent.accept(decided, duration=duration)
    assert consent.expires_at == expires


def test_accepting_twice_is_an_illegal_transition() -> None:
    from consent.errors import IllegalTransition

    consent = requested()
    consent.accept(NOW)
    with pytest.raises(IllegalTransition):
        consent.accept(NOW + timedelta(days=1))
