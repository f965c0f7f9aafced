"""A data request's contract counters are committed without waiting for the disk
(``durable=False``), on both stores, and nothing else is: the counts are there for every
other connection at once, a refusal still gives back what it took, SQLite's connection keeps
its ``synchronous`` level, PostgreSQL relaxes only that transaction (the count's own
statement outside a unit of work's transaction, the unit of work's inside one), and a unit of work
that wrote to the ledger is always committed durably."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.quota import ContractLimitReached, request_windows, take_request
from broker.storage.tables import transfer_counters
from broker.storage.tokens import sqlite_driver
from broker.storage.uow import SqlUnitOfWork
from consent.ledger import LedgerEvent
from consent.registry import ContractTerms

AT = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
TERMS = ContractTerms(requests_per_second=2, requests_per_hour=100)


async def _admit(engine: AsyncEngine) -> None:
    """What a data request's admission does with the counters."""
    async with SqlUnitOfWork(engine, lambda: AT) as uow:
        await take_request(
            uow.conn, holder="enedis", service="coach", terms=TERMS, now=AT, durable=False
        )
        await uow.commit(durable=False)


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(transfer_counters.c.window, transfer_counters.c.count))
        return {str(window): int(count) for window, count in rows}


def _statements(engine: AsyncEngine) -> list[str]:
    sent: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    return sent


def _asyncpg_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Statements sent with ``fetch`` on asyncpg directly (broker.storage.pg_statements)."""
    sent: list[str] = []
    original = asyncpg.Connection.fetch

    async def remember(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(query)
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetch", remember)
    return sent


async def test_counts_are_committed_and_a_refusal_gives_back(engine: AsyncEngine) -> None:
    second, hour = request_windows(TERMS, AT)
    await _admit(engine)
    await _admit(engine)
    with pytest.raises(ContractLimitReached):
        await _admit(engine)
    assert await _counts(engine) == {second.key: 2, hour.key: 2}


async def test_only_the_counters_commit_is_relaxed(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        assert engine.dialect.name == "postgresql"
        sent = _statements(engine)
        on_asyncpg = _asyncpg_statements(monkeypatch)
        await _admit(engine)
        # Outside a transaction the count is one statement on asyncpg, its own transaction,
        # relaxed by set_config(..., true) for that transaction only; SQLAlchemy sends nothing.
        assert sent == []
        (taken,) = on_asyncpg
        assert "set_config('synchronous_commit', 'off', true)" in taken
        async with engine.connect() as conn:  # the same pooled session: durable again
            assert await conn.scalar(text("SHOW synchronous_commit")) == "on"
        return
    async with engine.connect() as conn:
        before = await conn.scalar(text("PRAGMA synchronous"))
    await _admit(engine)
    async with engine.connect() as conn:
        assert await conn.scalar(text("PRAGMA synchronous")) == before == 2  # FULL
        driver = await sqlite_driver(conn)
        assert driver is not None and not driver.in_transaction


async def test_inside_an_open_transaction_the_count_waits_for_its_commit(
    engine: AsyncEngine,
) -> None:
    async with SqlUnitOfWork(engine, lambda: AT) as uow:
        await uow.conn.execute(
            transfer_counters.insert().values(
                holder="enedis", service="coach", window="d:x", count=0, bytes=0
            )
        )
        await take_request(
            uow.conn, holder="enedis", service="coach", terms=TERMS, now=AT, durable=False
        )
        # Left without a commit: the count rolls back with the rest.
    assert await _counts(engine) == {}


async def test_a_unit_of_work_that_wrote_to_the_ledger_commits_durably(
    engine: AsyncEngine,
) -> None:
    sent = _statements(engine)
    async with SqlUnitOfWork(engine, lambda: AT) as uow:
        await uow.ledger.append(LedgerEvent(kind="transfer.denied", actor="service:coach"), AT)
        await uow.commit(durable=False)
    assert not any("synchronous" in statement for statement in sent)
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM ledger")) == 1
