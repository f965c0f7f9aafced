"""``check_transfer``: may this grant read this resource over these dates, now?"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from consent.errors import (
    ConsentNotActive,
    HolderMismatch,
    InvalidRange,
    OutsideDataWindow,
    ResourceNotGranted,
    ServiceBlacklisted,
    TransferDenied,
)
from consent.model import Consent, ConsentState
from consent.policy import check_transfer

from .builders import DAILY, HOLDER, IDENTITY, LOAD_CURVE, NOW, SERVICE, active, in_state

SOON = NOW + timedelta(days=1)
# Activated on 2025-03-10 with 12 months of history and future data until 2026-03-10:
FIRST = date(2024, 3, 10)
LAST = date(2026, 3, 11)  # exclusive


def _check(
    consent: Consent,
    *,
    holder: str = HOLDER,
    resource: str = DAILY,
    start: date | None = date(2025, 1, 1),
    end: date | None = date(2025, 2, 1),
    now: datetime = SOON,
    blocked: tuple[str, ...] = (),
) -> None:
    check_transfer(
        consent,
        holder=holder,
        resource=resource,
        start=start,
        end=end,
        now=now,
        blocked_services=blocked,
    )


def test_an_active_consent_allows_a_granted_resource_inside_its_window() -> None:
    _check(active())


def test_an_undated_resource_needs_no_range() -> None:
    _check(active(resources=[DAILY, IDENTITY]), resource=IDENTITY, start=None, end=None)


@pytest.mark.parametrize(
    "state",
    [
        ConsentState.REVOKED_BY_RESIDENT,
        ConsentState.REVOKED_BY_HOLDER,
        ConsentState.TERMINATED_BY_SERVICE,
    ],
)
def test_revoked_consent_refuses_the_next_transfer_with_consent_revoked(
    state: ConsentState,
) -> None:
    with pytest.raises(ConsentNotActive) as denied:
        _check(in_state(state))
    assert denied.value.reason == "consent_revoked"


def test_an_expired_consent_refuses_with_consent_expired() -> None:
    with pytest.raises(ConsentNotActive) as denied:
        _check(in_state(ConsentState.EXPIRED))
    assert denied.value.reason == "consent_expired"


def test_a_consent_past_its_end_date_refuses_before_the_expiry_job_runs() -> None:
    consent = active()
    assert consent.expires_at is not None and consent.state is ConsentState.ACTIVE
    with pytest.raises(ConsentNotActive) as denied:
        _check(consent, now=consent.expires_at)
    assert denied.value.reason == "consent_expired"


def test_a_consent_is_still_usable_the_instant_before_its_end_date() -> None:
    consent = active()
    assert consent.expires_at is not None
    _check(consent, now=consent.expires_at - timedelta(microseconds=1))


@pytest.mark.parametrize(
    "state",
    [
        ConsentState.REQUESTED,
        ConsentState.AWAITING_HOLDER,
        ConsentState.REFUSED,
        ConsentState.TIMED_OUT,
        ConsentState.FAILED,
    ],
)
def test_a_consent_that_never_became_active_refuses_with_consent_not_active(
    state: ConsentState,
) -> None:
    with pytest.raises(ConsentNotActive) as denied:
        _check(in_state(state))
    assert denied.value.reason == "consent_not_active"


def test_a_service_the_holder_blacklisted_is_refused() -> None:
    with pytest.raises(ServiceBlacklisted) as denied:
        _check(active(), blocked=("other-app", SERVICE))
    assert denied.value.reason == "service_blacklisted"


def test_a_grant_cannot_read_from_another_holder() -> None:
    with pytest.raises(HolderMismatch) as denied:
        _check(active(), holder="grdf")
    assert denied.value.reason == "holder_mismatch"


def test_a_resource_outside_the_grant_is_refused() -> None:
    with pytest.raises(ResourceNotGranted) as denied:
        _check(active(), resource=IDENTITY)
    assert denied.value.reason == "resource_not_granted"


def test_a_resource_dropped_by_narrowing_is_refused() -> None:
    consent = active()
    consent.narrow(NOW, resources=[DAILY])
    with pytest.raises(ResourceNotGranted):
        _check(consent, resource=LOAD_CURVE)


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2025, 1, 1), date(2025, 1, 1)), (date(2025, 1, 2), date(2025, 1, 1))],
    ids=["empty", "reversed"],
)
def test_a_range_that_does_not_go_forward_is_invalid(start: date, end: date) -> None:
    with pytest.raises(InvalidRange) as denied:
        _check(active(), start=start, end=end)
    assert denied.value.reason == "invalid_range"


def test_the_window_covers_exactly_from_its_first_to_its_last_day() -> None:
    _check(active(), start=FIRST, end=LAST)


def test_a_day_before_the_history_window_is_outside_the_data_window() -> None:
    with pytest.raises(OutsideDataWindow) as denied:
        _check(active(), start=FIRST - timedelta(days=1), end=date(2025, 1, 1))
    assert denied.value.reason == "outside_data_window"


def test_a_day_after_the_consent_ends_is_outside_the_data_window() -> None:
    with pytest.raises(OutsideDataWindow):
        _check(active(), start=date(2026, 3, 1), end=LAST + timedelta(days=1))


def test_without_future_data_the_window_ends_at_activation() -> None:
    consent = active(data_window={"history": "P12M", "include_future": False})
    _check(consent, start=FIRST, end=date(2025, 3, 11))
    with pytest.raises(OutsideDataWindow):
        _check(consent, start=FIRST, end=date(2025, 3, 12))


def test_a_shorter_history_after_narrowing_moves_the_first_day() -> None:
    consent = active()
    consent.narrow(NOW, history="P1M")
    _check(consent, start=date(2025, 2, 10), end=date(2025, 3, 1))
    with pytest.raises(OutsideDataWindow):
        _check(consent, start=date(2025, 2, 9), end=date(2025, 3, 1))


def test_every_denial_is_a_transfer_denied_with_a_reason_code() -> None:
    with pytest.raises(TransferDenied) as denied:
        _check(active(), holder="grdf")
    assert denied.value.reason and denied.value.status_hint == 403
