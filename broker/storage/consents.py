"""The consent repository on SQLAlchemy (implements ``consent.ports.ConsentRepository``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import consent_revisions, consents
from consent.model import Consent, ConsentState


def _row_values(consent: Consent, now: datetime) -> dict[str, object]:
    return {
        "subject": consent.subject,
        "service": consent.service,
        "holder": consent.holder,
        "state": consent.state.value,
        "revision": consent.revision,
        "expires_at": consent.expires_at,
        "data": consent.model_dump(mode="json"),
        "updated_at": now,
    }


class SqlConsentRepository:
    def __init__(self, conn: AsyncConnection, now: datetime) -> None:
        self._conn = conn
        self._now = now

    async def get(self, consent_id: str) -> Consent | None:
        row = (
            await self._conn.execute(select(consents.c.data).where(consents.c.id == consent_id))
        ).first()
        return None if row is None else Consent.model_validate(row.data)

    async def add(self, consent: Consent) -> None:
        await self._conn.execute(
            insert(consents).values(id=consent.id, **_row_values(consent, self._now))
        )

    async def save(self, consent: Consent) -> None:
        previous = (
            await self._conn.execute(
                select(consents.c.revision, consents.c.data).where(consents.c.id == consent.id)
            )
        ).first()
        if previous is not None and previous.revision != consent.revision:
            # Narrowing: the superseded revision stays on record, as the ledger says.
            await self._conn.execute(
                insert(consent_revisions).values(
                    consent_id=consent.id,
                    revision=previous.revision,
                    data=previous.data,
                    recorded_at=self._now,
                )
            )
        await self._conn.execute(
            update(consents)
            .where(consents.c.id == consent.id)
            .values(**_row_values(consent, self._now))
        )

    async def list_for_subject(self, subject: str) -> list[Consent]:
        rows = await self._conn.execute(
            select(consents.c.data)
            .where(consents.c.subject == subject)
            .order_by(consents.c.updated_at.desc())
        )
        return [Consent.model_validate(r.data) for r in rows]

    async def list_due_to_expire(self, now: datetime, limit: int) -> list[Consent]:
        query = (
            select(consents.c.data)
            .where(
                consents.c.state.in_([ConsentState.ACTIVE.value, ConsentState.PAUSED.value]),
                consents.c.expires_at <= now,
            )
            .limit(limit)
        )
        if self._conn.dialect.name == "postgresql":
            # Several instances run the expiry task; each due consent is taken by one.
            query = query.with_for_update(skip_locked=True)
        return [Consent.model_validate(r.data) for r in await self._conn.execute(query)]

    async def set_holder_credential(self, consent_id: str, sealed: str) -> None:
        await self._conn.execute(
            update(consents).where(consents.c.id == consent_id).values(holder_credential_enc=sealed)
        )

    async def holder_credential(self, consent_id: str) -> str | None:
        row = (
            await self._conn.execute(
                select(consents.c.holder_credential_enc).where(consents.c.id == consent_id)
            )
        ).first()
        return None if row is None else row.holder_credential_enc

    async def revisions(self, consent_id: str) -> list[Consent]:
        rows = await self._conn.execute(
            select(consent_revisions.c.data)
            .where(consent_revisions.c.consent_id == consent_id)
            .order_by(consent_revisions.c.revision)
        )
        return [Consent.model_validate(r.data) for r in rows]
