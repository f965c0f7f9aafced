"""Every exit and every change goes through a use case that records its effects on the
service and the holder in the same commit (the outbox), and only when it commits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent import control, usecases
from consent.errors import ConsentNotActive, IllegalTransition, NotYourConsent
from consent.model import Actor, ActorKind, Consent, ConsentState
from consent.notices import NoticeEvent
from consent.policy import check_transfer

from .builders import DAILY, HOLDER, LATER, RESIDENT, SERVICE, active, in_state, requested
from .fakes import FakeEraser, FakeUnitOfWork, Store


def _store(*consents_: Consent) -> Store:
    store = Store().put(*(consents_ or (active(),)))
    store.issue_tokens("grant-1", 2)
    return store


@pytest.mark.parametrize(
    ("kind", "actor_id", "by"),
    [
        ("resident", RESIDENT, "resident"),
        ("service", SERVICE, "service"),
        ("holder", HOLDER, "holder"),
        ("operator", "security", "operator"),
    ],
)
async def test_every_revocation_queues_one_notice_and_one_holder_revocation(
    kind: ActorKind, actor_id: str, by: str
) -> None:
    store = _store()
    actor = Actor(kind=kind, id=actor_id)
    async with FakeUnitOfWork(store) as uow:
        await usecases.revoke(uow, consent_id="grant-1", actor=actor, reason="stop", now=LATER)
    [notice] = store.notices
    assert notice.event is NoticeEvent.REVOKED
    assert (notice.grant_id, notice.client_id, notice.reason, notice.by) == (
        "grant-1",
        SERVICE,
        "stop",
        by,
    )
    assert RESIDENT not in notice.model_dump_json()  # the kind of actor, never who
    assert store.holder_revocations == ["grant-1"]
    assert store.live_tokens["grant-1"] == 0


async def test_a_refused_revocation_queues_nothing() -> None:
    store = _store()
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(NotYourConsent):
            await usecases.revoke(
                uow,
                consent_id="grant-1",
                actor=Actor(kind="resident", id="bob"),
                reason="x",
                now=LATER,
            )
    assert store.notices == [] and store.holder_revocations == []
    assert store.consent("grant-1").state is ConsentState.ACTIVE


async def test_each_notice_has_its_own_idempotency_key() -> None:
    store = _store(active("grant-1"), active("grant-2"))
    for grant in ("grant-1", "grant-2"):
        async with FakeUnitOfWork(store) as uow:
            await control.pause(uow, consent_id=grant, subject=RESIDENT, now=LATER)
    assert len({n.jti for n in store.notices}) == 2


async def test_pause_refuses_transfers_with_consent_paused_and_resume_restores_them() -> None:
    store = _store()
    async with FakeUnitOfWork(store) as uow:
        await control.pause(uow, consent_id="grant-1", subject=RESIDENT, now=LATER)
    paused = store.consent("grant-1")
    with pytest.raises(ConsentNotActive) as denial:
        check_transfer(paused, holder=HOLDER, resource=DAILY, start=None, end=None, now=LATER)
    assert denial.value.reason == "consent_paused"
    assert store.live_tokens["grant-1"] == 2  # a pause keeps the tokens
    async with FakeUnitOfWork(store) as uow:
        await control.resume(uow, consent_id="grant-1", subject=RESIDENT, now=LATER)
    resumed = store.consent("grant-1")
    check_transfer(resumed, holder=HOLDER, resource=DAILY, start=None, end=None, now=LATER)
    assert [n.event for n in store.notices] == [NoticeEvent.PAUSED, NoticeEvent.RESUMED]
    assert [e.kind for e in store.ledger] == ["consent.paused", "consent.resumed"]


async def test_a_paused_consent_can_be_revoked_and_expires() -> None:
    store = _store(in_state(ConsentState.PAUSED))
    async with FakeUnitOfWork(store) as uow:
        await usecases.revoke(
            uow,
            consent_id="grant-1",
            actor=Actor(kind="service", id=SERVICE),
            reason="x",
            now=LATER,
        )
    assert store.consent("grant-1").state is ConsentState.TERMINATED_BY_SERVICE
    other = in_state(ConsentState.PAUSED)
    assert other.expires_at is not None
    store = _store(other)
    async with FakeUnitOfWork(store) as uow:
        expired = await usecases.expire_due(uow, now=other.expires_at)
    assert [c.state for c in expired] == [ConsentState.EXPIRED]
    assert [n.event for n in store.notices] == [NoticeEvent.EXPIRED]
    assert store.holder_revocations == ["grant-1"]


async def test_narrowing_tells_the_service_and_keeps_the_tokens() -> None:
    store = _store()
    async with FakeUnitOfWork(store) as uow:
        await usecases.narrow(
            uow, consent_id="grant-1", subject=RESIDENT, now=LATER, resources=[DAILY]
        )
    [notice] = store.notices
    assert (notice.event, notice.revision) == (NoticeEvent.NARROWED, 2)
    assert store.live_tokens["grant-1"] == 2 and store.holder_revocations == []


async def test_a_renewal_request_is_recorded_and_passed_to_the_service() -> None:
    store = _store()
    async with FakeUnitOfWork(store) as uow:
        await control.request_renewal(uow, consent_id="grant-1", subject=RESIDENT, now=LATER)
    assert store.consent("grant-1").renewal_requested_at == LATER
    assert [n.event for n in store.notices] == [NoticeEvent.RENEWAL_REQUESTED]
    assert store.ledger[-1].kind == "consent.renewal_requested"


async def test_an_ended_consent_cannot_be_paused_or_renewed() -> None:
    store = _store(in_state(ConsentState.EXPIRED))
    for change in (control.pause, control.request_renewal):
        async with FakeUnitOfWork(store) as uow:
            with pytest.raises(IllegalTransition):
                await change(uow, consent_id="grant-1", subject=RESIDENT, now=LATER)
    assert store.notices == [] and store.ledger == []


async def test_erasure_ends_every_open_consent_then_forgets_the_resident_in_one_commit() -> None:
    store = _store(
        active("grant-1"),
        in_state(ConsentState.PAUSED).model_copy(update={"id": "grant-2"}),
        in_state(ConsentState.AWAITING_HOLDER).model_copy(update={"id": "grant-3"}),
        requested("grant-4"),
        in_state(ConsentState.EXPIRED).model_copy(update={"id": "grant-5"}),
        active("grant-6", subject="bob"),
    )
    async with FakeUnitOfWork(store) as uow:
        ended = await control.erase_resident(
            uow, FakeEraser(uow), subject=RESIDENT, now=LATER + timedelta(days=1)
        )
        assert uow.committed == 1
    assert {c.id: c.state for c in ended} == {
        "grant-1": ConsentState.REVOKED_BY_RESIDENT,
        "grant-2": ConsentState.REVOKED_BY_RESIDENT,
        "grant-3": ConsentState.REVOKED_BY_RESIDENT,
        "grant-4": ConsentState.REFUSED,
        "grant-5": ConsentState.EXPIRED,
    }
    assert sorted(n.grant_id for n in store.notices) == ["grant-1", "grant-2", "grant-3"]
    assert store.erased == [RESIDENT]
    assert list(store.consents) == ["grant-6"]  # bob's stays
    assert store.ledger[-1].kind == "resident.erased"
