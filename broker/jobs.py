"""Running background jobs: each broker instance polls for due jobs, runs them outside any
transaction, and records the outcome. Delivery is at least once: a handler must be
idempotent (notices carry an idempotency key, holder revocations are safe to repeat).

Handlers register by kind with ``register(app, kind, handler)``; a handler raises to ask
for a retry. The lease (``job_lease``) is how long a claimed job is left to its instance;
an instance that dies mid-job leaves it to whichever instance polls after the lease.
Backoff doubles from 5 s up to an hour; after ``MAX_ATTEMPTS`` the job is
marked failed and stays visible to the operator.

A job that carries a secret (``holder.revoke`` carries the sealed holder credential)
names it with ``secret_fields``: the moment the job is over, done or given up, those
fields leave its payload in the same update, so no finished job keeps a secret. Each secret
field is a value sealed with the app's ``SecretBox``; ``SEALED_FIELDS`` says what it is
bound to, so that ``aiguillage keys rotate`` re-seals the jobs still to run
(``broker/cli_keys.py``) and an old key can be retired while such jobs are queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web

from broker.aio import cancelling
from broker.keys import SETTINGS
from broker.notices.outbox import CREDENTIAL, REVOKE_AT_HOLDER
from broker.ops.metrics import METRICS
from broker.storage.jobs import Job
from broker.unit import unit_of_work

log = structlog.get_logger(__name__)

Handler = Callable[[web.Application, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class SealedField:
    """A payload field holding a ``SecretBox`` ciphertext bound to
    ``bound_prefix + payload[bound_by]``."""

    name: str
    bound_prefix: str
    bound_by: str

    def bound_to(self, payload: dict[str, Any]) -> str:
        return self.bound_prefix + str(payload[self.bound_by])


# Every job kind's sealed payload fields. A kind registering ``secret_fields`` must list
# them here (``register`` checks), or key rotation would leave them under a retired key.
SEALED_FIELDS: dict[str, tuple[SealedField, ...]] = {
    # The holder credential moved from the consent row (``broker/notices/outbox.py``).
    REVOKE_AT_HOLDER: (SealedField(CREDENTIAL, "consent:", "grant_id"),),
}


@dataclass(frozen=True)
class Registration:
    handler: Handler
    secret_fields: tuple[str, ...] = ()

    def shed(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """The payload without its secrets, or None when there is nothing to drop."""
        if not any(name in payload for name in self.secret_fields):
            return None
        return {k: v for k, v in payload.items() if k not in self.secret_fields}


HANDLERS: web.AppKey[dict[str, Registration]] = web.AppKey("job_handlers")
POLL_INTERVAL: web.AppKey[float] = web.AppKey("job_poll_interval")

MAX_ATTEMPTS = 20


def register(
    app: web.Application, kind: str, handler: Handler, *, secret_fields: tuple[str, ...] = ()
) -> None:
    sealed = {field.name for field in SEALED_FIELDS.get(kind, ())}
    if not set(secret_fields) <= sealed:
        raise ValueError(f"{kind}: declare how its secret fields are sealed (SEALED_FIELDS)")
    app[HANDLERS][kind] = Registration(handler, secret_fields)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 3600))


async def run_due_jobs(app: web.Application) -> int:
    """Claim and run what is due now; return how many ran (successfully or not)."""
    async with unit_of_work(app) as uow:
        lease = timedelta(seconds=app[SETTINGS].job_lease)
        claimed = await uow.jobs.claim(uow.now, lease)
        await uow.commit()
    for job in claimed:
        await _run(app, job)
    return len(claimed)


async def _run(app: web.Application, job: Job) -> None:
    registered = app[HANDLERS].get(job.kind)
    error: str | None = None
    if registered is None:
        error = f"no handler for {job.kind}"
    else:
        try:
            await registered.handler(app, job.payload)
        except Exception as exc:  # any failure means "try again later"
            if cancelling():
                # The instance is stopping and the driver surfaced that as an error: leave
                # the job to its lease (it runs again here or elsewhere), and stop.
                raise asyncio.CancelledError from exc
            error = f"{type(exc).__name__}: {exc}"[:300]
    shed = registered.shed(job.payload) if registered is not None else None
    async with unit_of_work(app) as uow:
        if error is None:
            await uow.jobs.finish(job.id, uow.now, payload=shed)
        elif job.attempts >= MAX_ATTEMPTS:
            await uow.jobs.give_up(job.id, uow.now, error, payload=shed)
        else:
            await uow.jobs.retry(job.id, uow.now, backoff(job.attempts), error)
        await uow.commit()
    outcome = "ok" if error is None else "failed" if job.attempts >= MAX_ATTEMPTS else "retry"
    app[METRICS].jobs.labels(job.kind, outcome).inc()
    log.info("job.ran", job_id=job.id, kind=job.kind, ok=error is None, attempts=job.attempts)


async def _loop(app: web.Application) -> None:
    while True:
        try:
            ran = await run_due_jobs(app)
        except Exception as exc:  # a failed round must not stop the loop
            if cancelling():  # see broker.aio: never swallow a stop request
                raise asyncio.CancelledError from exc
            log.exception("jobs.round_failed")
            ran = 0
        if not ran:
            await asyncio.sleep(app[POLL_INTERVAL])


async def job_runner(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(app), name="aiguillage-jobs")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
