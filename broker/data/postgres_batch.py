"""A group-committed ledger batch on PostgreSQL, on asyncpg directly: six round trips, each
a statement asyncpg has prepared once, instead of SQLAlchemy's work around a dozen.

On PostgreSQL the data plane's ledger batch through SQLAlchemy (a counter per day window,
the head lock, each resident's key, each entry, the head, in a transaction) was the largest
single cost of a transfer: about 1.6 ms of the event loop's CPU out of 5.5 (docs/
performance.md, round five). Here the same steps, in the same order, with the same values,
are sent on the connection SQLAlchemy checked out:

1. ``BEGIN``;
2. every day window's counters, one ``INSERT … SELECT FROM unnest(…) ON CONFLICT`` in the
   sorted order of their keys (so two instances lock them in the same order);
3. the head lock (``UPDATE ledger_head … RETURNING``), the very statement of ``SqlLedger``;
4. the residents' keys, read once the lock is held: a statement that started before the
   lock was granted could miss a key another appender committed meanwhile;
5. the new keys, the entries and the head, in one statement of data-modifying CTEs;
6. ``COMMIT``.

Steps 2, 3 and 4 stay apart because a statement's CTEs take their locks in no set order,
and its snapshot is taken before it waits. A failure anywhere rolls the whole batch back;
the caller surfaces asyncpg's errors as SQLAlchemy would
(``broker.storage.pg_statements.driver_errors``: a 503, a dead connection invalidated).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from broker.gdpr.pseudonyms import residents_named, with_pseudonyms
from consent.ledger import LedgerEntry, LedgerEvent, details_text, next_entry

# (holder, service, day window) → (bytes, transfers), in the order they are written.
Totals = Sequence[tuple[tuple[str, str, str], tuple[int, int]]]

_ADD_BYTES = """
    INSERT INTO transfer_counters (holder, service, "window", count, bytes)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
    ON CONFLICT (holder, service, "window") DO UPDATE
    SET count = transfer_counters.count + EXCLUDED.count,
        bytes = transfer_counters.bytes + EXCLUDED.bytes
"""
_LOCK_HEAD = "UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, hash"
_KEYS = "SELECT resident_id, key FROM resident_keys WHERE resident_id = ANY($1::text[])"
_WRITE = """
    WITH new_keys AS (
        INSERT INTO resident_keys (resident_id, key, created_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
    ), entries AS (
        INSERT INTO ledger
            (seq, at, kind, actor, subject, consent_id, service, holder, details, prev_hash, hash)
        SELECT seq, at, kind, actor, subject, consent_id, service, holder, details::json,
               prev_hash, hash
        FROM unnest($4::bigint[], $5::timestamptz[], $6::text[], $7::text[], $8::text[],
                    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
            AS e(seq, at, kind, actor, subject, consent_id, service, holder, details,
                 prev_hash, hash)
    )
    UPDATE ledger_head SET seq = $15, hash = $16 WHERE id = 1
"""
# The ledger's columns after ``seq`` and ``at``, in ``_WRITE``'s order.
_TEXT_COLUMNS = ("kind", "actor", "subject", "consent_id", "service", "holder")


async def write_batch(
    connection: asyncpg.Connection,
    totals: Totals,
    events: Sequence[tuple[LedgerEvent, datetime]],
) -> list[LedgerEntry]:
    """Counters, then the entries under the head lock, in one transaction on ``connection``
    (checked out by the caller and outside any transaction); the entries as written.
    ``details`` are stored as their canonical text, as the ledger's column type writes
    them (``broker.storage.tables.LedgerDetails``)."""
    async with connection.transaction():
        return await _write(connection, totals, events)


async def _write(
    connection: asyncpg.Connection,
    totals: Totals,
    events: Sequence[tuple[LedgerEvent, datetime]],
) -> list[LedgerEntry]:
    if totals:
        await connection.execute(
            _ADD_BYTES,
            [holder for (holder, _, _), _ in totals],
            [service for (_, service, _), _ in totals],
            [window for (_, _, window), _ in totals],
            [count for _, (_, count) in totals],
            [amount for _, (amount, _) in totals],
        )
    head = await connection.fetchrow(_LOCK_HEAD)
    if head is None:
        raise RuntimeError("ledger head row is missing: run `aiguillage migrate`")
    seq, head_hash = int(head["seq"]), str(head["hash"])
    named = sorted({resident for event, _ in events for resident in residents_named(event)})
    keys: dict[str, bytes] = {}
    if named:
        keys = {
            r["resident_id"]: bytes.fromhex(r["key"]) for r in await connection.fetch(_KEYS, named)
        }
    new_keys: list[tuple[str, str, datetime]] = []
    written: list[LedgerEntry] = []
    for event, at in events:
        for resident in residents_named(event):
            if resident not in keys:
                keys[resident] = secrets.token_bytes(32)
                new_keys.append((resident, keys[resident].hex(), at))
        entry = next_entry(seq, head_hash, with_pseudonyms(event, keys), at)
        written.append(entry)
        seq, head_hash = entry.seq, entry.hash
    if not written:
        return written
    await connection.execute(
        _WRITE,
        [k[0] for k in new_keys],
        [k[1] for k in new_keys],
        [k[2] for k in new_keys],
        [e.seq for e in written],
        [e.at for e in written],
        *([getattr(e, column) for e in written] for column in _TEXT_COLUMNS),
        [details_text(e.details) for e in written],
        [e.prev_hash for e in written],
        [e.hash for e in written],
        seq,
        head_hash,
    )
    return written
