"""Erasure (GDPR article 17), the broker's half: ``consent.control.erase_resident`` ends
every consent through the one revocation path, then calls ``forget`` here, in the same
transaction, to delete every row that names the resident.

What stays: the ledger entries (under a pseudonym whose key is deleted here, so they
still verify but point at nobody), the revoked tokens' hashes are deleted with their
grants, and the outbox jobs (a notice carries the grant id, never the resident's id).
A holder revocation still to run carries the credential, sealed, because the holder must
still be asked; the runner drops it the moment that job is done or given up
(``broker/jobs.py``). Finished holder revocations of this resident's grants that still
hold one (recorded before payloads were shed) lose it here.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from broker.notices.outbox import CREDENTIAL, REVOKE_AT_HOLDER
from broker.storage.tables import (
    auth_codes,
    authorizations,
    consent_revisions,
    consents,
    login_attempts,
    residents,
    tokens,
    web_sessions,
)
from broker.storage.uow import SqlUnitOfWork


class SqlSubjectEraser:
    """Implements ``consent.ports.SubjectEraser`` inside one ``SqlUnitOfWork``."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def forget(self, subject: str) -> None:
        conn = self._uow.conn
        grant_ids = select(consents.c.id).where(consents.c.subject == subject)
        ids = [str(i) for i in (await conn.execute(grant_ids)).scalars()]
        await self._uow.jobs.drop_from_finished(REVOKE_AT_HOLDER, (CREDENTIAL,), ids)
        login = (
            await conn.execute(select(residents.c.login).where(residents.c.id == subject))
        ).scalar_one_or_none()
        await conn.execute(delete(tokens).where(tokens.c.grant_id.in_(grant_ids)))
        await conn.execute(delete(auth_codes).where(auth_codes.c.consent_id.in_(grant_ids)))
        await conn.execute(
            delete(consent_revisions).where(consent_revisions.c.consent_id.in_(grant_ids))
        )
        await conn.execute(delete(authorizations).where(authorizations.c.subject == subject))
        await conn.execute(delete(consents).where(consents.c.subject == subject))
        await conn.execute(delete(web_sessions).where(web_sessions.c.resident_id == subject))
        if login is not None:
            await conn.execute(delete(login_attempts).where(login_attempts.c.login == login))
        await conn.execute(delete(residents).where(residents.c.id == subject))
        await self._uow.ledger.keys.destroy(subject)
