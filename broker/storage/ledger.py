"""The ledger on SQLAlchemy (implements ``consent.ports.LedgerWriter``) and its reader.

Appending first bumps the single ``ledger_head`` row: that write takes the row lock
(PostgreSQL) or the database write lock (SQLite) before anything is read, so concurrent
appenders from any number of instances queue up and the chain stays one line.

``async with ledger.batch():`` lets one transaction append many entries under one head
lock: the head is locked once on entry, each ``append`` inside chains on the head held in
memory (no lock or head update per entry), and the head row is written once on the way
out. Every entry still goes through ``append`` (so subclasses such as the pseudonymising
ledger rewrite each one as usual). The group-committing appender of the data plane
(``broker.data.appender``) uses it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.storage.tables import ledger, ledger_head
from broker.storage.tokens import sqlite_driver
from consent.ledger import GENESIS_HASH, LedgerEntry, LedgerEvent, next_entry


@dataclass(frozen=True)
class TransferStats:
    """How many transfers a consent served, and when the last one was."""

    served: int
    last_at: datetime | None


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


# Built once: each append only binds its values (no statement to build per entry). The
# insert stays on SQLAlchemy, where ``broker.ops.ledger_watch`` sees it for the metrics.
_INSERT_ENTRY = insert(ledger)
# SQLite: the head row's statements straight on the driver, on the unit of work's own
# connection and transaction (see ``broker.storage.tokens.SqliteStatement``).
SQLITE_LOCK_HEAD = "UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, hash"
SQLITE_WRITE_HEAD = "UPDATE ledger_head SET seq = ?, hash = ? WHERE id = 1"


class SqlLedger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        # Inside ``batch()``: the head this transaction holds the lock on, kept in memory.
        self._held: tuple[int, str] | None = None
        # Whether an entry was appended since the unit of work last committed: such a
        # transaction is always committed durably (``SqlUnitOfWork.commit``).
        self.appended = False

    async def _lock_head(self) -> tuple[int, str]:
        if self._held is not None:
            return self._held
        driver = await sqlite_driver(self._conn)
        if driver is not None:  # one trip to aiosqlite's thread instead of four
            rows = await driver.execute_fetchall(SQLITE_LOCK_HEAD)
            if not rows:
                raise RuntimeError("ledger head row is missing: run `aiguillage migrate`")
            return int(rows[0][0]), str(rows[0][1])
        result = await self._conn.execute(
            update(ledger_head)
            .where(ledger_head.c.id == 1)
            .values(seq=ledger_head.c.seq)
            .returning(ledger_head.c.seq, ledger_head.c.hash)
        )
        row = result.first()
        if row is None:
            # The migration creates the head row; its absence means a damaged store.
            raise RuntimeError("ledger head row is missing: run `aiguillage migrate`")
        return int(row.seq), str(row.hash)

    async def append(self, event: LedgerEvent, at: datetime) -> LedgerEntry:
        seq, head_hash = await self._lock_head()
        entry = next_entry(seq, head_hash, event, at)
        self.appended = True
        await self._conn.execute(_INSERT_ENTRY, entry.model_dump())
        if self._held is not None:
            self._held = (entry.seq, entry.hash)
        else:
            await self._write_head(entry.seq, entry.hash)
        return entry

    async def _write_head(self, seq: int, head_hash: str) -> None:
        driver = await sqlite_driver(self._conn)
        if driver is not None:
            await driver.execute_fetchall(SQLITE_WRITE_HEAD, (seq, head_hash))
            return
        await self._conn.execute(
            update(ledger_head).where(ledger_head.c.id == 1).values(seq=seq, hash=head_hash)
        )

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Append many entries under one head lock and one head update (see the module)."""
        if self._held is not None:
            raise RuntimeError("ledger batches do not nest")
        start = await self._lock_head()
        self._held = start
        try:
            yield
            if self._held != start:
                await self._write_head(*self._held)
        finally:
            self._held = None

    async def for_subject(self, subject: str, limit: int = 500) -> list[LedgerEntry]:
        rows = await self._conn.execute(
            select(ledger)
            .where(ledger.c.subject == subject)
            .order_by(ledger.c.seq.desc())
            .limit(limit)
        )
        return [LedgerEntry.model_validate(r._asdict()) for r in rows]

    async def for_consent(self, consent_id: str, limit: int = 500) -> list[LedgerEntry]:
        rows = await self._conn.execute(
            select(ledger)
            .where(ledger.c.consent_id == consent_id)
            .order_by(ledger.c.seq.desc())
            .limit(limit)
        )
        return [LedgerEntry.model_validate(r._asdict()) for r in rows]

    async def transfer_stats(self, consent_ids: Iterable[str]) -> dict[str, TransferStats]:
        """``transfer.served`` entries per consent, counted by the database."""
        ids = list(consent_ids)
        if not ids:
            return {}
        rows = await self._conn.execute(
            select(ledger.c.consent_id, func.count(), func.max(ledger.c.at))
            .where(ledger.c.kind == "transfer.served", ledger.c.consent_id.in_(ids))
            .group_by(ledger.c.consent_id)
        )
        return {
            str(consent_id): TransferStats(int(count), _aware(last))
            for consent_id, count, last in rows
        }


async def read_all(engine: AsyncEngine, batch: int = 5000) -> AsyncIterator[LedgerEntry]:
    """Every entry in order, in batches, so a verify of millions never holds them all."""
    after = 0
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(ledger).where(ledger.c.seq > after).order_by(ledger.c.seq).limit(batch)
                )
            ).all()
        if not rows:
            return
        for row in rows:
            yield LedgerEntry.model_validate(row._asdict())
        after = int(rows[-1].seq)


async def read_head(engine: AsyncEngine) -> tuple[int, str]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(ledger_head.c.seq, ledger_head.c.hash))).first()
    return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))
