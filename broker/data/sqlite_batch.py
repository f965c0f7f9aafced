"""A group-committed ledger batch on SQLite, in one trip to the driver's thread.

``broker.data.appender.write_batch`` on SQLAlchemy takes a connection, then counters, the
head lock, each resident's key, each entry and the head, then the commit: seven trips to
aiosqlite's thread and SQLAlchemy's own work around each, which was most of what the
data plane added to a transfer at concurrency 1 (docs/performance.md, round four). On
SQLite the same steps run here as one function on the driver's thread, in the same order
and with the same statements and values: the writer connection is the only one that
writes, so nothing can come between the steps that the head lock would have kept out.

What stays shared with every other ledger writer: the chain (``consent.ledger.next_entry``),
the pseudonyms (``broker.gdpr.pseudonyms``), the head and counter statements, and the
column conversions SQLAlchemy compiled for SQLite (``SqliteStatement``). A failure at any
step rolls the whole batch back, as the SQLAlchemy path does.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, insert, select

from broker.data.open_transfers import SQLITE_CLOSE
from broker.gdpr.pseudonyms import residents_named, with_pseudonyms
from broker.storage.counters import SQLITE_ADD_BYTES
from broker.storage.ledger import SQLITE_LOCK_HEAD, SQLITE_WRITE_HEAD
from broker.storage.sqlite_driver import unsynced
from broker.storage.tables import ledger, resident_keys
from broker.storage.tokens import SqliteStatement
from consent.ledger import LedgerEntry, LedgerEvent, next_entry

# (holder, service, day window) → (bytes, transfers), in the order they are written.
Totals = Sequence[tuple[tuple[str, str, str], tuple[int, int]]]

_INSERT_ENTRY = SqliteStatement(insert(ledger))
_KEY = SqliteStatement(
    select(resident_keys.c.key).where(resident_keys.c.resident_id == bindparam("resident_id"))
)
_ADD_KEY = SqliteStatement(insert(resident_keys))


def _key(connection: sqlite3.Connection, resident_id: str, at: datetime) -> bytes:
    """The resident's key, created if they have none yet (``ResidentKeys.get_or_create``:
    the head lock is held, so no other writer creates one meanwhile)."""
    row = connection.execute(_KEY.sql, _KEY.params({"resident_id": resident_id})).fetchone()
    if row is not None:
        return bytes.fromhex(row[0])
    key = secrets.token_bytes(32)
    values = {"resident_id": resident_id, "key": key.hex(), "created_at": at}
    connection.execute(_ADD_KEY.sql, _ADD_KEY.params(values))
    return key


def write_batch(
    connection: sqlite3.Connection,
    totals: Totals,
    events: Sequence[tuple[LedgerEvent, datetime]],
    closing: Sequence[str] = (),
    durable: bool = True,
) -> list[LedgerEntry]:
    """On the driver's thread: counters, then the entries under the head lock, then the
    openings they close (``broker.data.open_transfers``), then the commit; the entries as
    written. ``sqlite3`` opens the transaction at the first write. ``durable=False``: the
    commit does not wait for the disk (every entry's opening is durable and stands for it
    if a power cut takes this transaction, see ``broker.data.appender``)."""
    if connection.in_transaction:  # the writer is shared: never commit someone else's work
        raise RuntimeError("the ledger batch needs the writer connection outside a transaction")
    with unsynced(connection, when=not durable):
        return _write(connection, totals, events, closing)


def _write(
    connection: sqlite3.Connection,
    totals: Totals,
    events: Sequence[tuple[LedgerEvent, datetime]],
    closing: Sequence[str],
) -> list[LedgerEntry]:
    try:
        for (holder, service, day), (amount, count) in totals:
            connection.execute(
                SQLITE_ADD_BYTES,
                {
                    "holder": holder,
                    "service": service,
                    "window": day,
                    "amount": amount,
                    "transfers": count,
                },
            )
        head = connection.execute(SQLITE_LOCK_HEAD).fetchone()
        if head is None:
            raise RuntimeError("ledger head row is missing: run `aiguillage migrate`")
        seq, head_hash = int(head[0]), str(head[1])
        keys: dict[str, bytes] = {}
        written: list[LedgerEntry] = []
        for event, at in events:
            for resident in residents_named(event):
                if resident not in keys:
                    keys[resident] = _key(connection, resident, at)
            entry = next_entry(seq, head_hash, with_pseudonyms(event, keys), at)
            connection.execute(_INSERT_ENTRY.sql, _INSERT_ENTRY.params(entry.model_dump()))
            written.append(entry)
            seq, head_hash = entry.seq, entry.hash
        if written:
            connection.execute(SQLITE_WRITE_HEAD, (seq, head_hash))
        for opening in closing:
            connection.execute(SQLITE_CLOSE, (opening,))
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return written
