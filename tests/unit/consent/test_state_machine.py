"""Every legal transition moves the consent; every other one raises and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from consent.errors import IllegalTransition
from consent.model import Actor, Consent, ConsentState

from .builders import DAILY, HOLDER, LATER, NOW, PRM, RESIDENT, SERVICE, active, in_state, requested

S = ConsentState
FAR_FUTURE = NOW + timedelta(days=3650)

Transition = Callable[[Consent], None]

REVOCABLE = (S.AWAITING_HOLDER, S.ACTIVE, S.PAUSED)
LIVE = (S.ACTIVE, S.PAUSED)

# name: (how, the states it may start from, the state it leads to; None: stays the same)
TRANSITIONS: dict[
    str, tuple[Transition, ConsentState | tuple[ConsentState, ...], ConsentState | None]
] = {
    "accept": (lambda c: c.accept(LATER), S.REQUESTED, S.AWAITING_HOLDER),
    "refuse": (lambda c: c.refuse(LATER), S.REQUESTED, S.REFUSED),
    "time_out": (lambda c: c.time_out(LATER), S.REQUESTED, S.TIMED_OUT),
    "link_holder": (lambda c: c.link_holder(PRM, LATER), S.AWAITING_HOLDER, S.ACTIVE),
    "fail": (lambda c: c.fail(LATER, "link refused"), S.AWAITING_HOLDER, S.FAILED),
    "revoke_by_resident": (
        lambda c: c.revoke(Actor(kind="resident", id=RESIDENT), LATER, "no more"),
        REVOCABLE,
        S.REVOKED_BY_RESIDENT,
    ),
    "revoke_by_holder": (
        lambda c: c.revoke(Actor(kind="holder", id=HOLDER), LATER, "blacklisted"),
        REVOCABLE,
        S.REVOKED_BY_HOLDER,
    ),
    "revoke_by_operator": (
        lambda c: c.revoke(Actor(kind="operator", id="metropole"), LATER, "court order"),
        REVOCABLE,
        S.REVOKED_BY_HOLDER,
    ),
    "terminate_by_service": (
        lambda c: c.revoke(Actor(kind="service", id=SERVICE), LATER, "account closed"),
        REVOCABLE,
        S.TERMINATED_BY_SERVICE,
    ),
    "expire": (lambda c: c.expire(FAR_FUTURE), LIVE, S.EXPIRED),
    "narrow": (lambda c: c.narrow(LATER, resources=[DAILY]), LIVE, None),
    "pause": (lambda c: c.pause(LATER), S.ACTIVE, S.PAUSED),
    "resume": (lambda c: c.resume(LATER), S.PAUSED, S.ACTIVE),
    "request_renewal": (lambda c: c.request_renewal(LATER), LIVE, None),
}


def _sources(name: str) -> tuple[ConsentState, ...]:
    source = TRANSITIONS[name][1]
    return source if isinstance(source, tuple) else (source,)


CASES = [pytest.param(state, name, id=f"{state}-{name}") for state in S for name in TRANSITIONS]


@pytest.mark.parametrize(("state", "name"), CASES)
def test_each_transition_is_allowed_only_from_its_source_state(
    state: ConsentState, name: str
) -> None:
    move, _, target = TRANSITIONS[name]
    consent = in_state(state)
    before = consent.model_dump()
    if state in _sources(name):
        move(consent)
        assert consent.state is (state if target is None else target)
    else:
        with pytest.raises(IllegalTransition):
            move(consent)
        assert consent.model_dump() == before


@pytest.mark.parametrize("state", list(S))
def test_a_system_actor_cannot_revoke_a_consent_in_any_state(state: ConsentState) -> None:
    consent = in_state(state)
    before = consent.model_dump()
    with pytest.raises(IllegalTransition):
        consent.revoke(Actor(kind="system", id="cron"), LATER, "tidy up")
    assert consent.model_dump() == before


def test_final_states_are_exactly_the_ones_nothing_leads_out_of() -> None:
    sources = {source for name in TRANSITIONS for source in _sources(name)}
    assert {s for s in S if not s.is_final} == sources


def test_a_new_consent_is_requested_with_the_asked_scope() -> None:
    consent = requested()
    assert consent.state is S.REQUESTED
    assert consent.resources == list(consent.requested.resources)
    assert consent.expires_at is None and consent.decided_at is None
    assert consent.revision == 1


def test_accepting_records_the_decision_and_the_end_date() -> None:
    consent = requested()
    consent.accept(LATER)
    assert consent.decided_at == LATER
    assert consent.expires_at == LATER.replace(year=LATER.year + 1)
    assert consent.activated_at is None


def test_linking_the_holder_activates_with_the_holder_subject() -> None:
    consent = requested()
    consent.accept(NOW)
    consent.link_holder(PRM, LATER)
    assert consent.holder_subject == PRM
    assert consent.activated_at == LATER


def test_refusing_ends_the_consent_as_the_residents_decision() -> None:
    consent = requested()
    consent.refuse(LATER)
    assert (consent.decided_at, consent.ended_at, consent.end_reason) == (LATER, LATER, "refused")
    assert consent.ended_by == "resident"


def test_a_failed_holder_link_records_the_holders_reason() -> None:
    consent = in_state(S.AWAITING_HOLDER)
    consent.fail(LATER, "ADAM-DC-0008")
    assert (consent.ended_at, consent.ended_by, consent.end_reason) == (
        LATER,
        "holder",
        "ADAM-DC-0008",
    )


def test_a_revocation_names_the_actor_and_the_reason() -> None:
    consent = active()
    consent.revoke(Actor(kind="resident", id=RESIDENT), LATER, "changed my mind")
    assert consent.ended_by == f"resident:{RESIDENT}"
    assert (consent.ended_at, consent.end_reason) == (LATER, "changed my mind")


def test_an_active_consent_cannot_expire_before_its_end_date() -> None:
    consent = active()
    assert consent.expires_at is not None
    early = consent.expires_at - timedelta(microseconds=1)
    assert not consent.is_due_to_expire(early)
    with pytest.raises(IllegalTransition):
        consent.expire(early)
    assert consent.state is S.ACTIVE


def test_an_active_consent_expires_exactly_at_its_end_date() -> None:
    consent = active()
    assert consent.expires_at is not None
    assert consent.is_due_to_expire(consent.expires_at)
    consent.expire(consent.expires_at)
    assert consent.state is S.EXPIRED
    assert consent.ended_by == "system"


@pytest.mark.parametrize("state", [s for s in S if not s.is_live])
def test_only_a_live_consent_is_ever_due_to_expire(state: ConsentState) -> None:
    assert not in_state(state).is_due_to_expire(FAR_FUTURE)


def test_a_paused_consent_still_expires_at_its_end_date() -> None:
    consent = in_state(S.PAUSED)
    assert consent.expires_at is not None
    assert consent.is_due_to_expire(consent.expires_at)
    consent.expire(consent.expires_at)
    assert consent.state is S.EXPIRED


def test_pausing_keeps_the_scope_and_resuming_clears_the_pause() -> None:
    consent = active()
    scope = (list(consent.resources), consent.expires_at, consent.revision)
    consent.pause(LATER)
    assert (consent.state, consent.paused_at) == (S.PAUSED, LATER)
    assert (list(consent.resources), consent.expires_at, consent.revision) == scope
    consent.resume(LATER)
    assert (consent.state, consent.paused_at) == (S.ACTIVE, None)


def test_a_paused_consent_past_its_end_cannot_resume() -> None:
    consent = in_state(S.PAUSED)
    assert consent.expires_at is not None
    with pytest.raises(IllegalTransition):
        consent.resume(consent.expires_at)
    assert consent.state is S.PAUSED


def test_the_expiry_warning_window_covers_only_the_last_days() -> None:
    consent = active()
    assert consent.expires_at is not None
    assert consent.expires_within(consent.expires_at - timedelta(days=3), 14)
    assert not consent.expires_within(consent.expires_at - timedelta(days=30), 14)
    assert not consent.expires_within(consent.expires_at, 14)  # already due: expiry's job
