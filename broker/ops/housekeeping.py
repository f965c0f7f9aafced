"""Housekeeping as a job of the database queue: one purge per ``purge_interval``, run once
whichever instance claims it.

Every instance offers the round of the current period under the id ``purge:<period>``;
the primary key admits the first offer and drops the others, so there is no leader to
elect and an instance that dies mid-purge leaves the job to another after its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import structlog
from aiohttp import web

from broker.aio import cancelling
from broker.jobs import register
from broker.keys import SETTINGS
from broker.storage.purge import purge_expired
from broker.unit import unit_of_work

log = structlog.get_logger(__name__)

PURGE = "housekeeping.purge"


def purge_job_id(now: datetime, interval: float) -> str:
    return f"purge:{int(now.timestamp() // interval)}"


async def purge(app: web.Application, payload: dict[str, Any]) -> None:
    """The job: delete expired short-lived rows (``broker.storage.purge``)."""
    grace = timedelta(seconds=app[SETTINGS].purge_grace)
    async with unit_of_work(app) as uow:
        removed = await purge_expired(uow.conn, uow.now, grace)
        await uow.commit()
    log.info("housekeeping.purged", **removed)


async def offer_purge(app: web.Application) -> bool:
    """Enqueue this period's purge unless an instance already did; say if this one did."""
    async with unit_of_work(app) as uow:
        job_id = purge_job_id(uow.now, app[SETTINGS].purge_interval)
        added = await uow.jobs.enqueue_once(job_id, PURGE, {}, uow.now)
        await uow.commit()
    return added


async def _schedule(app: web.Application) -> None:
    while True:
        try:
            await offer_purge(app)
        except Exception as exc:  # the database may be away for a while; the next round retries
            if cancelling():
                raise asyncio.CancelledError from exc
            log.exception("housekeeping.offer_failed")
        await asyncio.sleep(app[SETTINGS].purge_interval)


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_schedule(app), name="aiguillage-housekeeping")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    register(app, PURGE, purge)
    app.cleanup_ctx.append(_scheduler)
