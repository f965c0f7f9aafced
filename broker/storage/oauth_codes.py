"""Authorization codes (RFC 6749 §4.1.2) and used client-assertion ids (RFC 7523 §3).

Codes are stored as SHA-256 hashes, used once; a ``jti`` is remembered until its
assertion expires, so that a replayed assertion is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.storage.engine import SharedReaders
from broker.storage.oauth_par import aware
from broker.storage.tables import auth_codes, client_assertions, consents
from broker.storage.tokens import SqliteStatement, checked_write, sqlite_driver
from consent.model import Consent


@dataclass(frozen=True)
class CodeRecord:
    code_hash: str
    client_id: str
    consent_id: str
    redirect_uri: str
    code_challenge: str
    expires_at: datetime
    used_at: datetime | None

    def expired(self, now: datetime) -> bool:
        return now >= aware(self.expires_at)


_UNUSED_OF_CLIENT = (
    auth_codes.c.code_hash == bindparam("h"),
    auth_codes.c.client_id == bindparam("client"),
    auth_codes.c.used_at.is_(None),
)
# What a burn returns of the code, and its grant's stored JSON (None if the grant is gone).
_BURNT = (
    auth_codes.c.consent_id,
    auth_codes.c.redirect_uri,
    auth_codes.c.code_challenge,
    auth_codes.c.expires_at,
    select(consents.c.data)
    .where(consents.c.id == auth_codes.c.consent_id)
    .scalar_subquery()
    .label("grant_data"),
)
_BURN = (
    update(auth_codes).where(*_UNUSED_OF_CLIENT).values(used_at=bindparam("now")).returning(*_BURNT)
)
_SQLITE_BURN = SqliteStatement(_BURN)
# The same columns of the same code, read without burning it.
_SQLITE_PEEK = SqliteStatement(select(*_BURNT).where(*_UNUSED_OF_CLIENT))


def _record(code_hash: str, client_id: str, row: Mapping[str, Any]) -> CodeRecord:
    return CodeRecord(
        code_hash=code_hash,
        client_id=client_id,
        consent_id=row["consent_id"],
        redirect_uri=row["redirect_uri"],
        code_challenge=row["code_challenge"],
        expires_at=row["expires_at"],
        used_at=None,
    )


def _grant(row: Mapping[str, Any]) -> Consent | None:
    data = row["grant_data"]
    return None if data is None else Consent.model_validate(data)


@dataclass(frozen=True)
class PeekedCode:
    """An unused code of a client and its grant, read on SQLite's shared readers, with
    the row as stored (what ``burn_and_add_tokens`` compares the burn's row with)."""

    record: CodeRecord
    grant: Consent | None
    stored: tuple[Any, ...]


async def peek_unused(reads: SharedReaders, code_hash: str, client_id: str) -> PeekedCode | None:
    """The unused code ``code_hash`` of ``client_id`` with its grant, read without
    writing (a point lookup: ``SharedReaders.fetch_point``); None if there is none."""
    values = {"h": code_hash, "client": client_id}
    fetched = await reads.fetch_point(_SQLITE_PEEK.sql, _SQLITE_PEEK.params(values))
    if len(fetched) != 1:
        return None
    row = _SQLITE_PEEK.convert(fetched)[0]
    return PeekedCode(_record(code_hash, client_id, row), _grant(row), tuple(fetched[0]))


async def burn_and_add_tokens(
    engine: AsyncEngine,
    peeked: PeekedCode,
    now: datetime,
    token_rows: Sequence[Mapping[str, Any]],
) -> bool:
    """Burn the peeked code and add ``token_rows`` in one transaction, in one trip to the
    driver's thread on the writer connection (SQLite). True if done; False, with nothing
    written, if the code is no longer what was peeked (burnt meanwhile, or it or its grant
    changed): the caller then goes the long way, which burns it and decides anew."""
    values = {"h": peeked.record.code_hash, "client": peeked.record.client_id, "now": now}
    burn = (_SQLITE_BURN.sql, _SQLITE_BURN.params(values), [peeked.stored])
    return await checked_write(engine, [burn], token_rows)


class SqlAuthCodes:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, record: CodeRecord) -> None:
        await self._conn.execute(insert(auth_codes).values(**record.__dict__))

    async def get(self, code_hash: str) -> CodeRecord | None:
        query = select(auth_codes).where(auth_codes.c.code_hash == code_hash)
        row = (await self._conn.execute(query)).first()
        return None if row is None else CodeRecord(**row._asdict())

    async def burn(
        self, code_hash: str, client_id: str, now: datetime
    ) -> tuple[CodeRecord, Consent | None] | None:
        """Burn an unused code of this client; return it (as it was) and its grant (None if
        the grant is gone), in one statement. None if there is no such unused code: unknown,
        another client's (left unburnt), or already used (a replay or a lost race)."""
        values = {"h": code_hash, "client": client_id, "now": now}
        driver = await sqlite_driver(self._conn)
        if driver is not None:
            rows = await _SQLITE_BURN.rows(driver, **values)
            row: Mapping[Any, Any] | None = rows[0] if rows else None
        else:
            row = (await self._conn.execute(_BURN, values)).mappings().first()
        if row is None:
            return None
        return _record(code_hash, client_id, row), _grant(row)

    async def mark_used(self, code_hash: str, now: datetime) -> bool:
        """Burn the code; False if it was already used (a replay or a lost race)."""
        result = await self._conn.execute(
            update(auth_codes)
            .where(auth_codes.c.code_hash == code_hash, auth_codes.c.used_at.is_(None))
            .values(used_at=now)
        )
        return result.rowcount == 1


class SqlClientAssertions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def remember(self, client_id: str, jti: str, expires_at: datetime, now: datetime) -> bool:
        """Record a ``jti``; False if this client already used it (a replay)."""
        await self._conn.execute(
            delete(client_assertions).where(
                client_assertions.c.client_id == client_id, client_assertions.c.expires_at < now
            )
        )
        seen = await self._conn.scalar(
            select(client_assertions.c.jti).where(
                client_assertions.c.client_id == client_id, client_assertions.c.jti == jti
            )
        )
        if seen is not None:
            return False
        try:
            row = {"client_id": client_id, "jti": jti, "expires_at": expires_at}
            await self._conn.execute(insert(client_assertions).values(**row))
        except IntegrityError:
            # A concurrent request stored it first; the caller refuses and rolls back.
            return False
        return True
