"""The domain's ``Outbox`` port on the database job queue: a notice or a holder revocation
becomes a job row written in the use case's own transaction, so it exists exactly when
the change it reports was committed (the transactional outbox). ``broker/jobs.py`` runs
them afterwards, at least once, with backoff.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.jobs import SqlJobs
from broker.storage.tables import consents
from consent.model import Consent
from consent.notices import ServiceNotice

NOTIFY_SERVICE = "service.notify"
REVOKE_AT_HOLDER = "holder.revoke"
# The payload field of a ``holder.revoke`` job that holds the sealed credential; the job
# runner drops it when the job is over (``broker/jobs.py``, ``secret_fields``).
CREDENTIAL = "credential"


class SqlOutbox:
    def __init__(self, conn: AsyncConnection, jobs: SqlJobs) -> None:
        self._conn = conn
        self._jobs = jobs

    async def notify_service(self, notice: ServiceNotice) -> None:
        await self._jobs.enqueue(NOTIFY_SERVICE, notice.model_dump(mode="json"), notice.occurred_at)

    async def revoke_at_holder(self, consent: Consent, now: datetime) -> None:
        # The sealed credential moves from the consent row to the job (still sealed, bound
        # to the consent id): an ended consent needs it for nothing else, and an erased
        # account's consent row is gone by the time the job runs. The job is then its only
        # copy, and drops it once it has run (done or given up).
        sealed = (
            await self._conn.execute(
                select(consents.c.holder_credential_enc).where(consents.c.id == consent.id)
            )
        ).scalar_one_or_none()
        if sealed is None:
            return
        payload = {"grant_id": consent.id, "holder": consent.holder, CREDENTIAL: sealed}
        await self._jobs.enqueue(REVOKE_AT_HOLDER, payload, now)
        await self._conn.execute(
            update(consents).where(consents.c.id == consent.id).values(holder_credential_enc=None)
        )
