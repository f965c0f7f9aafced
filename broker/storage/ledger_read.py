"""Reading the ledger for ``aiguillage ledger verify``: straight from the driver (sqlite3,
asyncpg), one seq range at a time, in whichever process checks that range.

SQLAlchemy's row processing and a pydantic ``LedgerEntry`` per row cost more than the
hash itself; here each row goes from the driver to a plain ``LedgerRow`` tuple and into
``consent.ledger.RangeVerifier``. ``check_range`` is a plain function of picklable
arguments, so ``broker.ledger_check`` can run ranges in worker processes, each opening its
own connection and sending back only a ``RangePart``.
"""

from __future__ import annotations

import asyncio
import json
import json.scanner
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.tables import TS, ledger
from consent.ledger import LedgerRow, RangePart, RangeVerifier

_COLUMNS = "seq, at, kind, actor, subject, consent_id, service, holder, details, prev_hash, hash"
_BATCH = 20_000

# How SQLAlchemy reads a SQLite timestamp back (``UtcDateTime``): the reference for the
# rare value that is not in the shape SQLAlchemy writes.
_SQLITE = aiosqlite_dialect()
_sqlite_moment = TS.dialect_impl(_SQLITE).result_processor(_SQLITE, None)


@dataclass(frozen=True)
class LedgerSource:
    """Where a worker process reads the ledger from (picklable)."""

    dialect: str  # "sqlite" or "postgresql"
    target: str  # the SQLite file, or an asyncpg DSN


def ledger_source(engine: AsyncEngine) -> LedgerSource:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("ledger verify reads a database file; this SQLite store is in memory")
        return LedgerSource("sqlite", str(Path(url.database).resolve()))
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return LedgerSource("postgresql", dsn)


async def seq_bounds(engine: AsyncEngine) -> tuple[int, int] | None:
    """The lowest and highest seq in the ledger (None if it is empty): two index reads."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(func.min(ledger.c.seq), func.max(ledger.c.seq)))).one()
    return None if row[0] is None else (int(row[0]), int(row[1]))


def sqlite_at(value: Any) -> str:
    """The canonical text of a SQLite ``at``: what ``datetime.isoformat(timespec=
    "microseconds")`` gives for the UTC moment SQLAlchemy reads back."""
    if isinstance(value, str) and len(value) == 26 and value[10] == " " and value[19] == ".":
        # SQLAlchemy writes "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, no zone).
        return f"{value[:10]}T{value[11:]}+00:00"
    moment = _sqlite_moment(value) if _sqlite_moment is not None else value
    assert isinstance(moment, datetime)
    return moment.isoformat(timespec="microseconds")


def postgres_at(value: datetime) -> str:
    if value.tzinfo is not UTC:  # asyncpg hands timestamptz back in UTC already
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


_DECODER = json.JSONDecoder()
_scan: Any = getattr(json.scanner, "c_make_scanner", lambda _: None)(_DECODER)


def _details(value: Any) -> Any:
    """``json.loads`` of a stored ``details`` (what SQLAlchemy's JSON type does), through
    the C scanner when the whole text is one JSON value without surrounding blanks."""
    if not isinstance(value, str):
        return json.loads(value) if isinstance(value, bytes) else value
    if _scan is not None:
        try:
            parsed, end = _scan(value, 0)
        except StopIteration:
            return json.loads(value)  # raises as the reference would
        if end == len(value):
            return parsed
    return json.loads(value)


# Generators, not lists: each row's tuple dies as soon as it is hashed (measured: building
# the batch's tuples first costs about 0.7 µs more per entry).


def sqlite_rows(raw: Iterable[Sequence[Any]]) -> Iterator[LedgerRow]:
    for seq, at, kind, actor, subject, consent, service, holder, details, p, h in raw:
        yield (
            seq,
            sqlite_at(at),
            kind,
            actor,
            subject,
            consent,
            service,
            holder,
            _details(details),
            p,
            h,
        )


def postgres_rows(raw: Iterable[Sequence[Any]]) -> Iterator[LedgerRow]:
    for seq, at, kind, actor, subject, consent, service, holder, details, p, h in raw:
        yield (
            seq,
            at.isoformat(timespec="microseconds") if at.tzinfo is UTC else postgres_at(at),
            kind,
            actor,
            subject,
            consent,
            service,
            holder,
            _details(details),
            p,
            h,
        )


def _query(lo: int | None, hi: int | None, postgres: bool) -> tuple[str, list[int]]:
    """The range's query, ``lo < seq <= hi`` with either bound left open (None), and its
    arguments. Only constants go into the text; the bounds are parameters."""
    columns = _COLUMNS.replace("details", "details::text") if postgres else _COLUMNS
    clauses: list[str] = []
    args: list[int] = []
    for bound, op in ((lo, ">"), (hi, "<=")):
        if bound is not None:
            args.append(bound)
            clauses.append(f"seq {op} " + (f"${len(args)}" if postgres else "?"))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return f"SELECT {columns} FROM ledger{where} ORDER BY seq", args  # noqa: S608


def check_range(source: LedgerSource, lo: int | None, hi: int | None) -> RangePart:
    """Check the entries with ``lo < seq <= hi`` (a bound of None: open) in seq order."""
    if source.dialect == "sqlite":
        return _check_sqlite(source.target, lo, hi)
    return asyncio.run(_check_postgres(source.target, lo, hi))


def _check_sqlite(path: str, lo: int | None, hi: int | None) -> RangePart:
    query, args = _query(lo, hi, postgres=False)
    verifier = RangeVerifier()
    # Read-only, its own connection: WAL lets it read while the broker writes.
    conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True)
    try:
        cursor = conn.execute(query, args)
        while batch := cursor.fetchmany(_BATCH):
            if not verifier.feed(sqlite_rows(batch)):
                break
    finally:
        conn.close()
    return verifier.result()


async def _check_postgres(dsn: str, lo: int | None, hi: int | None) -> RangePart:
    import asyncpg  # only where PostgreSQL is read

    query, args = _query(lo, hi, postgres=True)
    verifier = RangeVerifier()
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(readonly=True):
            cursor = await conn.cursor(query, *args)
            while batch := await cursor.fetch(_BATCH):
                if not verifier.feed(postgres_rows(batch)):
                    break
    finally:
        await conn.close()
    return verifier.result()
