"""Background work of a broker instance, started and stopped with the app.

Expiry: consents end at ``expires_at`` with no request needed, paused ones included; the
service's notice and the holder revocation are queued in the same transaction. On
PostgreSQL each due consent is claimed with ``FOR UPDATE SKIP LOCKED`` (see
``list_due_to_expire``), so several instances can run this loop side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from broker.aio import cancelling
from broker.keys import SETTINGS
from broker.unit import unit_of_work
from consent.usecases import expire_due

log = structlog.get_logger(__name__)


async def expire_once(app: web.Application) -> int:
    async with unit_of_work(app) as uow:
        expired = await expire_due(uow, now=uow.now)
    for consent in expired:
        # Its notice to the service and the holder revocation were queued in the same
        # transaction (``consent.usecases.expire_due``); the job runner delivers them.
        log.info("consent.expired", consent_id=consent.id)
    return len(expired)


async def _expiry_loop(app: web.Application) -> None:
    interval = app[SETTINGS].expiry_interval
    while True:
        try:
            await expire_once(app)
        except Exception as exc:  # a bad round must not stop the loop; the next one retries
            if cancelling():  # see broker.aio: never swallow a stop request
                raise asyncio.CancelledError from exc
            log.exception("expiry.failed")
        await asyncio.sleep(interval)


async def background_tasks(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_expiry_loop(app), name="aiguillage-expiry")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
