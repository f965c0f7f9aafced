"""Resident accounts and their web sessions. Passwords: Argon2id. Session ids: hashed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.crypto import hash_token
from broker.storage.passwords import hash_password
from broker.storage.tables import login_attempts, residents, web_sessions

RESIDENT_ID_PREFIX = "res_"  # reserved: no client_id may start with it


@dataclass(frozen=True)
class Resident:
    id: str
    login: str
    display_name: str
    locale: str


class SqlResidents:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self, *, login: str, password: str, display_name: str, now: datetime, locale: str = "fr"
    ) -> Resident:
        resident = Resident(
            id=f"{RESIDENT_ID_PREFIX}{secrets.token_hex(8)}",
            login=login,
            display_name=display_name,
            locale=locale,
        )
        await self._conn.execute(
            insert(residents).values(
                id=resident.id,
                login=login,
                password_hash=await hash_password(password),
                display_name=display_name,
                locale=locale,
                created_at=now,
            )
        )
        return resident

    async def get(self, resident_id: str) -> Resident | None:
        row = (
            await self._conn.execute(select(residents).where(residents.c.id == resident_id))
        ).first()
        return None if row is None else _resident(row)

    async def by_login(self, login: str) -> Resident | None:
        row = (
            await self._conn.execute(select(residents).where(residents.c.login == login))
        ).first()
        return None if row is None else _resident(row)

    async def account(self, login: str) -> tuple[Resident, str] | None:
        """The resident with this login and their password's stored hash (checked by
        ``broker.storage.passwords.verified``, outside any unit of work)."""
        row = (
            await self._conn.execute(select(residents).where(residents.c.login == login))
        ).first()
        return None if row is None else (_resident(row), row.password_hash)

    async def recent_failures(self, login: str, since: datetime) -> int:
        count = await self._conn.scalar(
            select(func.count())
            .select_from(login_attempts)
            .where(login_attempts.c.login == login, login_attempts.c.at >= since)
        )
        return int(count or 0)

    async def record_failure(self, login: str, now: datetime) -> None:
        await self._conn.execute(insert(login_attempts).values(login=login, at=now))

    async def clear_failures(self, login: str) -> None:
        await self._conn.execute(delete(login_attempts).where(login_attempts.c.login == login))

    # -- sessions --------------------------------------------------------------------------

    async def open_session(self, resident_id: str, now: datetime, ttl: int) -> str:
        session_id = secrets.token_urlsafe(32)
        await self._conn.execute(
            insert(web_sessions).values(
                id_hash=hash_token(session_id),
                resident_id=resident_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        )
        return session_id

    async def session_resident(self, session_id: str, now: datetime) -> Resident | None:
        row = (
            await self._conn.execute(
                select(residents)
                .join(web_sessions, web_sessions.c.resident_id == residents.c.id)
                .where(
                    web_sessions.c.id_hash == hash_token(session_id),
                    web_sessions.c.expires_at > now,
                )
            )
        ).first()
        return None if row is None else _resident(row)

    async def close_session(self, session_id: str) -> None:
        await self._conn.execute(
            delete(web_sessions).where(web_sessions.c.id_hash == hash_token(session_id))
        )


def _resident(row: Row[Any]) -> Resident:
    return Resident(id=row.id, login=row.login, display_name=row.display_name, locale=row.locale)
