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
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.tables import TS, ledger
from consent.ledger import RangePart, RangeVerifier, StoredRow

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


# Generators, not lists: each row's tuple dies as soon as it is hashed (measured: building
# the batch's tuples first costs about 0.7 µs more per entry).


def sqlite_rows(raw: Iterable[Sequence[Any]]) -> Iterator[StoredRow]:
    for seq, at, kind, actor, subject, consent, service, holder, details, p, h in raw:
        yield (seq, sqlite_at(at), kind, actor, subject, consent, service, holder, details, p, h)


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
    rows = CopyRows()
    conn = await asyncpg.connect(dsn, server_settings=PG_SETTINGS)
    try:
        async with conn.transaction(readonly=True):
            await conn.copy_from_query(query, *args, output=rows.feed, format="text")
    finally:
        await conn.close()
    return rows.result()


# --- PostgreSQL: the range as COPY text ----------------------------------------------------
#
# asyncpg's decoding of a row into a Record, then into Python values, cost more than the
# hash (docs/performance.md, round seven). ``COPY … TO STDOUT`` hands the rows over as
# text: a line per row, fields split by tabs, which is close to what the canonical text
# needs anyway. Nothing is trusted to PostgreSQL's formatting: each field is read back to
# exactly the value it stands for, and a text that differs from what Python wrote can only
# fail to match its hash (reported as edited), never make an edited entry match.

# ``at`` in PostgreSQL's own text (``PG_SETTINGS``: ISO, in UTC), turned into what
# ``datetime.isoformat(timespec="microseconds")`` gives: "2026-03-01 09:00:00.123456+00"
# (the fraction without its trailing zeros, none at all for a whole second) becomes
# "2026-03-01T09:00:00.123456+00:00". Cheaper than ``to_char`` in the backend. Any other
# shape (a year past 9999 or before 1: "BC") is a moment the broker never wrote.
PG_SETTINGS = {"TimeZone": "UTC", "DateStyle": "ISO, YMD"}


def pg_at(text: str) -> str:
    """A stored ``at`` as the canonical text (``""``: not a moment the broker wrote)."""
    if len(text) == 29 and text[19] == "." and text[26:] == "+00" and text[10] == " ":
        return f"{text[:10]}T{text[11:26]}+00:00"  # the usual case: a fraction of 6 digits
    if not (text[-3:] == "+00" and len(text) >= 22 and text[10] == " " and text[4] == "-"):
        return ""
    if len(text) == 22:
        return f"{text[:10]}T{text[11:19]}.000000+00:00"
    return f"{text[:10]}T{text[11:19]}{text[19:-3]:0<7}+00:00"


# COPY's text format as PostgreSQL writes it: ``\N`` is null; a backslash escapes the
# delimiter, a few control characters (written as C escapes) or itself; nothing else.
_COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    return _COPY_ESCAPES.get(match[1], match[1])


def copy_field(text: str) -> str | None:
    """One field of a COPY text line, as the value it stands for."""
    return None if text == "\\N" else _ESCAPE.sub(_unescape, text)


def copy_rows(lines: str) -> Iterator[StoredRow]:
    """The rows of whole COPY text lines (``lines`` ends with a newline: COPY writes a
    newline inside a value as ``\\n``, so every raw one ends a row)."""
    for line in lines.split("\n")[:-1]:
        if "\\" in line:  # a null or an escape: decoded field by field
            seq, at, kind, actor, subject, consent, service, holder, details, p, h = map(
                copy_field, line.split("\t")
            )
            if None in (seq, at, kind, actor, details, p, h):
                # A null where the broker always writes a value: the row cannot be what
                # was hashed; "" never matches a hash.
                h = ""
            yield (
                int(seq or 0),
                pg_at(at) if at else "",
                kind or "",
                actor or "",
                subject,
                consent,
                service,
                holder,
                details or "",
                p or "",
                h or "",
            )
        else:
            seq, at, kind, actor, subject, consent, service, holder, details, p, h = line.split(
                "\t"
            )
            at = pg_at(at)
            yield (int(seq), at, kind, actor, subject, consent, service, holder, details, p, h)


class CopyRows:
    """Checks a range as COPY's chunks arrive (a chunk may end in the middle of a row)."""

    def __init__(self) -> None:
        self._verifier = RangeVerifier()
        self._rest = b""
        self._broken = False

    async def feed(self, chunk: bytes) -> None:
        if self._broken:  # the range is broken already: let the rest stream past
            return
        data = self._rest + chunk if self._rest else chunk
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if cut and not self._verifier.feed(copy_rows(data[:cut].decode())):
            self._broken = True

    def result(self) -> RangePart:
        if self._rest and not self._broken:
            raise ValueError("COPY ended in the middle of a row")
        return self._verifier.result()
