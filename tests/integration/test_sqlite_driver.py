"""SQLite's one-trip statements (``broker.storage.sqlite_driver``) and the data plane's
one-trip ledger batch (``broker.data.sqlite_batch``), on a real SQLite file.

The cursor must behave as SQLAlchemy's own aiosqlite cursor does (rows, ``rowcount``,
``lastrowid``, errors, transactions) while making one trip to the driver's thread per
statement; the batch must write exactly what the SQLAlchemy ledger writes, entry for entry,
roll back whole on failure, and be seen by the ledger's watchers (the metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.data.appender import PendingEntry, write_batch
from broker.gdpr.pseudonyms import PseudonymousLedger
from broker.ops.ledger_watch import Observed, watch_ledger
from broker.storage.engine import make_engine
from broker.storage.migrate import upgrade_async
from broker.storage.sqlite_driver import run_on_driver_thread
from broker.storage.tables import (
    ledger,
    ledger_head,
    open_transfers,
    resident_keys,
    transfer_counters,
)
from consent.ledger import LedgerEvent

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEY = "ab" * 32


async def _engine(tmp_path: Path, name: str) -> AsyncEngine:
    url = f"sqlite+aiosqlite:///{tmp_path / name}"
    await upgrade_async(url)
    return make_engine(url)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await _engine(tmp_path, "store.sqlite3")
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every function queued on any aiosqlite connection's thread, by name."""
    queued: list[str] = []
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        queued.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    yield queued


async def test_a_statement_is_one_trip_and_reads_as_with_sqlalchemys_cursor(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # connection checked out and set up
        trips.clear()
        rows = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).all()
        assert trips == ["_run"]
        assert [tuple(r) for r in rows] == [(0, rows[0].hash)] and len(rows[0].hash) == 64
        trips.clear()
        changed = await conn.execute(
            update(ledger_head).values(seq=ledger_head.c.seq).returning(ledger_head.c.seq)
        )
        assert changed.scalars().all() == [0]
        assert trips == ["_run"]
        plain = await conn.execute(update(transfer_counters).values(count=1))
        assert plain.rowcount == 0  # nothing matched
        await conn.rollback()


async def test_rowcount_lastrowid_executemany_and_errors(engine: AsyncEngine) -> None:
    values = [
        {"holder": "h", "service": "s", "window": f"w{i}", "count": i, "bytes": 0} for i in range(3)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(transfer_counters), values)  # executemany
        changed = await conn.execute(
            update(transfer_counters).where(transfer_counters.c.count > 0).values(bytes=7)
        )
        assert changed.rowcount == 2
        result = await conn.exec_driver_sql(
            "INSERT INTO resident_keys (resident_id, key, created_at) VALUES (?, ?, ?)",
            ("res_a", KEY, "2026-03-01 09:00:00.000000"),
        )
        assert result.lastrowid is not None and result.lastrowid > 0
    async with engine.connect() as conn:
        with pytest.raises(IntegrityError):  # the adapter's own error translation
            await conn.execute(insert(transfer_counters), values[0])
        await conn.rollback()
        total = await conn.scalar(select(func.sum(transfer_counters.c.bytes)))
    assert total == 14


async def test_a_rolled_back_transaction_leaves_nothing(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(
            insert(resident_keys).values(resident_id="res_b", key=KEY, created_at=NOW)
        )
        await conn.rollback()
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(resident_keys)) == 0


def _pending(i: int, subject: str | None, actor: str = "service:coach") -> PendingEntry:
    event = LedgerEvent(
        kind="transfer.served",
        actor=actor,
        subject=subject,
        consent_id=f"grant_{i}",
        service="coach",
        holder="enedis",
        details={"bytes": 10 * i, "outcome": "ok"},
    )
    return PendingEntry(event=event, at=NOW, holder="enedis", service="coach", bytes_sent=10 * i)


BATCH = [
    _pending(1, "res_a"),
    _pending(2, None),
    _pending(3, "res_a", actor="resident:res_b"),
    _pending(4, "res_new"),  # no key yet: created in the batch
]


