"""The data plane's group-committed ledger (``broker.data.appender``) on both stores: many
transfers share a transaction and still form one valid chain after the entries written one
by one; an append returns only once its entry is committed; a batch that fails writes
nothing and every transfer in it gets the error; a cancelled waiter's entry is written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.data.appender import AppenderClosed, LedgerAppender, PendingEntry
from broker.gdpr.pseudonyms import pseudonym
from broker.ledger_check import check_ledger
from broker.storage.tables import ledger, resident_keys, transfer_counters
from broker.storage.uow import SqlUnitOfWork
from consent.ledger import LedgerEvent

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _pending(i: int, *, subject: str | None = "res_a", nbytes: int = 10) -> PendingEntry:
    event = LedgerEvent(
        kind="transfer.served",
        actor="service:coach",
        subject=subject,
        consent_id=f"grant_{i % 3}",
        service="coach",
        holder="enedis",
        details={"bytes": nbytes, "outcome": "ok"},
    )
    return PendingEntry(event=event, at=NOW, holder="enedis", service="coach", bytes_sent=nbytes)


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(ledger)) or 0)


async def test_concurrent_transfers_share_transactions_and_keep_one_chain(
    engine: AsyncEngine,
) -> None:
    async with SqlUnitOfWork(engine, lambda: NOW) as uow:  # an entry written the usual way
        await uow.ledger.append(LedgerEvent(kind="consent.requested", actor="service:c"), NOW)
        await uow.commit()
    appender = LedgerAppender(engine)
    appender.start()
    try:
        await asyncio.gather(*(appender.append(_pending(i)) for i in range(40)))
        assert await _count(engine) == 41  # every append returned after its commit
    finally:
        await appender.close()
    assert appender.entries == 40
    assert appender.batches < 40  # they were grouped
    report = await check_ledger(engine)
    assert report.ok and report.head_seq == 41, report.describe()
    async with engine.connect() as conn:
        subjects = set(
            (await conn.execute(select(ledger.c.subject).where(ledger.c.seq > 1))).scalars()
        )
        key = await conn.scalar(
            select(resident_keys.c.key).where(resident_keys.c.resident_id == "res_a")
        )
        day = (
            await conn.execute(select(transfer_counters.c.count, transfer_counters.c.bytes))
        ).one()
    assert key is not None
    assert subjects == {pseudonym(bytes.fromhex(key), "res_a")}  # pseudonymised, one key
    assert tuple(day) == (40, 400)  # bytes per day: every transfer counted once


async def test_a_failed_batch_writes_nothing_and_every_waiter_gets_the_error(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:  # the head row gone: the batch's first statement fails
        await conn.execute(text("DELETE FROM ledger_head"))
    appender = LedgerAppender(engine)
    appender.start()
    try:
        results = await asyncio.gather(
            *(appender.append(_pending(i)) for i in range(5)), return_exceptions=True
        )
    finally:
        await appender.close()
    assert all(isinstance(r, RuntimeError) and "head" in str(r) for r in results), results
    assert await _count(engine) == 0
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(transfer_counters)) == 0


async def test_a_waiter_that_goes_away_still_gets_its_entry_written(engine: AsyncEngine) -> None:
    appender = LedgerAppender(engine)
    appender.start()
    waiter = asyncio.create_task(appender.append(_pending(1)))
    await asyncio.sleep(0)
    waiter.cancel()
    await appender.close()  # writes what is queued
    assert await _count(engine) == 1
    with pytest.raises(AppenderClosed):
        await appender.append(_pending(2))
