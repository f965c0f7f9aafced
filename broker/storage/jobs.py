"""The job queue in the database: enqueue inside a use case's transaction (an outbox), claim
with a lease, finish or retry with backoff. No broker or cluster protocol of our own."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import jobs


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class JobState:
    """A job's whole row, for operators and tests looking at one job."""

    id: str
    kind: str
    payload: dict[str, Any]
    run_after: datetime
    attempts: int
    claimed_until: datetime | None
    last_error: str | None
    done_at: datetime | None
    failed_at: datetime | None
    created_at: datetime


class SqlJobs:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def enqueue(
        self, kind: str, payload: dict[str, Any], now: datetime, run_after: datetime | None = None
    ) -> str:
        job_id = f"job_{secrets.token_hex(10)}"
        await self._conn.execute(
            insert(jobs).values(
                id=job_id,
                kind=kind,
                payload=payload,
                run_after=run_after or now,
                attempts=0,
                created_at=now,
            )
        )
        return job_id

    async def enqueue_once(
        self, job_id: str, kind: str, payload: dict[str, Any], now: datetime
    ) -> bool:
        """Enqueue under a chosen id unless a job with that id exists; say if it was added.

        Periodic work names each round (``purge:<period>``), so every instance may offer
        the round and the primary key lets exactly one offer in, whatever the timing.
        """
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(jobs)
            .values(
                id=job_id,
                kind=kind,
                payload=payload,
                run_after=now,
                attempts=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[jobs.c.id])
        )
        result = await self._conn.execute(statement)
        return result.rowcount == 1

    async def claim(self, now: datetime, lease: timedelta, limit: int = 20) -> list[Job]:
        """Take up to ``limit`` due jobs for ``lease``; the caller commits at once.

        PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` then update, so concurrent
        instances pass each other by. SQLite: one ``UPDATE … RETURNING`` whose write lock
        comes first, so two processes cannot both read the same due rows.
        """
        due = (
            select(jobs.c.id)
            .where(
                jobs.c.done_at.is_(None),
                jobs.c.failed_at.is_(None),
                jobs.c.run_after <= now,
                or_(jobs.c.claimed_until.is_(None), jobs.c.claimed_until < now),
            )
            .order_by(jobs.c.run_after)
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            ids = [r.id for r in await self._conn.execute(due.with_for_update(skip_locked=True))]
            if not ids:
                return []
            target = jobs.c.id.in_(ids)
        else:
            target = jobs.c.id.in_(due.scalar_subquery())
        rows = await self._conn.execute(
            update(jobs)
            .where(target)
            .values(claimed_until=now + lease, attempts=jobs.c.attempts + 1)
            .returning(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.attempts)
        )
        return [
            Job(id=r.id, kind=r.kind, payload=dict(r.payload), attempts=r.attempts) for r in rows
        ]

    async def finish(
        self, job_id: str, now: datetime, payload: dict[str, Any] | None = None
    ) -> None:
        """Mark done; ``payload`` (when given) replaces the stored one in the same update,
        which is how a finished job sheds the secret it carried (``broker/jobs.py``)."""
        values: dict[str, Any] = {"done_at": now, "claimed_until": None}
        if payload is not None:
            values["payload"] = payload
        await self._conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    async def retry(self, job_id: str, now: datetime, delay: timedelta, error: str) -> None:
        await self._conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(run_after=now + delay, claimed_until=None, last_error=error[:300])
        )

    async def give_up(
        self, job_id: str, now: datetime, error: str, payload: dict[str, Any] | None = None
    ) -> None:
        values: dict[str, Any] = {
            "failed_at": now,
            "claimed_until": None,
            "last_error": error[:300],
        }
        if payload is not None:
            values["payload"] = payload
        await self._conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    async def drop_from_finished(
        self, kind: str, fields: tuple[str, ...], grant_ids: list[str]
    ) -> int:
        """Remove ``fields`` from the payloads of the finished (done or given up) jobs of
        ``kind`` about these grants; return how many rows changed. Jobs still to run keep
        what they need. Used by erasure for rows finished before payloads were shed."""
        if not grant_ids or not fields:
            return 0
        rows = await self._conn.execute(
            select(jobs.c.id, jobs.c.payload).where(
                jobs.c.kind == kind,
                or_(jobs.c.done_at.is_not(None), jobs.c.failed_at.is_not(None)),
                jobs.c.payload["grant_id"].as_string().in_(grant_ids),
            )
        )
        changed = 0
        for row in rows.all():
            if any(name in row.payload for name in fields):
                kept = {k: v for k, v in row.payload.items() if k not in fields}
                await self._conn.execute(
                    update(jobs).where(jobs.c.id == row.id).values(payload=kept)
                )
                changed += 1
        return changed

    async def get(self, job_id: str) -> JobState | None:
        row = (await self._conn.execute(select(jobs).where(jobs.c.id == job_id))).first()
        return None if row is None else JobState(**row._asdict())

    async def pending(self, kind: str | None = None) -> list[Job]:
        query = select(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.attempts).where(
            and_(jobs.c.done_at.is_(None), jobs.c.failed_at.is_(None))
        )
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        rows = (await self._conn.execute(query)).all()
        return [
            Job(id=r.id, kind=r.kind, payload=dict(r.payload), attempts=r.attempts) for r in rows
        ]
