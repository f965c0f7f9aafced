"""Holder staff accounts (the holder console's users) and their sessions: Argon2id
passwords, session ids stored hashed, kept apart from residents so that neither kind of
session ever opens the other's pages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.crypto import hash_token
from broker.storage.attempt_keys import attempt_key
from broker.storage.passwords import hash_password
from broker.storage.tables import holder_staff, holder_staff_sessions, login_attempts

# Failed console logins share the residents' throttle table, under their own prefix.
THROTTLE_PREFIX = "console:"


@dataclass(frozen=True)
class Staff:
    id: str
    holder: str
    login: str


class SqlHolderStaff:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, *, holder: str, login: str, password: str, now: datetime) -> Staff:
        staff = Staff(id=f"stf_{secrets.token_hex(8)}", holder=holder, login=login)
        await self._conn.execute(
            insert(holder_staff).values(
                id=staff.id,
                holder=holder,
                login=login,
                password_hash=await hash_password(password),
                created_at=now,
            )
        )
        return staff

    async def account(self, login: str) -> tuple[Staff, str] | None:
        """The staff account with this login and its password's stored hash (checked by
        ``broker.storage.passwords.verified``, outside any unit of work)."""
        row = (
            await self._conn.execute(select(holder_staff).where(holder_staff.c.login == login))
        ).first()
        return None if row is None else (Staff(row.id, row.holder, row.login), row.password_hash)

    async def recent_failures(self, login: str, since: datetime) -> int:
        count = await self._conn.scalar(
            select(func.count())
            .select_from(login_attempts)
            .where(
                login_attempts.c.login == attempt_key(THROTTLE_PREFIX, login),
                login_attempts.c.at >= since,
            )
        )
        return int(count or 0)

    async def record_failure(self, login: str, now: datetime) -> None:
        await self._conn.execute(
            insert(login_attempts).values(login=attempt_key(THROTTLE_PREFIX, login), at=now)
        )

    async def clear_failures(self, login: str) -> None:
        """Forget this name's failed logins (after a successful one), as a resident's are;
        the address's count stays (``broker/web/throttle.py``)."""
        await self._conn.execute(
            delete(login_attempts).where(
                login_attempts.c.login == attempt_key(THROTTLE_PREFIX, login)
            )
        )

    async def open_session(self, staff_id: str, now: datetime, ttl: int) -> str:
        session_id = secrets.token_urlsafe(32)
        await self._conn.execute(
            insert(holder_staff_sessions).values(
                id_hash=hash_token(session_id),
                staff_id=staff_id,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        )
        return session_id

    async def session_staff(self, session_id: str, now: datetime) -> Staff | None:
        row = (
            await self._conn.execute(
                select(holder_staff)
                .join(holder_staff_sessions, holder_staff_sessions.c.staff_id == holder_staff.c.id)
                .where(
                    holder_staff_sessions.c.id_hash == hash_token(session_id),
                    holder_staff_sessions.c.expires_at > now,
                )
            )
        ).first()
        return None if row is None else Staff(row.id, row.holder, row.login)

    async def close_session(self, session_id: str) -> None:
        await self._conn.execute(
            delete(holder_staff_sessions).where(
                holder_staff_sessions.c.id_hash == hash_token(session_id)
            )
        )
