"""The expiry job expires the consents that are due, and only those."""

from __future__ import annotations

from datetime import timedelta

from consent import usecases
from consent.model import ConsentState

from .builders import NOW, active, requested
from .fakes import FakeUnitOfWork, Store


def _store() -> Store:
    short = active("short", duration="P1M")  # ends 2025-04-10
    long = active("long", duration="P1Y")  # ends 2026-03-10
    waiting = requested("waiting")
    store = Store().put(short, long, waiting)
    store.issue_tokens("short", 1)
    store.issue_tokens("long", 1)
    return store


async def test_only_consents_past_their_end_date_are_expired() -> None:
    store = _store()
    async with FakeUnitOfWork(store) as uow:
        expired = await usecases.expire_due(uow, now=NOW + timedelta(days=40))
    assert [c.id for c in expired] == ["short"]
    assert store.consent("short").state is ConsentState.EXPIRED
    assert store.consent("long").state is ConsentState.ACTIVE
    assert store.consent("waiting").state is ConsentState.REQUESTED
    assert [(e.kind, e.consent_id, e.actor) for e in store.ledger] == [
        ("consent.expired", "short", "system:expiry")
    ]
    assert store.live_tokens == {"short": 0, "long": 1}


async def test_nothing_due_expires_nothing() -> None:
    store = _store()
    before = store.snapshot()
    async with FakeUnitOfWork(store) as uow:
        assert await usecases.expire_due(uow, now=NOW) == []
    assert store.snapshot() == before


async def test_the_limit_bounds_one_run_and_the_next_run_takes_the_rest() -> None:
    store = _store()
    later = NOW + timedelta(days=800)
    async with FakeUnitOfWork(store) as uow:
        first = await usecases.expire_due(uow, now=later, limit=1)
    async with FakeUnitOfWork(store) as uow:
        second = await usecases.expire_due(uow, now=later, limit=1)
    assert [c.id for c in first + second] == ["short", "long"]
    assert {c.state for c in store.consents.values() if c.id != "waiting"} == {ConsentState.EXPIRED}
