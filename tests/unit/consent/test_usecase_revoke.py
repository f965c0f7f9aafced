"""One revocation path for every actor: the state says who, tokens die, the ledger records it."""

from __future__ import annotations

import pytest

from consent import usecases
from consent.errors import ConsentNotFound, IllegalTransition, NotYourConsent
from consent.model import Actor, ActorKind, ConsentState

from .builders import HOLDER, LATER, RESIDENT, SERVICE, active, in_state
from .fakes import FakeUnitOfWork, Store


def _store() -> Store:
    store = Store().put(active())
    store.issue_tokens("grant-1", 2)
    return store


@pytest.mark.parametrize(
    ("kind", "actor_id", "state"),
    [
        ("resident", RESIDENT, ConsentState.REVOKED_BY_RESIDENT),
        ("service", SERVICE, ConsentState.TERMINATED_BY_SERVICE),
        ("holder", HOLDER, ConsentState.REVOKED_BY_HOLDER),
        ("operator", "metropole", ConsentState.REVOKED_BY_HOLDER),
    ],
)
async def test_a_revocation_sets_the_state_revokes_tokens_and_appends_to_the_ledger(
    kind: ActorKind, actor_id: str, state: ConsentState
) -> None:
    store = _store()
    actor = Actor(kind=kind, id=actor_id)
    async with FakeUnitOfWork(store) as uow:
        await usecases.revoke(uow, consent_id="grant-1", actor=actor, reason="stop", now=LATER)

    stored = store.consent("grant-1")
    assert stored.state is state
    assert (stored.ended_at, stored.ended_by) == (LATER, str(actor))
    assert store.token_revocations == [("grant-1", LATER)]
    assert store.live_tokens["grant-1"] == 0
    entry = store.ledger[-1]
    assert (entry.kind, entry.actor, entry.consent_id) == ("consent.revoked", str(actor), "grant-1")
    assert entry.details == {"reason": "stop", "state": str(state), "tokens_revoked": 2}


@pytest.mark.parametrize(
    ("kind", "stranger"),
    [("resident", "bob"), ("service", "budget-app"), ("holder", "grdf")],
)
async def test_an_actor_cannot_revoke_someone_elses_consent_and_nothing_is_committed(
    kind: ActorKind, stranger: str
) -> None:
    store = _store()
    before = store.snapshot()
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(NotYourConsent):
            await usecases.revoke(
                uow,
                consent_id="grant-1",
                actor=Actor(kind=kind, id=stranger),
                reason="mischief",
                now=LATER,
            )
    assert uow.committed == 0
    assert store.snapshot() == before


async def test_revoking_an_already_revoked_consent_is_illegal_and_changes_nothing() -> None:
    store = Store().put(in_state(ConsentState.REVOKED_BY_HOLDER))
    before = store.snapshot()
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(IllegalTransition):
            await usecases.revoke(
                uow,
                consent_id="grant-1",
                actor=Actor(kind="resident", id=RESIDENT),
                reason="again",
                now=LATER,
            )
    assert store.snapshot() == before


async def test_revoking_an_unknown_consent_is_not_found() -> None:
    async with FakeUnitOfWork(Store()) as uow:
        with pytest.raises(ConsentNotFound):
            await usecases.revoke(
                uow,
                consent_id="nope",
                actor=Actor(kind="resident", id=RESIDENT),
                reason="x",
                now=LATER,
            )
