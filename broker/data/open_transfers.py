"""Transfers admitted and not yet in the ledger (``open_transfers``), on a SQLite file.

A transfer's ledger entry can only be written once its answer has streamed (it holds the
bytes and records sent), and it used to be written before the answer was finished, so
that a service holding a complete answer could rely on its transfer being on record: at
concurrency 1 that commit was the largest part of what the broker added to a transfer
(docs/performance.md, round ten). Instead, on SQLite:

1. the admission writes the transfer's *opening* (this table) in the transaction that
   takes its contract counters, unsynced, before the holder is asked; the WAL is synced
   while the holder answers (``broker.storage.wal_sync``);
2. the answer is finished once that sync is done, and the transfer's entry is handed to
   the group-committing appender (``broker.data.appender``) without waiting for it;
3. the batch that writes the entry deletes the opening in the same transaction.

So at every moment an answered transfer is on record durably, as its entry or as its
opening. A broker stopped in between (killed, a power cut) leaves openings behind; the
next broker on the database turns each into a ``transfer.failed`` entry with the outcome
``broker_stopped`` (bytes and records unknown, recorded as 0 and none) before it serves
anything (``leftovers``, recorded by ``broker.data.appender``). Openings are on SQLite
only: one broker process serves a SQLite file, so every opening found at start-up is a
stopped broker's. On PostgreSQL, where
several instances share the table and none could tell another's openings from its own,
the entry is written before the answer is finished, as before.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.consents import SqlConsentRepository
from broker.storage.sqlite_driver import AlsoWrite
from broker.storage.tables import open_transfers
from broker.storage.tokens import SqliteStatement
from consent.model import Consent

STOPPED = "broker_stopped"

_INSERT = SqliteStatement(insert(open_transfers))
# The ids of a batch's transfers, deleted in the batch's own transaction.
SQLITE_CLOSE = "DELETE FROM open_transfers WHERE id = ?"


@dataclass(frozen=True)
class Opening:
    """A transfer admitted, as the table holds it until its entry is written."""

    id: str
    consent_id: str
    resource: str
    start: date | None
    end: date | None
    opened_at: datetime

    @classmethod
    def new(
        cls, consent_id: str, resource: str, start: date | None, end: date | None, at: datetime
    ) -> Opening:
        return cls(secrets.token_hex(16), consent_id, resource, start, end, at)

    def written_if_counted(self) -> AlsoWrite:
        """What the counters' transaction adds: this opening, if both request windows were
        counted (a refused request is not opened, and gives its count back)."""
        values = _INSERT.params(
            {
                "id": self.id,
                "consent_id": self.consent_id,
                "resource": self.resource,
                "first_day": None if self.start is None else self.start.isoformat(),
                "last_day": None if self.end is None else self.end.isoformat(),
                "opened_at": self.opened_at,
            }
        )

        def write(connection: sqlite3.Connection, rows: list[Any]) -> None:
            if len(rows) == 2:
                connection.execute(_INSERT.sql, values)

        return write


@dataclass(frozen=True)
class Leftover:
    """An opening found at start-up, with what its ``broker_stopped`` entry needs."""

    opening: Opening
    consent: Consent | None  # None: the consent is gone


async def leftovers(engine: AsyncEngine) -> list[Leftover]:
    """The openings a stopped broker left, oldest first, each with its consent."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(open_transfers).order_by(open_transfers.c.opened_at))
        ).all()
        consents = SqlConsentRepository(conn, datetime.now(UTC))  # only read here
        found: list[Leftover] = []
        for row in rows:
            opening = Opening(
                row.id,
                row.consent_id,
                row.resource,
                None if row.first_day is None else date.fromisoformat(row.first_day),
                None if row.last_day is None else date.fromisoformat(row.last_day),
                row.opened_at,
            )
            found.append(Leftover(opening, await consents.get(row.consent_id)))
    return found


async def forget(engine: AsyncEngine, ids: list[str]) -> None:
    """Delete openings that have no consent left to put an entry under."""
    if not ids:
        return
    async with engine.begin() as conn:
        await conn.execute(delete(open_transfers).where(open_transfers.c.id.in_(ids)))
