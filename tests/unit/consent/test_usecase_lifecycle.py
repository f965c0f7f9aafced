"""request → accept → link_holder → authorize_transfer → record_transfer, on the fake UoW."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from consent import usecases
from consent.errors import NotYourConsent
from consent.ledger import verify
from consent.model import Consent, ConsentState

from .builders import (
    DAILY,
    HOLDER,
    LATER,
    LOAD_CURVE,
    NOW,
    PRM,
    RESIDENT,
    SERVICE,
    detail,
    manifest,
    requested,
    service,
)
from .fakes import FakeUnitOfWork, Store


async def _request(store: Store, **overrides: object) -> Consent:
    async with FakeUnitOfWork(store) as uow:
        return await usecases.request_consent(
            uow,
            consent_id="grant-1",
            subject=RESIDENT,
            service=service(),
            manifest=manifest(),
            detail=detail(**overrides),
            now=NOW,
        )


async def test_a_consent_goes_from_request_to_a_recorded_transfer() -> None:
    store = Store()
    await _request(store)
    async with FakeUnitOfWork(store) as uow:
        await usecases.accept(uow, consent_id="grant-1", subject=RESIDENT, now=NOW)
    async with FakeUnitOfWork(store) as uow:
        await usecases.link_holder(uow, consent_id="grant-1", holder_subject=PRM, now=NOW)
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
        await usecases.record_transfer(
            uow,
            consent,
            resource=DAILY,
            start=date(2025, 1, 1),
            end=date(2025, 2, 1),
            outcome="ok",
            bytes_sent=2048,
            records=31,
            now=LATER,
        )

    stored = store.consent("grant-1")
    assert stored.state is ConsentState.ACTIVE and stored.holder_subject == PRM
    assert [e.kind for e in store.ledger] == [
        "consent.requested",
        "consent.granted",
        "holder.linked",
        "transfer.served",
    ]
    assert verify(store.ledger).ok
    served = store.ledger[-1]
    assert served.details == {
        "resource": DAILY,
        "start": "2025-01-01",
        "end": "2025-02-01",
        "outcome": "ok",
        "bytes": 2048,
        "records": 31,
    }
    assert (served.actor, served.subject, served.consent_id) == (
        f"service:{SERVICE}",
        RESIDENT,
        "grant-1",
    )


async def test_a_request_records_the_asked_scope_in_the_ledger() -> None:
    store = Store()
    await _request(store)
    entry = store.ledger[0]
    assert entry.actor == f"service:{SERVICE}"
    assert entry.details["resources"] == f"{DAILY},{LOAD_CURVE}"
    assert entry.details["revision"] == 1
    assert store.consent("grant-1").state is ConsentState.REQUESTED


async def test_the_holder_subject_never_reaches_the_ledger() -> None:
    store = Store().put(requested())
    async with FakeUnitOfWork(store) as uow:
        await usecases.accept(uow, consent_id="grant-1", subject=RESIDENT, now=NOW)
        await usecases.link_holder(uow, consent_id="grant-1", holder_subject=PRM, now=NOW)
    assert all(PRM not in e.model_dump_json() for e in store.ledger)


async def test_a_failed_transfer_is_recorded_as_failed() -> None:
    store = Store()
    async with FakeUnitOfWork(store) as uow:
        await usecases.record_transfer(
            uow,
            requested(),
            resource=DAILY,
            start=None,
            end=None,
            outcome="holder_error",
            bytes_sent=0,
            records=None,
            now=NOW,
        )
    assert store.ledger[0].kind == "transfer.failed"
    assert store.ledger[0].details["start"] is None


@pytest.mark.parametrize(
    ("choice", "less"),
    [
        ({}, False),
        ({"resources": [DAILY]}, True),
        ({"duration": "P6M"}, True),
        ({"history": "P3M"}, True),
        ({"duration": "P12M"}, False),  # the same year, spelled in months
    ],
    ids=repr,
)
async def test_the_grant_entry_says_whether_the_resident_gave_less_than_asked(
    choice: dict[str, object], less: bool
) -> None:
    store = Store().put(requested())
    async with FakeUnitOfWork(store) as uow:
        await usecases.accept(uow, consent_id="grant-1", subject=RESIDENT, now=NOW, **choice)  # type: ignore[arg-type]
    assert store.ledger[-1].kind == "consent.granted"
    assert store.ledger[-1].details["less_than_asked"] is less


async def test_a_two_week_consent_accepted_as_asked_is_not_less_than_asked() -> None:
    store = Store().put(requested(duration="P2W"))
    async with FakeUnitOfWork(store) as uow:
        await usecases.accept(uow, consent_id="grant-1", subject=RESIDENT, now=NOW)
    assert store.ledger[-1].details["less_than_asked"] is False


async def test_a_resident_refuses_and_the_ledger_says_so() -> None:
    store = Store().put(requested())
    async with FakeUnitOfWork(store) as uow:
        await usecases.refuse(uow, consent_id="grant-1", subject=RESIDENT, now=NOW)
    assert store.consent("grant-1").state is ConsentState.REFUSED
    assert (store.ledger[-1].kind, store.ledger[-1].actor) == (
        "consent.refused",
        f"resident:{RESIDENT}",
    )


async def test_a_holder_link_failure_is_recorded_with_its_reason() -> None:
    consent = requested()
    consent.accept(NOW)
    store = Store().put(consent)
    async with FakeUnitOfWork(store) as uow:
        await usecases.fail_holder(uow, consent_id="grant-1", reason="ADAM-DC-0008", now=NOW)
    assert store.consent("grant-1").state is ConsentState.FAILED
    assert store.ledger[-1].details == {"reason": "ADAM-DC-0008"}


async def test_narrowing_stores_a_new_revision_and_keeps_the_old_one() -> None:
    consent = requested()
    consent.accept(NOW)
    consent.link_holder(PRM, NOW)
    store = Store().put(consent)
    async with FakeUnitOfWork(store) as uow:
        await usecases.narrow(
            uow,
            consent_id="grant-1",
            subject=RESIDENT,
            now=LATER,
            resources=[DAILY],
            expires_at=NOW + timedelta(days=90),
        )
    assert store.consent("grant-1").revision == 2
    assert store.consent("grant-1").resources == [DAILY]
    assert [c.resources for c in store.revisions] == [[DAILY, LOAD_CURVE]]
    assert store.ledger[-1].kind == "consent.narrowed"
    assert store.ledger[-1].details["revision"] == 2


@pytest.mark.parametrize("use_case", ["accept", "refuse"])
async def test_a_resident_cannot_decide_on_someone_elses_request(use_case: str) -> None:
    store = Store().put(requested())
    before = store.snapshot()
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(NotYourConsent):
            await getattr(usecases, use_case)(uow, consent_id="grant-1", subject="bob", now=NOW)
    assert store.snapshot() == before
