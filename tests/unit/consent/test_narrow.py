"""An active consent can be narrowed into a new revision, and only ever to less."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.errors import IllegalTransition, InvalidRequest
from consent.model import Consent, ConsentState

from .builders import DAILY, IDENTITY, LATER, LOAD_CURVE, NOW, active, in_state


def _refused_unchanged(consent: Consent, **change: object) -> None:
    before = consent.model_dump()
    with pytest.raises(InvalidRequest):
        consent.narrow(LATER, **change)  # type: ignore[arg-type]
    assert consent.model_dump() == before


def test_dropping_a_resource_makes_a_new_revision_that_stays_active() -> None:
    consent = active()
    consent.narrow(LATER, resources=[LOAD_CURVE])
    assert consent.resources == [LOAD_CURVE]
    assert consent.revision == 2
    assert consent.state is ConsentState.ACTIVE


def test_shortening_the_history_keeps_the_future_setting() -> None:
    consent = active()
    consent.narrow(LATER, history="P3M")
    assert consent.data_window.history == "P3M"
    assert consent.data_window.include_future is True


def test_bringing_the_end_date_closer_is_allowed() -> None:
    consent = active()
    sooner = NOW + timedelta(days=30)
    consent.narrow(LATER, expires_at=sooner)
    assert consent.expires_at == sooner


def test_each_narrowing_is_one_more_revision() -> None:
    consent = active()
    consent.narrow(LATER, resources=[DAILY])
    consent.narrow(LATER, history="P1M")
    assert consent.revision == 3


def test_narrowing_cannot_add_a_resource() -> None:
    consent = active()
    consent.narrow(LATER, resources=[DAILY])
    _refused_unchanged(consent, resources=[DAILY, LOAD_CURVE])


def test_narrowing_cannot_add_a_resource_never_granted() -> None:
    _refused_unchanged(active(), resources=[IDENTITY])


def test_narrowing_cannot_drop_every_resource() -> None:
    _refused_unchanged(active(), resources=[])


def test_narrowing_cannot_lengthen_the_history() -> None:
    _refused_unchanged(active(), history="P2Y")


def test_narrowing_cannot_push_the_end_date_later() -> None:
    consent = active()
    assert consent.expires_at is not None
    _refused_unchanged(consent, expires_at=consent.expires_at + timedelta(seconds=1))


@pytest.mark.parametrize("offset", [timedelta(0), -timedelta(days=1)])
def test_narrowing_cannot_set_an_end_date_that_is_not_in_the_future(offset: timedelta) -> None:
    _refused_unchanged(active(), expires_at=LATER + offset)


def test_a_refused_narrowing_leaves_no_partial_change() -> None:
    # The resource part is fine, the history part is not: neither may be applied.
    _refused_unchanged(active(), resources=[DAILY], history="P5Y")
    _refused_unchanged(active(), resources=[DAILY], expires_at=NOW - timedelta(days=1))


@pytest.mark.parametrize("state", [s for s in ConsentState if not s.is_live], ids=str)
def test_only_a_live_consent_can_be_narrowed(state: ConsentState) -> None:
    with pytest.raises(IllegalTransition):
        in_state(state).narrow(LATER, resources=[DAILY])
