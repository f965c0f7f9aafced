"""The job queue: each due job is claimed by one worker; a dead worker's job comes back
when its lease runs out; failures are retried later; a job that carried a secret (the
holder revocation's sealed credential) keeps it only while it may still run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.jobs import HANDLERS, MAX_ATTEMPTS, POLL_INTERVAL, _loop, register, run_due_jobs
from broker.keys import CLOCK, ENGINE, SETTINGS
from broker.notices.outbox import CREDENTIAL, REVOKE_AT_HOLDER
from broker.ops.metrics import METRICS, Metrics
from broker.settings import Settings
from broker.storage.engine import make_engine
from broker.storage.tables import jobs
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


SECRET = "v1.sealed-credential-stand-in"


async def _holder_revoke(engine: AsyncEngine, grant_id: str, attempts: int = 0) -> str:
    async with uow(engine) as u:
        job_id = await u.jobs.enqueue(
            REVOKE_AT_HOLDER, {"grant_id": grant_id, "holder": "enedis", CREDENTIAL: SECRET}, NOW
        )
        await u.conn.execute(update(jobs).where(jobs.c.id == job_id).values(attempts=attempts))
        await u.commit()
    return job_id


async def _payload(engine: AsyncEngine, job_id: str) -> dict[str, object]:
    async with uow(engine) as u:
        state = await u.jobs.get(job_id)
    assert state is not None
    return state.payload


def _runner(database_url: str, engine: AsyncEngine) -> web.Application:
    """Just what ``broker.jobs.run_due_jobs`` needs, with a stand-in holder revocation that
    succeeds for ``grant-ok`` and fails for every other grant."""
    app = web.Application()
    app[SETTINGS] = Settings(database_url=database_url)
    app[ENGINE] = engine
    app[CLOCK] = lambda: NOW
    app[HANDLERS] = {}
    app[METRICS] = Metrics.create()

    async def revoke_at_holder(app: web.Application, payload: dict[str, Any]) -> None:
        assert payload[CREDENTIAL] == SECRET  # the handler still gets the credential
        if payload["grant_id"] != "grant-ok":
            raise RuntimeError("holder down")

    register(app, REVOKE_AT_HOLDER, revoke_at_holder, secret_fields=(CREDENTIAL,))
    return app


async def test_a_holder_revocation_sheds_its_credential_once_done_or_given_up(
    database_url: str, engine: AsyncEngine
) -> None:
    done = await _holder_revoke(engine, "grant-ok")
    retried = await _holder_revoke(engine, "grant-down")
    given_up = await _holder_revoke(engine, "grant-gone", attempts=MAX_ATTEMPTS - 1)
    assert await run_due_jobs(_runner(database_url, engine)) == 3
    assert await _payload(engine, done) == {"grant_id": "grant-ok", "holder": "enedis"}
    assert await _payload(engine, given_up) == {"grant_id": "grant-gone", "holder": "enedis"}
    assert (await _payload(engine, retried))[CREDENTIAL] == SECRET  # needed for the retry
    async with uow(engine) as u:
        states = [await u.jobs.get(i) for i in (done, retried, given_up)]
    assert [(s.done_at is not None, s.failed_at is not None) for s in states if s] == [
        (True, False),
        (False, False),
        (False, True),
    ]


async def test_erasure_drops_credentials_left_in_finished_jobs_and_keeps_pending_ones(
    engine: AsyncEngine,
) -> None:
    # Rows finished before payloads were shed still hold the credential.
    old_done, pending, other = (
        await _holder_revoke(engine, "grant-1"),
        await _holder_revoke(engine, "grant-1"),
        await _holder_revoke(engine, "grant-2"),
    )
    async with uow(engine) as u:
        await u.conn.execute(
            update(jobs).where(jobs.c.id.in_([old_done, other])).values(done_at=NOW)
        )
        assert await u.jobs.drop_from_finished(REVOKE_AT_HOLDER, (CREDENTIAL,), ["grant-1"]) == 1
        await u.commit()
    assert await _payload(engine, old_done) == {"grant_id": "grant-1", "holder": "enedis"}
    assert (await _payload(engine, pending))[CREDENTIAL] == SECRET  # the holder is still owed
    assert (await _payload(engine, other))[CREDENTIAL] == SECRET  # someone else's grant


async def test_a_stop_that_a_handler_turns_into_an_error_still_stops_the_runner(
    database_url: str, engine: AsyncEngine
) -> None:
    # Drivers sometimes surface a cancellation as an ordinary exception; the runner must
    # still stop (it once slept for ever, hanging the instance's shutdown), and the job is
    # left to its lease rather than counted as a failed attempt.
    app = _runner(database_url, engine)
    app[POLL_INTERVAL] = 0.05
    started = asyncio.Event()

    async def slow(app: web.Application, payload: dict[str, Any]) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise RuntimeError("connection closed by the driver") from None

    register(app, "test.slow", slow)
    async with uow(engine) as u:
        job_id = await u.jobs.enqueue("test.slow", {}, NOW)
        await u.commit()
    task = asyncio.create_task(_loop(app))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    assert task in done and task.cancelled()
    async with uow(engine) as u:
        state = await u.jobs.get(job_id)
    assert state is not None and state.attempts == 1 and state.last_error is None
    assert state.done_at is None and state.failed_at is None
