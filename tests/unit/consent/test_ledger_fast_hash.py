"""The fast verification path computes exactly what the reference does.

``consent.ledger.compute_hash`` (over a pydantic ``LedgerEntry``) is the definition of an
entry's hash; ``row_hash`` (over a plain row, as ``aiguillage ledger verify`` reads them)
must agree with it for every entry, and checking a chain in ranges joined at their ends
(``RangeVerifier`` + ``join_ranges``) must give the same answer as ``verify``, to the first
bad seq, whatever is tampered with and wherever the ranges are cut.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects.sqlite.aiosqlite import dialect as aiosqlite_dialect

from broker.storage.ledger_read import postgres_at, sqlite_at, sqlite_rows
from broker.storage.tables import TS
from consent.ledger import (
    LedgerEntry,
    LedgerEvent,
    LedgerRow,
    RangeVerifier,
    chain,
    compute_hash,
    join_ranges,
    row_hash,
    verify,
)

_SQLITE = aiosqlite_dialect()
_to_sqlite = TS.dialect_impl(_SQLITE).bind_processor(_SQLITE)

texts = st.text(max_size=40)  # any unicode: the canonical text keeps it unescaped
optional = st.none() | texts
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | texts
)
events = st.builds(
    LedgerEvent,
    kind=texts,
    actor=texts,
    subject=optional,
    consent_id=optional,
    service=optional,
    holder=optional,
    details=st.dictionaries(texts, scalars, max_size=6),
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5))]),
)


def _as_stored(entry: LedgerEntry) -> LedgerRow:
    """The entry as the verify path reads it back from SQLite: ``at`` in SQLAlchemy's
    stored text, details through JSON."""
    assert _to_sqlite is not None
    raw = (
        entry.seq,
        _to_sqlite(entry.at),
        entry.kind,
        entry.actor,
        entry.subject,
        entry.consent_id,
        entry.service,
        entry.holder,
        json.dumps(entry.details),  # as SQLAlchemy's JSON type writes it
        entry.prev_hash,
        entry.hash,
    )
    return next(sqlite_rows([raw]))


@settings(max_examples=300)
@given(event=events, at=moments, seq=st.integers(min_value=1, max_value=2**62))
def test_the_row_hash_is_the_reference_hash(event: LedgerEvent, at: datetime, seq: int) -> None:
    prev = compute_hash(seq, at, event, "0" * 64)  # any 64 hex digits
    entry = LedgerEntry(**event.model_dump(), seq=seq, at=at, prev_hash=prev, hash="")
    reference = compute_hash(entry.seq, entry.at, entry, entry.prev_hash)
    utc = at.astimezone(UTC)
    # What the reference hashes is the entry as stored: its moment in UTC.
    stored = LedgerEntry.model_validate({**entry.model_dump(), "at": utc})
    assert row_hash(_as_stored(entry)) == compute_hash(seq, utc, stored, prev)
    if at.utcoffset() == timedelta(0):
        assert row_hash(_as_stored(entry)) == reference


@given(at=moments)
def test_stored_moments_read_back_as_the_reference_text(at: datetime) -> None:
    assert _to_sqlite is not None
    expected = at.astimezone(UTC).isoformat(timespec="microseconds")
    assert sqlite_at(_to_sqlite(at)) == expected
    assert postgres_at(at) == expected


def test_a_moment_in_another_stored_shape_goes_through_sqlalchemy() -> None:
    assert sqlite_at("2026-03-01 09:00:00") == "2026-03-01T09:00:00.000000+00:00"


def _chain(events: list[LedgerEvent], start: datetime) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    for i, event in enumerate(events):
        entries.append(chain(entries[-1] if entries else None, event, start + timedelta(i)))
    return entries


tampering = st.sampled_from(["none", "edit", "delete", "swap", "relink", "reseq"])


@settings(max_examples=200)
@given(
    events=st.lists(events, min_size=0, max_size=25),
    how=tampering,
    where=st.integers(min_value=0, max_value=24),
    cuts=st.lists(st.integers(min_value=0, max_value=26), max_size=5),
)
def test_ranges_joined_give_the_answer_of_one_pass(
    events: list[LedgerEvent], how: str, where: int, cuts: list[int]
) -> None:
    rows = [_as_stored(e) for e in _chain(events, datetime(2026, 3, 1, tzinfo=UTC))]
    entries = [
        LedgerEntry(
            seq=r[0],
            at=datetime.fromisoformat(r[1]),
            kind=r[2],
            actor=r[3],
            subject=r[4],
            consent_id=r[5],
            service=r[6],
            holder=r[7],
            details=r[8],
            prev_hash=r[9],
            hash=r[10],
        )
        for r in rows
    ]
    if rows and how != "none":
        i = where % len(rows)
        row, entry = rows[i], entries[i]
        if how == "edit":
            rows[i] = (*row[:3], row[3] + "!", *row[4:])
            entries[i] = entry.model_copy(update={"actor": entry.actor + "!"})
        elif how == "delete":
            del rows[i], entries[i]
        elif how == "swap" and i + 1 < len(rows):
            rows[i], rows[i + 1] = rows[i + 1], rows[i]
            entries[i], entries[i + 1] = entries[i + 1], entries[i]
        elif how == "relink":
            rows[i] = (*row[:9], "f" * 64, row[10])
            entries[i] = entry.model_copy(update={"prev_hash": "f" * 64})
        elif how == "reseq":
            rows[i] = (row[0] + 1000, *row[1:])
            entries[i] = entry.model_copy(update={"seq": entry.seq + 1000})
    # Ranges as the database hands them out: consecutive slices in stored order.
    bounds = [0, *sorted(c for c in cuts if c <= len(rows)), len(rows)]
    parts = []
    for lo, hi in pairwise(bounds):
        verifier = RangeVerifier()
        verifier.feed(rows[lo:hi])
        parts.append(verifier.result())
    assert join_ranges(parts) == verify(entries)
