"""The data plane's ledger batch on PostgreSQL, sent on asyncpg directly
(``broker.data.postgres_batch``), on a real PostgreSQL database.

It must write exactly what the SQLAlchemy ledger writes (entries column for column, the
``details`` text byte for byte, counters, keys, head), roll back whole on failure, report
a lost database as SQLAlchemy's ``OperationalError``, and be seen by the ledger's watchers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.data import postgres_batch
from broker.data.appender import write_batch
from broker.storage.engine import make_engine
from broker.storage.migrate import upgrade_async
from broker.storage.tables import ledger, ledger_head, resident_keys, transfer_counters
from consent.ledger import LedgerEntry, verify
from tests.integration.test_sqlite_driver import (
    BATCH,
    _known_keys,
    sqlalchemy_ledger_writes,
    watchers_see_each_batch_once_committed,
)
from tests.support.databases import fresh_database


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two fresh PostgreSQL databases: one for the batch, one for the SQLAlchemy ledger."""
    async with (
        fresh_database("postgresql", tmp_path) as fast_url,
        fresh_database("postgresql", tmp_path) as slow_url,
    ):
        made = []
        for url in (fast_url, slow_url):
            await upgrade_async(url)
            made.append(make_engine(url))
        try:
            yield made[0], made[1]
        finally:
            for engine in made:
                await engine.dispose()


async def _entries(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(ledger, text("details::text AS stored")).order_by(ledger.c.seq)
        )
        return [tuple(row) for row in rows]


async def test_the_asyncpg_batch_writes_what_the_sqlalchemy_ledger_writes(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    fast, slow = engines
    for store in (fast, slow):
        await _known_keys(store)
    await write_batch(fast, BATCH)
    await sqlalchemy_ledger_writes(slow, BATCH)
    fast_entries, slow_entries = await _entries(fast), await _entries(slow)
    assert len(fast_entries) == len(BATCH)
    # The new resident's key is random, so their entry differs in subject and hashes;
    # every entry before it is identical, column for column, details' stored text included.
    assert fast_entries[:3] == slow_entries[:3]
    async with fast.connect() as conn:
        keys = (await conn.execute(select(resident_keys.c.resident_id))).scalars().all()
        counted = (
            await conn.execute(select(transfer_counters.c.count, transfer_counters.c.bytes))
        ).all()
        head = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).one()
        rows = await conn.execute(select(ledger).order_by(ledger.c.seq))
        chain = [LedgerEntry.model_validate(r._asdict()) for r in rows]
    assert sorted(keys) == ["res_a", "res_b", "res_new"]
    assert [tuple(c) for c in counted] == [(4, 100)]  # 4 transfers, 10 + 20 + 30 + 40 bytes
    assert tuple(head) == (4, chain[-1].hash)
    assert verify(chain).ok


async def test_a_second_batch_chains_on_and_adds_to_the_counters(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    fast, _ = engines
    await write_batch(fast, BATCH[:2])
    await write_batch(fast, BATCH[2:])
    async with fast.connect() as conn:
        counted = (
            await conn.execute(select(transfer_counters.c.count, transfer_counters.c.bytes))
        ).one()
        seqs = (await conn.execute(select(ledger.c.seq).order_by(ledger.c.seq))).scalars().all()
    assert tuple(counted) == (4, 100)
    assert seqs == [1, 2, 3, 4]


async def test_a_failing_batch_rolls_back_whole(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    fast, _ = engines
    async with fast.begin() as conn:
        await conn.execute(text("DELETE FROM ledger_head"))
    with pytest.raises(RuntimeError, match="head"):
        await write_batch(fast, BATCH)
    async with fast.connect() as conn:
        for table in (transfer_counters, resident_keys, ledger):
            assert await conn.scalar(select(func.count()).select_from(table)) == 0


async def test_a_lost_database_is_an_operational_error(
    engines: tuple[AsyncEngine, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, _ = engines
    original = postgres_batch._write

    async def cut_off(connection: Any, *args: Any) -> Any:
        await connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return await original(connection, *args)

    monkeypatch.setattr(postgres_batch, "_write", cut_off)
    with pytest.raises(OperationalError):
        await write_batch(fast, BATCH)
    monkeypatch.undo()
    # The pool hands out a live connection again, and nothing was written.
    await write_batch(fast, BATCH[:1])
    async with fast.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(ledger)) == 1


async def test_watchers_see_the_batch_once_committed(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    await watchers_see_each_batch_once_committed(engines[0])
