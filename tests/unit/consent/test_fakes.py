"""The fakes keep the unit-of-work promise the use-case tests rely on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.ledger import LedgerEvent, verify
from consent.model import ConsentState

from .builders import NOW, active, requested
from .fakes import FakeUnitOfWork, Store


async def test_an_added_consent_is_visible_in_its_unit_of_work_and_stored_only_on_commit() -> None:
    store = Store()
    async with FakeUnitOfWork(store) as uow:
        await uow.consents.add(requested())
        assert await uow.consents.get("grant-1") is not None
        assert store.consents == {}
        await uow.commit()
    assert "grant-1" in store.consents


async def test_leaving_without_commit_discards_everything() -> None:
    store = Store().put(active())
    store.issue_tokens("grant-1", 2)
    before = store.snapshot()
    async with FakeUnitOfWork(store) as uow:
        consent = await uow.consents.get("grant-1")
        assert consent is not None
        consent.narrow(NOW, resources=[consent.resources[0]])
        await uow.consents.save(consent)
        await uow.ledger.append(LedgerEvent(kind="x", actor="system:test"), NOW)
        await uow.tokens.revoke_for_grant("grant-1", NOW)
    assert store.snapshot() == before


async def test_a_mutation_without_save_never_reaches_the_store() -> None:
    store = Store().put(active())
    async with FakeUnitOfWork(store) as uow:
        consent = await uow.consents.get("grant-1")
        assert consent is not None
        consent.state = ConsentState.EXPIRED
        await uow.commit()
    assert store.consent("grant-1").state is ConsentState.ACTIVE


async def test_a_saved_new_revision_keeps_the_old_one_on_record() -> None:
    store = Store().put(active())
    async with FakeUnitOfWork(store) as uow:
        consent = await uow.consents.get("grant-1")
        assert consent is not None
        consent.narrow(NOW, history="P1M")
        await uow.consents.save(consent)
        await uow.commit()
    assert [c.revision for c in store.revisions] == [1]
    assert store.consent("grant-1").revision == 2


async def test_adding_an_existing_id_is_refused() -> None:
    store = Store().put(requested())
    async with FakeUnitOfWork(store) as uow:
        with pytest.raises(ValueError, match="duplicate"):
            await uow.consents.add(requested())


async def test_ledger_entries_chain_across_units_of_work() -> None:
    store = Store()
    for i in range(3):
        async with FakeUnitOfWork(store) as uow:
            await uow.ledger.append(LedgerEvent(kind="x", actor="system:t"), NOW + timedelta(i))
            await uow.commit()
    assert [e.seq for e in store.ledger] == [1, 2, 3]
    assert verify(store.ledger).ok


async def test_revoking_tokens_reports_the_live_ones_and_records_the_revocation() -> None:
    store = Store()
    store.issue_tokens("grant-1", 3)
    async with FakeUnitOfWork(store) as uow:
        assert await uow.tokens.revoke_for_grant("grant-1", NOW) == 3
        await uow.commit()
    assert store.live_tokens["grant-1"] == 0
    assert store.token_revocations == [("grant-1", NOW)]
