"""The appender on a SQLite file holds the entries nobody waits for (their transfers'
openings stand for them) until a data request's admission has had the writer, or
``HOLD_SECONDS`` at most; an entry somebody waits for ends the hold at once; the bytes of
held entries count against the day's volume meanwhile (``unwritten_bytes``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.data import appender as module
from broker.data.appender import LedgerAppender, PendingEntry
from broker.quota import day_window
from broker.storage.engine import make_engine
from broker.storage.migrate import upgrade_async
from broker.storage.tables import ledger, open_transfers
from consent.ledger import LedgerEvent
from tests.integration.test_sqlite_driver import _open

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY = day_window(NOW)[0]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hold.sqlite3'}"
    await upgrade_async(url)
    engine = make_engine(url)
    yield engine
    await engine.dispose()


def _entry(opened: str, nbytes: int = 10) -> PendingEntry:
    event = LedgerEvent(
        kind="transfer.served",
        actor="service:coach",
        consent_id="grant_1",
        service="coach",
        holder="enedis",
        details={"bytes": nbytes, "outcome": "ok"},
    )
    return PendingEntry(
        event=event,
        at=NOW,
        holder="enedis",
        service="coach",
        bytes_sent=nbytes,
        opened=opened,
        covered=True,
    )


async def _written(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(ledger)) or 0)


async def _turns(count: int = 20) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


@pytest.fixture
def long_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long enough that only what the test does can end the hold.
    monkeypatch.setattr(module, "HOLD_SECONDS", 30.0)


@pytest.mark.usefixtures("long_hold")
async def test_an_entry_nobody_waits_for_is_held_until_an_admission_had_the_writer(
    engine: AsyncEngine,
) -> None:
    await _open(engine, ["t1"])
    appender = LedgerAppender(engine)
    appender.start()
    try:
        appender.submit(_entry("t1", nbytes=700))
        await asyncio.sleep(0.3)  # ample for a batch of one, were it not held
        assert await _written(engine) == 0
        assert appender.unwritten_bytes("enedis", "coach", DAY) == 700
        appender.writer_used()
        for _ in range(500):
            if appender.entries:
                break
            await asyncio.sleep(0.01)
        assert await _written(engine) == 1
        assert appender.unwritten_bytes("enedis", "coach", DAY) == 0  # in the counters now
    finally:
        await appender.close()


@pytest.mark.usefixtures("long_hold")
async def test_an_entry_somebody_waits_for_ends_the_hold(engine: AsyncEngine) -> None:
    await _open(engine, ["t1", "t2"])
    appender = LedgerAppender(engine)
    appender.start()
    try:
        appender.submit(_entry("t1"))
        await _turns()
        awaited = replace(_entry("t2"), covered=False)
        await asyncio.wait_for(appender.append(awaited), timeout=10)
        assert await _written(engine) == 2  # both, in the batch the waiter started
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(open_transfers)) == 0
    finally:
        await appender.close()


async def test_a_hold_ends_by_itself(engine: AsyncEngine) -> None:
    await _open(engine, ["t1"])
    appender = LedgerAppender(engine)
    appender.start()
    try:
        appender.submit(_entry("t1"))
        for _ in range(500):  # HOLD_SECONDS (5 ms) and the batch, with nobody admitted
            if appender.entries:
                break
            await asyncio.sleep(0.01)
        assert await _written(engine) == 1
    finally:
        await appender.close()


@pytest.mark.usefixtures("long_hold")
async def test_closing_writes_what_is_held(engine: AsyncEngine) -> None:
    await _open(engine, ["t1"])
    appender = LedgerAppender(engine)
    appender.start()
    appender.submit(_entry("t1"))
    await _turns()
    await asyncio.wait_for(appender.close(), timeout=10)
    assert await _written(engine) == 1
