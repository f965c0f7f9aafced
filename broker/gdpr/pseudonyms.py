"""The ledger names residents by keyed pseudonyms, so that erasing a person is possible in
an append-only hash chain.

Choice: this lives in the broker's ``LedgerWriter`` (a subclass of ``SqlLedger`` that every
unit of work uses), not in the use cases. Every writer of the ledger (consent use cases,
the data plane, anything added later) goes through ``append``, so none can forget to
pseudonymise; the domain keeps speaking of residents by id.

A resident's pseudonym is ``HMAC-SHA256(key, id)`` with a random key of their own, kept in
``resident_keys``. The ledger's hash covers the pseudonym, so deleting the key later
changes nothing in the chain (``aiguillage ledger verify`` still passes) while nobody,
the operator included, can tell any more whose entries they are.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.ledger import SqlLedger
from broker.storage.tables import ledger, resident_keys
from consent.ledger import LedgerEntry, LedgerEvent

RESIDENT_PREFIX = "resident:"


def pseudonym(key: bytes, resident_id: str) -> str:
    digest = hmac.new(key, b"aiguillage-subject:" + resident_id.encode(), hashlib.sha256)
    return "psn_" + digest.hexdigest()[:40]


def residents_named(event: LedgerEvent) -> list[str]:
    """The residents ``event`` names (its subject, a resident actor): those whose key its
    ledger entry needs."""
    named = [] if event.subject is None else [event.subject]
    if event.actor.startswith(RESIDENT_PREFIX):
        named.append(event.actor.removeprefix(RESIDENT_PREFIX))
    return named


def with_pseudonyms(event: LedgerEvent, keys: Mapping[str, bytes]) -> LedgerEvent:
    """``event`` with every resident it names replaced by their pseudonym (``keys`` holds
    the key of each of ``residents_named(event)``)."""
    changes: dict[str, str] = {}
    if event.subject is not None:
        changes["subject"] = pseudonym(keys[event.subject], event.subject)
    if event.actor.startswith(RESIDENT_PREFIX):
        resident_id = event.actor.removeprefix(RESIDENT_PREFIX)
        changes["actor"] = RESIDENT_PREFIX + pseudonym(keys[resident_id], resident_id)
    return event.model_copy(update=changes) if changes else event


class ResidentKeys:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._cache: dict[str, bytes] = {}

    async def get(self, resident_id: str) -> bytes | None:
        if resident_id in self._cache:
            return self._cache[resident_id]
        row = (
            await self._conn.execute(
                select(resident_keys.c.key).where(resident_keys.c.resident_id == resident_id)
            )
        ).first()
        if row is None:
            return None
        self._cache[resident_id] = bytes.fromhex(row.key)
        return self._cache[resident_id]

    async def get_or_create(self, resident_id: str, now: datetime) -> bytes:
        """Callers hold the ledger head lock, so two appenders never create two keys."""
        key = await self.get(resident_id)
        if key is None:
            key = secrets.token_bytes(32)
            await self._conn.execute(
                insert(resident_keys).values(resident_id=resident_id, key=key.hex(), created_at=now)
            )
            self._cache[resident_id] = key
        return key

    async def destroy(self, resident_id: str) -> None:
        await self._conn.execute(
            delete(resident_keys).where(resident_keys.c.resident_id == resident_id)
        )
        self._cache.pop(resident_id, None)


class PseudonymousLedger(SqlLedger):
    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn)
        self._conn = conn
        self.keys = ResidentKeys(conn)

    async def append(self, event: LedgerEvent, at: datetime) -> LedgerEntry:
        named = residents_named(event)
        if not named:
            return await super().append(event, at)
        await self._lock_head()  # taken again by ``append``; serialises key creation too
        keys = {resident: await self.keys.get_or_create(resident, at) for resident in named}
        return await super().append(with_pseudonyms(event, keys), at)

    async def subject_names(self, resident_id: str) -> list[str]:
        """What the resident's entries are filed under: the pseudonym, and the plain id for
        entries written before pseudonyms existed."""
        key = await self.keys.get(resident_id)
        return [resident_id] if key is None else [pseudonym(key, resident_id), resident_id]

    async def for_subject(self, subject: str, limit: int = 500) -> list[LedgerEntry]:
        names = await self.subject_names(subject)
        rows = await self._conn.execute(
            select(ledger)
            .where(or_(*(ledger.c.subject == name for name in names)))
            .order_by(ledger.c.seq.desc())
            .limit(limit)
        )
        return [LedgerEntry.model_validate(r._asdict()) for r in rows]
