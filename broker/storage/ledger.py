"""The ledger on SQLAlchemy (implements ``consent.ports.LedgerWriter``) and its reader.

Appending first bumps the single ``ledger_head`` row: that write takes the row lock
(PostgreSQL) or the database write lock (SQLite) before anything is read, so concurrent
appenders from any number of instances queue up and the chain stays one line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.storage.tables import ledger, ledger_head
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


class SqlLedger:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _lock_head(self) -> tuple[int, str]:
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
        await self._conn.execute(insert(ledger).values(**entry.model_dump()))
        await self._conn.execute(
            update(ledger_head).where(ledger_head.c.id == 1).values(seq=entry.seq, hash=entry.hash)
        )
        return entry

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
