"""``aiguillage ledger verify`` on a real store: intact passes; an edit, a deletion, a
reordering or a cut-off tail is found and named."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.ledger_check import check_ledger
from broker.storage.uow import SqlUnitOfWork
from consent.ledger import LedgerEvent

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _fill(engine: AsyncEngine, n: int = 5) -> None:
    async with SqlUnitOfWork(engine, lambda: NOW) as uow:
        for i in range(n):
            await uow.ledger.append(
                LedgerEvent(kind="transfer.served", actor="service:c", details={"bytes": i}), NOW
            )
        await uow.commit()


async def _sql(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement))


async def test_an_intact_ledger_verifies(engine: AsyncEngine) -> None:
    await _fill(engine)
    report = await check_ledger(engine)
    assert report.ok and report.count == 5 and report.head_seq == 5


async def test_an_empty_ledger_verifies(engine: AsyncEngine) -> None:
    assert (await check_ledger(engine)).ok


async def test_an_edited_entry_is_named(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "update ledger set actor = 'service:evil' where seq = 3")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 3


async def test_a_deleted_entry_is_named(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "delete from ledger where seq = 2")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 2


async def test_reordered_entries_are_found(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "update ledger set seq = 100 where seq = 2")
    await _sql(engine, "update ledger set seq = 2 where seq = 3")
    await _sql(engine, "update ledger set seq = 3 where seq = 100")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 2


async def test_a_cut_off_tail_is_found_through_the_head(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "delete from ledger where seq = 5")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 5
