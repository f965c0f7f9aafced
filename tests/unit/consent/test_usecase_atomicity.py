"""A use case that raises leaves the store exactly as it was."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from consent import usecases
from consent.errors import (
    ConsentError,
    ConsentNotFound,
    IllegalTransition,
    InvalidDuration,
    InvalidRequest,
)
from consent.model import Consent, ConsentState
from consent.ports import UnitOfWork

from .builders import (
    DAILY,
    IDENTITY,
    LATER,
    NOW,
    PRM,
    RESIDENT,
    detail,
    in_state,
    manifest,
    service,
)
from .fakes import FakeConsentRepository, FakeUnitOfWork, Store

UseCase = Callable[[UnitOfWork], Awaitable[object]]

CASES: list[tuple[str, ConsentState, type[ConsentError], UseCase]] = [
    (
        "request_not_allowed_by_policy",
        ConsentState.REQUESTED,
        InvalidRequest,
        lambda uow: usecases.request_consent(
            uow,
            consent_id="grant-2",
            subject=RESIDENT,
            service=service(),
            manifest=manifest(),
            detail=detail(duration="P4Y"),
            now=NOW,
        ),
    ),
    (
        "accept_more_than_asked",
        ConsentState.REQUESTED,
        InvalidRequest,
        lambda uow: usecases.accept(
            uow, consent_id="grant-1", subject=RESIDENT, now=NOW, resources=[DAILY, IDENTITY]
        ),
    ),
    (
        "accept_with_a_bad_duration",
        ConsentState.REQUESTED,
        InvalidDuration,
        lambda uow: usecases.accept(
            uow, consent_id="grant-1", subject=RESIDENT, now=NOW, duration="forever"
        ),
    ),
    (
        "accept_twice",
        ConsentState.AWAITING_HOLDER,
        IllegalTransition,
        lambda uow: usecases.accept(uow, consent_id="grant-1", subject=RESIDENT, now=NOW),
    ),
    (
        "refuse_an_active_consent",
        ConsentState.ACTIVE,
        IllegalTransition,
        lambda uow: usecases.refuse(uow, consent_id="grant-1", subject=RESIDENT, now=NOW),
    ),
    (
        "link_a_refused_consent",
        ConsentState.REFUSED,
        IllegalTransition,
        lambda uow: usecases.link_holder(uow, consent_id="grant-1", holder_subject=PRM, now=NOW),
    ),
    (
        "fail_an_active_consent",
        ConsentState.ACTIVE,
        IllegalTransition,
        lambda uow: usecases.fail_holder(uow, consent_id="grant-1", reason="x", now=NOW),
    ),
    (
        "narrow_half_valid",
        ConsentState.ACTIVE,
        InvalidRequest,
        lambda uow: usecases.narrow(
            uow,
            consent_id="grant-1",
            subject=RESIDENT,
            now=LATER,
            resources=[DAILY],
            expires_at=NOW - timedelta(days=1),
        ),
    ),
    (
        "link_an_unknown_consent",
        ConsentState.AWAITING_HOLDER,
        ConsentNotFound,
        lambda uow: usecases.link_holder(uow, consent_id="nope", holder_subject=PRM, now=NOW),
    ),
]


@pytest.mark.parametrize(
    ("state", "error", "use_case"),
    [pytest.param(state, error, call, id=name) for name, state, error, call in CASES],
)
async def test_a_use_case_that_raises_leaves_the_store_unchanged(
    state: ConsentState, error: type[ConsentError], use_case: UseCase
) -> None:
    store = Store().put(in_state(state))
    store.issue_tokens("grant-1", 1)
    before = store.snapshot()
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(error):
            await use_case(uow)
    assert uow.committed == 0
    assert store.snapshot() == before


class _RepeatingRepository(FakeConsentRepository):
    """Hands back the same due consent twice, so the second expire() in a run fails."""

    async def list_due_to_expire(self, now: datetime, limit: int) -> list[Consent]:
        due = await super().list_due_to_expire(now, limit)
        return due + due


async def test_expire_due_that_fails_midway_commits_none_of_the_run() -> None:
    store = Store().put(in_state(ConsentState.ACTIVE))
    before = store.snapshot()
    expires_at = store.consent("grant-1").expires_at
    assert expires_at is not None
    async with FakeUnitOfWork(store) as uow:
        uow.consents = _RepeatingRepository(store)
        with pytest.raises(IllegalTransition):
            await usecases.expire_due(uow, now=expires_at)
    assert store.snapshot() == before
