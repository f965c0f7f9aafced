"""Issued tokens (implements ``consent.ports.GrantTokens``), stored only as hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import consents, tokens


@dataclass(frozen=True)
class TokenRecord:
    token_hash: str
    kind: str
    client_id: str
    grant_id: str
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None or self.rotated_at is not None:
            return False
        return self.expires_at is None or now < self.expires_at


class SqlTokens:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(
        self,
        *,
        token_hash: str,
        kind: str,
        client_id: str,
        grant_id: str,
        issued_at: datetime,
        expires_at: datetime | None,
    ) -> None:
        await self._conn.execute(
            insert(tokens).values(
                token_hash=token_hash,
                kind=kind,
                client_id=client_id,
                grant_id=grant_id,
                issued_at=issued_at,
                expires_at=expires_at,
            )
        )

    async def find(self, token_hash: str) -> TokenRecord | None:
        row = (
            await self._conn.execute(select(tokens).where(tokens.c.token_hash == token_hash))
        ).first()
        return None if row is None else TokenRecord(**row._asdict())

    async def lock_grant(self, grant_id: str) -> None:
        """Take the grant's consent row lock (PostgreSQL; SQLite has one writer anyway).

        Whatever changes a grant's tokens takes this lock first: a revocation does, by
        updating the consent before its tokens. A refresh that touched its token first and
        then, finding it reused, revoked the grant would lock in the other order and
        deadlock with a concurrent refresh doing just that (seen with two instances).
        """
        await self._conn.execute(
            select(consents.c.id).where(consents.c.id == grant_id).with_for_update()
        )

    async def mark_rotated(self, token_hash: str, now: datetime) -> bool:
        """Retire a refresh token; False if another request retired it first (a race)."""
        result = await self._conn.execute(
            update(tokens)
            .where(
                tokens.c.token_hash == token_hash,
                tokens.c.rotated_at.is_(None),
                tokens.c.revoked_at.is_(None),
            )
            .values(rotated_at=now)
        )
        return result.rowcount == 1

    async def revoke(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(tokens)
            .where(tokens.c.token_hash == token_hash, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_for_grant(self, grant_id: str, now: datetime) -> int:
        """Revoke every token of the grant, rotated ones included; return how many were
        still usable (rotated refresh tokens were not)."""
        live = await self._conn.scalar(
            select(func.count())
            .select_from(tokens)
            .where(
                tokens.c.grant_id == grant_id,
                tokens.c.revoked_at.is_(None),
                tokens.c.rotated_at.is_(None),
            )
        )
        await self._conn.execute(
            update(tokens)
            .where(tokens.c.grant_id == grant_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return int(live or 0)
