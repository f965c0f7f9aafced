"""The job queue: each due job is claimed by one worker; a dead worker's job comes back
when its lease runs out; failures are retried later."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.engine import make_engine
from broker.storage.uow import SqlUnitOfWork

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


def uow(engine: AsyncEngine, now: datetime = NOW) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine, lambda: now)


async def _enqueue(engine: AsyncEngine, n: int) -> None:
    async with uow(engine) as u:
        for i in range(n):
            await u.jobs.enqueue("notice", {"i": i}, NOW)
        await u.commit()


async def _claim(engine: AsyncEngine, now: datetime = NOW) -> list[str]:
    async with uow(engine, now) as u:
        claimed = await u.jobs.claim(now, LEASE, limit=10)
        await u.commit()
    return [job.id for job in claimed]


async def test_concurrent_workers_never_claim_the_same_job(
    database_url: str, engine: AsyncEngine
) -> None:
    await _enqueue(engine, 30)
    others = [make_engine(database_url) for _ in range(2)]
    try:
        batches = await asyncio.gather(*(_claim(e) for e in [engine, *others]))
    finally:
        for other in others:
            await other.dispose()
    claimed = [job for batch in batches for job in batch]
    assert len(claimed) == len(set(claimed)) == 30


async def test_a_job_whose_worker_died_is_claimed_again_after_its_lease(
    engine: AsyncEngine,
) -> None:
    await _enqueue(engine, 1)
    (first,) = await _claim(engine)
    assert await _claim(engine, NOW + timedelta(seconds=30)) == []  # still leased
    assert await _claim(engine, NOW + LEASE + timedelta(seconds=1)) == [first]


async def test_a_failed_job_is_retried_after_its_delay_and_a_finished_one_never(
    engine: AsyncEngine,
) -> None:
    await _enqueue(engine, 2)
    failing, done = await _claim(engine)
    async with uow(engine) as u:
        await u.jobs.retry(failing, NOW, timedelta(seconds=10), "holder down")
        await u.jobs.finish(done, NOW)
        await u.commit()
    assert await _claim(engine, NOW + timedelta(seconds=5)) == []
    assert await _claim(engine, NOW + timedelta(seconds=11)) == [failing]
