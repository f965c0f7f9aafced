"""Pushed authorization requests (RFC 9126) and the resident's walk through them.

A ``par_requests`` row is what the service pushed; it is used once. An ``authorizations``
row follows one resident from the consent screen to the holder's callback; its status
moves forward only, each move guarded by the status it leaves (no double decisions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import authorizations, par_requests


def aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back naive; everything the broker writes is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ParRecord:
    id: str
    client_id: str
    redirect_uri: str
    state: str | None
    code_challenge: str
    authorization_details: list[dict[str, Any]]
    expires_at: datetime
    used_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < aware(self.expires_at)


@dataclass(frozen=True)
class AuthorizationRecord:
    id: str
    par_id: str
    client_id: str
    subject: str | None
    consent_id: str | None
    holder_state_hash: str | None
    status: str
    expires_at: datetime

    def open(self, now: datetime) -> bool:
        return now < aware(self.expires_at)


class SqlParRequests:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: ParRecord) -> None:
        await self._conn.execute(insert(par_requests).values(**record.__dict__))

    async def get(self, par_id: str) -> ParRecord | None:
        query = select(par_requests).where(par_requests.c.id == par_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else ParRecord(**row._asdict())

    async def mark_used(self, par_id: str, now: datetime) -> bool:
        """Single use: False if another request used it first."""
        result = await self._conn.execute(
            update(par_requests)
            .where(par_requests.c.id == par_id, par_requests.c.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1


class SqlAuthorizations:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: AuthorizationRecord) -> None:
        await self._conn.execute(insert(authorizations).values(**record.__dict__))

    async def get(self, authorization_id: str) -> AuthorizationRecord | None:
        query = select(authorizations).where(authorizations.c.id == authorization_id)
        row = (await self._conn.execute(query)).first()
        return None if row is None else AuthorizationRecord(**row._asdict())

    async def by_holder_state(self, state_hash: str) -> AuthorizationRecord | None:
        query = select(authorizations).where(authorizations.c.holder_state_hash == state_hash)
        row = (await self._conn.execute(query)).first()
        return None if row is None else AuthorizationRecord(**row._asdict())

    async def move(self, authorization_id: str, *, source: str, target: str, **values: Any) -> bool:
        """Change the status if it is still ``source``; False if someone moved it first."""
        result = await self._conn.execute(
            update(authorizations)
            .where(authorizations.c.id == authorization_id, authorizations.c.status == source)
            .values(status=target, **values)
        )
        return result.rowcount == 1
