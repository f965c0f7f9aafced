"""A job claimed by an instance that dies mid-job is finished by another instance once the
lease has run out, and runs to completion once.

Instance ``a`` claims the housekeeping purge and is held inside it by a lock this test
takes on the first table the purge deletes from (a slow disk or a long vacuum would do
the same); it is then killed with SIGKILL. Instance ``b`` started afterwards takes the job
when ``a``'s two-second lease is over and finishes it.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.ops.housekeeping import PURGE
from broker.storage.tables import jobs
from tests.support.housekeeping import KEPT, remaining, write_rows
from tests.support.processes import running_cluster

WAIT = 60.0  # generous: only a broken broker takes this long
# One purge period for the whole test (no second round can be offered halfway through).
ONE_PERIOD = 10**9


async def _until(engine: AsyncEngine, query: str, what: str) -> None:
    """Poll ``query`` until it returns a row (an event, not a duration, ends the wait)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            if (await conn.execute(text(query))).first() is not None:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"still waiting for {what} after {WAIT:.0f} s")


async def test_a_job_claimed_by_an_instance_that_dies_is_finished_by_another(
    tmp_path: Path,
) -> None:
    async with running_cluster(
        tmp_path, start=False, job_lease=2, job_poll_interval=0.2, purge_interval=ONE_PERIOD
    ) as cluster:
        engine = cluster.engine
        await write_rows(engine, datetime.now(UTC))
        async with engine.connect() as blocker:
            await blocker.execute(text("LOCK TABLE authorizations IN ACCESS EXCLUSIVE MODE"))
            a = await cluster.start("a")
            await _until(
                engine,
                "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'DELETE FROM authorizations%'",
                "instance a to be inside the purge",
            )
            assert a.stop(signal.SIGKILL) == -signal.SIGKILL
            b = await cluster.start("b")
            await blocker.rollback()  # the slow moment is over

        await _until(engine, "SELECT 1 FROM jobs WHERE done_at IS NOT NULL", "the job to be done")
        async with engine.connect() as conn:
            (job,) = (await conn.execute(select(jobs).where(jobs.c.kind == PURGE))).all()
        assert job.attempts == 2  # a's claim, then b's
        assert job.failed_at is None
        assert await remaining(engine) == KEPT
        assert any(
            e.get("kind") == "housekeeping.purge" and e.get("ok") is True for e in b.log_events()
        )
        assert "housekeeping.purged" not in a.log_text()
