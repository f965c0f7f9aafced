"""A data request is checked against its consent; a denial is recorded, then raised."""

from __future__ import annotations

from datetime import date

import pytest

from consent import usecases
from consent.errors import (
    ConsentNotActive,
    ConsentNotFound,
    ResourceNotGranted,
    ServiceBlacklisted,
)
from consent.model import Actor, ConsentState

from .builders import DAILY, HOLDER, IDENTITY, LATER, RESIDENT, SERVICE, active, in_state
from .fakes import FakeUnitOfWork, Store


async def _authorize(store: Store, resource: str = DAILY, **kwargs: object) -> None:
    async with FakeUnitOfWork(store) as uow:
        await usecases.authorize_transfer(
            uow,
            consent_id="grant-1",
            holder=HOLDER,
            resource=resource,
            start=date(2025, 1, 1),
            end=date(2025, 2, 1),
            now=LATER,
            **kwargs,  # type: ignore[arg-type]
        )


async def test_an_allowed_transfer_returns_the_consent_and_records_nothing_yet() -> None:
    store = Store().put(active())
    async with FakeUnitOfWork(store) as uow:
        consent = await usecases.authorize_transfer(
            uow,
            consent_id="grant-1",
            holder=HOLDER,
            resource=DAILY,
            start=date(2025, 1, 1),
            end=date(2025, 2, 1),
            now=LATER,
        )
    assert consent.id == "grant-1"
    assert store.ledger == []


async def test_a_denied_transfer_is_recorded_as_transfer_denied_then_raised() -> None:
    store = Store().put(active())
    with pytest.raises(ResourceNotGranted):
        await _authorize(store, resource=IDENTITY)
    [entry] = store.ledger
    assert entry.kind == "transfer.denied"
    assert entry.actor == f"service:{SERVICE}"
    assert entry.details == {"resource": IDENTITY, "reason": "resource_not_granted"}


async def test_revoked_consent_refuses_the_next_transfer_with_consent_revoked() -> None:
    store = Store().put(active())
    async with FakeUnitOfWork(store) as uow:
        await usecases.revoke(
            uow,
            consent_id="grant-1",
            actor=Actor(kind="resident", id=RESIDENT),
            reason="non merci",
            now=LATER,
        )
    with pytest.raises(ConsentNotActive) as denied:
        await _authorize(store)
    assert denied.value.reason == "consent_revoked"
    assert store.ledger[-1].details["reason"] == "consent_revoked"


async def test_a_blacklisted_service_is_denied_and_recorded() -> None:
    store = Store().put(active())
    with pytest.raises(ServiceBlacklisted):
        await _authorize(store, blocked_services=[SERVICE])
    assert store.ledger[-1].details["reason"] == "service_blacklisted"


async def test_a_denial_does_not_change_the_consent() -> None:
    store = Store().put(in_state(ConsentState.EXPIRED))
    before = store.snapshot()["consents"]
    with pytest.raises(ConsentNotActive):
        await _authorize(store)
    assert store.snapshot()["consents"] == before


async def test_a_request_for_an_unknown_consent_is_not_found_and_not_recorded() -> None:
    store = Store()
    with pytest.raises(ConsentNotFound):
        await _authorize(store)
    assert store.ledger == []
