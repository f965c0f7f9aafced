"""The fast verification path computes exactly what the reference does.

``consent.ledger.compute_hash`` (over a pydantic ``LedgerEntry``) is the definition of an
entry's hash; ``row_hash`` (over a plain row, as ``aiguillage ledger verify`` reads them)
must agree with it for every entry; ``row_matches``, which hashes the stored details' text
as it stands before parsing it, must say what parsing and re-encoding says, whatever text
the details column holds; and checking a chain in ranges joined at their ends
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

from broker.storage.ledger_read import copy_field, copy_rows, sqlite_at, sqlite_rows
from broker.storage.tables import TS
from consent.ledger import (
    LedgerEntry,
    LedgerEvent,
    RangeVerifier,
    StoredRow,
    chain,
    compute_hash,
    details_text,
    join_ranges,
    row_hash,
    row_matches,
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


def _as_stored(entry: LedgerEntry, legacy: bool = False) -> StoredRow:
    """The entry as the verify path reads it back from SQLite: ``at`` in SQLAlchemy's
    stored text, details as the broker writes them (``legacy``: as it wrote them before
    round seven, ``json.dumps``' default form)."""
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
        json.dumps(entry.details) if legacy else details_text(entry.details),
        entry.prev_hash,
        entry.hash,
    )
    return next(sqlite_rows([raw]))


def _entry(event: LedgerEvent, at: datetime, seq: int) -> LedgerEntry:
    prev = compute_hash(seq, at, event, "0" * 64)  # any 64 hex digits
    utc = at.astimezone(UTC)  # what the reference hashes is the entry as stored: in UTC
    return LedgerEntry(
        **event.model_dump(),
        seq=seq,
        at=utc,
        prev_hash=prev,
        hash=compute_hash(seq, utc, event, prev),
    )


@settings(max_examples=300)
@given(event=events, at=moments, seq=st.integers(min_value=1, max_value=2**62))
def test_the_row_hash_is_the_reference_hash(event: LedgerEvent, at: datetime, seq: int) -> None:
    entry = _entry(event, at, seq)
    for legacy in (False, True):
        stored = _as_stored(entry, legacy)
        plain = (*stored[:8], json.loads(stored[8]), *stored[9:])
        assert row_hash(plain) == entry.hash  # type: ignore[arg-type]
        assert row_matches(stored)


def _entry_of(row: StoredRow) -> LedgerEntry:
    """The entry a stored row stands for, its details parsed as the reference reads them."""
    return LedgerEntry(
        seq=row[0],
        at=datetime.fromisoformat(row[1]),
        kind=row[2],
        actor=row[3],
        subject=row[4],
        consent_id=row[5],
        service=row[6],
        holder=row[7],
        details=json.loads(row[8]),
        prev_hash=row[9],
        hash=row[10],
    )


def _reference_matches(row: StoredRow) -> bool:
    """What the reference says of a row whose details column holds any text: parse it,
    rebuild the entry, hash it."""
    try:
        entry = _entry_of(row)
    except ValueError:  # not JSON, or not an object of scalars (pydantic's error is one)
        return False
    return compute_hash(entry.seq, entry.at, entry, entry.prev_hash) == entry.hash


def _edits(text: str) -> st.SearchStrategy[str]:
    """Texts near ``text``: a character inserted, removed or replaced, the text cut, or
    the same value written another way."""
    value = json.loads(text)
    spots = st.integers(min_value=0, max_value=len(text))
    chars = st.sampled_from(' \t\n"\\,:{}[]0aé') | st.characters()
    return st.one_of(
        st.builds(lambda i, c: text[:i] + c + text[i:], spots, chars),
        st.builds(lambda i: text[:i] + text[i + 1 :], spots),
        st.builds(lambda i, c: text[:i] + c + text[i + 1 :], spots, chars),
        st.builds(lambda i: text[:i], spots),
        st.sampled_from(
            [
                json.dumps(value),
                json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":")),
                json.dumps(value, indent=1),
                " " + text,
                text + " ",
                text.replace("\\n", "\n"),  # an escape turned into the raw character
            ]
        ),
        st.text(max_size=30),
    )


@settings(max_examples=400)
@given(data=st.data(), event=events, at=moments, seq=st.integers(min_value=1, max_value=2**40))
def test_hashing_the_stored_text_says_what_the_reference_says(
    data: st.DataObject, event: LedgerEvent, at: datetime, seq: int
) -> None:
    stored = _as_stored(_entry(event, at, seq))
    text = data.draw(_edits(stored[8]))
    edited = (*stored[:8], text, *stored[9:])
    assert row_matches(edited) == _reference_matches(edited)


@given(at=moments)
def test_stored_moments_read_back_as_the_reference_text(at: datetime) -> None:
    assert _to_sqlite is not None
    expected = at.astimezone(UTC).isoformat(timespec="microseconds")
    assert sqlite_at(_to_sqlite(at)) == expected


def _copy_escaped(value: str | None) -> str:
    """A field as PostgreSQL's COPY writes it in text format (``CopyAttributeOutText``)."""
    if value is None:
        return "\\N"
    escapes = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
    return "".join("\\\\" if c == "\\" else escapes.get(c, c) for c in value)


@given(values=st.lists(optional, min_size=1, max_size=5))
def test_copy_fields_read_back_as_written(values: list[str | None]) -> None:
    assert [copy_field(_copy_escaped(v)) for v in values] == values


@given(event=events, at=moments, seq=st.integers(min_value=1, max_value=2**62))
def test_copy_lines_read_back_as_the_stored_row(event: LedgerEvent, at: datetime, seq: int) -> None:
    entry = _entry(event, at, seq)
    stored = _as_stored(entry)
    moment = entry.at
    pg_text = (
        f"{moment:%Y-%m-%d %H:%M:%S}"
        + (f".{moment.microsecond:06d}".rstrip("0") if moment.microsecond else "")
        + "+00"
    )  # PostgreSQL's ISO text of the moment in UTC (checked against the server
    # in tests/integration/test_ledger_verify.py)
    fields = [str(seq), pg_text, *stored[2:]]
    line = "\t".join(_copy_escaped(f) for f in fields) + "\n"
    (row,) = copy_rows(line)
    assert row == stored
    assert row_matches(row)


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
    entries = [_entry_of(r) for r in rows]
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