async def _known_keys(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for resident in ("res_a", "res_b"):
            await conn.execute(
                insert(resident_keys).values(resident_id=resident, key=KEY, created_at=NOW)
            )


async def sqlalchemy_ledger_writes(engine: AsyncEngine, batch: list[PendingEntry]) -> None:
    """What the batch is compared with: the same entries through ``PseudonymousLedger``."""
    async with engine.connect() as conn, conn.begin():
        reference = PseudonymousLedger(conn)
        async with reference.batch():
            for pending in batch:
                await reference.append(pending.event, pending.at)


async def _entries(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(ledger).order_by(ledger.c.seq))
        return [tuple(row) for row in rows]


async def test_the_one_trip_batch_writes_what_the_sqlalchemy_ledger_writes(
    tmp_path: Path, trips: list[str]
) -> None:
    fast, slow = await _engine(tmp_path, "fast.sqlite3"), await _engine(tmp_path, "slow.sqlite3")
    try:
        for store in (fast, slow):
            await _known_keys(store)
        trips.clear()
        await write_batch(fast, BATCH)
        assert trips == ["write_batch"]  # counters, head, keys, entries, commit: one trip
        await sqlalchemy_ledger_writes(slow, BATCH)
        fast_entries, slow_entries = await _entries(fast), await _entries(slow)
        assert len(fast_entries) == len(BATCH)
        # The new resident's key is random, so their entry differs in subject and hashes;
        # every entry before it is identical, column for column.
        assert fast_entries[:3] == slow_entries[:3]
        async with fast.connect() as conn:
            keys = (await conn.execute(select(resident_keys.c.resident_id))).scalars().all()
            counted = (await conn.execute(select(transfer_counters.c.bytes))).scalars().all()
            head = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).one()
        assert sorted(keys) == ["res_a", "res_b", "res_new"]
        assert counted == [100]  # 10 + 20 + 30 + 40, one day's row
        assert tuple(head) == (4, fast_entries[-1][-1])
    finally:
        await fast.dispose()
        await slow.dispose()


async def test_a_failing_batch_rolls_back_whole(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM ledger_head"))
    with pytest.raises(RuntimeError, match="head"):
        await write_batch(engine, BATCH)
    async with engine.connect() as conn:
        for table in (transfer_counters, resident_keys, ledger):
            assert await conn.scalar(select(func.count()).select_from(table)) == 0


async def watchers_see_each_batch_once_committed(engine: AsyncEngine) -> None:
    """The ledger's watchers (the metrics) get a batch's entries once it is committed, and
    nothing once they stopped watching (shared with the PostgreSQL batch's tests)."""
    seen: list[Observed] = []
    stop = watch_ledger(engine, seen.extend)
    try:
        await write_batch(engine, BATCH[:2])
    finally:
        stop()
    assert [(o.kind, o.outcome, o.bytes) for o in seen] == [
        ("transfer.served", "ok", 10),
        ("transfer.served", "ok", 20),
    ]
    await write_batch(engine, BATCH[2:])  # stopped: nothing more reaches it
    assert len(seen) == 2


async def test_watchers_see_the_batch_once_committed(engine: AsyncEngine) -> None:
    await watchers_see_each_batch_once_committed(engine)


async def _open(engine: AsyncEngine, ids: list[str]) -> None:
    async with engine.begin() as conn:
        for opening in ids:
            await conn.execute(
                insert(open_transfers).values(
                    id=opening, consent_id="grant_x", resource="daily_consumption", opened_at=NOW
                )
            )


async def _traced(engine: AsyncEngine) -> list[str]:
    """The statements the writer connection runs from now on, as SQLite sees them."""
    seen: list[str] = []
    raw = await engine.raw_connection()
    try:
        await run_on_driver_thread(
            raw.driver_connection, lambda connection: connection.set_trace_callback(seen.append)
        )
    finally:
        raw.close()
    return seen


async def test_a_batch_of_durably_opened_transfers_closes_them_without_waiting_for_the_disk(
    engine: AsyncEngine,
) -> None:
    await _known_keys(engine)
    await _open(engine, ["t1", "t2", "t3"])
    seen = await _traced(engine)
    covered = [replace(p, opened=f"t{i}", covered=True) for i, p in enumerate(BATCH[:2], 1)]
    await write_batch(engine, covered)
    assert "PRAGMA synchronous=NORMAL" in seen  # this commit does not wait for the disk
    seen.clear()
    # One entry whose opening is not known to be durable: the whole batch waits for it.
    await write_batch(engine, [replace(BATCH[2], opened="t3"), BATCH[3]])
    assert "PRAGMA synchronous=NORMAL" not in seen
    assert "COMMIT" in seen
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(open_transfers)) == 0
        assert await conn.scalar(select(func.count()).select_from(ledger)) == 4
        level = await conn.scalar(text("PRAGMA synchronous"))
    assert level == 2  # FULL again after the unsynced batch
