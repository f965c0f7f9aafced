"""``aiguillage ledger verify`` on a real store: intact passes; an edit, a deletion, a
reordering or a cut-off tail is found and named; values that the reading path has to
unescape (PostgreSQL's COPY text, JSON) verify, and edits of them are found."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.data.appender import PendingEntry, write_batch
from broker.ledger_check import check_ledger
from broker.storage.ledger_read import PG_SETTINGS, pg_at
from broker.storage.uow import SqlUnitOfWork
from consent.ledger import LedgerEvent, details_text
from tests.support.databases import PG_ADMIN_DSN

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def _fill(engine: AsyncEngine, n: int = 5) -> None:
    async with SqlUnitOfWork(engine, lambda: NOW) as uow:
        for i in range(n):
            await uow.ledger.append(
                LedgerEvent(kind="transfer.served", actor="service:c", details={"bytes": i}), NOW
            )
        await uow.commit()


async def _sql(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement))


async def test_an_intact_ledger_verifies(engine: AsyncEngine) -> None:
    await _fill(engine)
    report = await check_ledger(engine)
    assert report.ok and report.count == 5 and report.head_seq == 5


async def test_an_empty_ledger_verifies(engine: AsyncEngine) -> None:
    assert (await check_ledger(engine)).ok


async def test_an_edited_entry_is_named(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "update ledger set actor = 'service:evil' where seq = 3")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 3


async def test_a_deleted_entry_is_named(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "delete from ledger where seq = 2")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 2


async def test_reordered_entries_are_found(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "update ledger set seq = 100 where seq = 2")
    await _sql(engine, "update ledger set seq = 2 where seq = 3")
    await _sql(engine, "update ledger set seq = 3 where seq = 100")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 2


async def test_a_cut_off_tail_is_found_through_the_head(engine: AsyncEngine) -> None:
    await _fill(engine)
    await _sql(engine, "delete from ledger where seq = 5")
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 5


# Several ranges in several worker processes, as on a large ledger: 40 entries cut into
# ranges of 7 ((0, 7], (7, 14], …, (35, open)), checked by 2 processes.
WORKERS = {"workers": 2, "range_size": 7}


async def test_an_intact_ledger_verifies_in_worker_processes(engine: AsyncEngine) -> None:
    await _fill(engine, 40)
    report = await check_ledger(engine, **WORKERS)
    one_pass = await check_ledger(engine, workers=1)
    assert report.ok and report.count == 40 and report.head_seq == 40
    assert (report.head_hash, report.count) == (one_pass.head_hash, one_pass.count)


async def test_tampering_inside_a_worker_s_range_is_named_at_its_seq(engine: AsyncEngine) -> None:
    await _fill(engine, 40)
    await _sql(engine, "update ledger set actor = 'service:evil' where seq = 17")
    report = await check_ledger(engine, **WORKERS)
    assert not report.ok and report.first_bad_seq == 17
    assert report.count == 16 and report.head_seq == 16
    assert report.problem == "its content does not match its hash (edited)"
    one_pass = await check_ledger(engine, workers=1)
    assert (report.first_bad_seq, report.problem, report.count, report.head_hash) == (
        one_pass.first_bad_seq,
        one_pass.problem,
        one_pass.count,
        one_pass.head_hash,
    )


async def test_breaks_at_the_joints_between_ranges_are_named(engine: AsyncEngine) -> None:
    await _fill(engine, 40)
    # The last entry of a range gone: the next range's first entry does not follow.
    await _sql(engine, "delete from ledger where seq = 14")
    report = await check_ledger(engine, **WORKERS)
    assert not report.ok and report.first_bad_seq == 14 and report.count == 13
    # The first entry of a later range relinked: only the joint can tell.
    await _sql(engine, "update ledger set prev_hash = hash where seq = 29")
    assert (await check_ledger(engine, **WORKERS)).first_bad_seq == 14
    await _sql(
        engine,
        "insert into ledger select 14, at, kind, actor, subject, consent_id, "
        "service, holder, details, prev_hash, hash from ledger where seq = 13",
    )
    report = await check_ledger(engine, **WORKERS)
    assert not report.ok and report.first_bad_seq == 14


async def test_a_relinked_first_entry_of_a_range_is_named(engine: AsyncEngine) -> None:
    await _fill(engine, 40)
    await _sql(engine, "update ledger set prev_hash = hash where seq = 29")
    report = await check_ledger(engine, **WORKERS)
    assert not report.ok and report.first_bad_seq == 29 and report.count == 28
    assert report.problem == "its previous-hash does not match the entry before it"


async def test_a_cut_off_tail_is_found_with_worker_processes(engine: AsyncEngine) -> None:
    await _fill(engine, 40)
    await _sql(engine, "delete from ledger where seq > 35")
    report = await check_ledger(engine, **WORKERS)
    assert not report.ok and report.first_bad_seq == 36 and report.count == 35


# Values that COPY's text format (PostgreSQL's verify path) and JSON both have to escape:
# a tab and a newline (COPY's delimiters), a backslash, the two characters of COPY's null
# marker, a quote, a control character, text beyond ASCII.
HOSTILE = 'a\tb\nc\\d"e\x01f\\N g é 🔌'


def _hostile(i: int) -> LedgerEvent:
    return LedgerEvent(
        kind="transfer.served",
        actor=f"service:{HOSTILE}",
        consent_id=None if i % 2 else HOSTILE,
        service=HOSTILE,
        holder=None,
        details={"z": HOSTILE, "a": i, "note": "\\N", "x": None, "f": 0.5, "t": True},
    )


async def _stored_details(engine: AsyncEngine) -> list[str]:
    cast = "details::text" if engine.dialect.name == "postgresql" else "details"
    async with engine.connect() as conn:
        rows = await conn.execute(text(f"select {cast} from ledger order by seq"))  # noqa: S608
        return [row[0] for row in rows]


async def test_details_are_stored_as_the_text_their_hash_covers(engine: AsyncEngine) -> None:
    await _fill_hostile(engine)
    expected = [details_text(_hostile(i).details) for i in range(4)] * 2
    assert await _stored_details(engine) == expected
    assert '"a":0,"f":0.5,"note":"\\\\N"' in expected[0]  # canonical: sorted, compact


async def _fill_hostile(engine: AsyncEngine) -> None:
    """Four entries through the unit of work, four through the data plane's batch."""
    async with SqlUnitOfWork(engine, lambda: NOW) as uow:
        for i in range(4):
            await uow.ledger.append(_hostile(i), NOW)
        await uow.commit()
    await write_batch(
        engine, [PendingEntry(_hostile(i), NOW, "enedis", "coach", 0) for i in range(4)]
    )


async def test_entries_with_escaped_values_verify(engine: AsyncEngine) -> None:
    await _fill_hostile(engine)
    report = await check_ledger(engine)
    assert report.ok and report.count == 8, report.describe()
    assert (await check_ledger(engine, workers=2, range_size=3)).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [
        # An escape turned into what it stands for, and back: the same text to a reader
        # that decodes COPY's escapes loosely.
        ("actor", "'service:a\\tb\\nc\\\\d\"e' || chr(1) || 'f\\N g é 🔌'"),
        ("service", "replace(service, chr(10), ' ')"),
        # COPY's null marker as a value where there was a null, and a null for a value.
        ("holder", "'\\N'"),
        ("consent_id", "NULL"),
        # The same details written another way still verify (below); different ones do not.
        ("details", "replace(details::text, '0.5', '0.25')"),
    ],
)
async def test_edits_of_escaped_values_are_found(
    engine: AsyncEngine, column: str, value: str
) -> None:
    await _fill_hostile(engine)
    if engine.dialect.name == "sqlite":
        value = value.replace("details::text", "details").replace("chr(", "char(")
    cast = "::json" if column == "details" and engine.dialect.name == "postgresql" else ""
    await _sql(engine, f"update ledger set {column} = ({value}){cast} where seq = 3")  # noqa: S608
    report = await check_ledger(engine)
    assert not report.ok and report.first_bad_seq == 3, report.describe()


async def test_details_stored_in_another_form_of_the_same_value_still_verify(
    engine: AsyncEngine,
) -> None:
    """Entries written before the broker stored the canonical text hold ``json.dumps``'
    default form: verify parses them and still finds them intact."""
    await _fill_hostile(engine)
    cast = "::json" if engine.dialect.name == "postgresql" else ""
    for seq in range(1, 9):
        stored = (await _stored_details(engine))[seq - 1]
        legacy = json.dumps(json.loads(stored)).replace("'", "''")
        await _sql(engine, f"update ledger set details = '{legacy}'{cast} where seq = {seq}")  # noqa: S608
    assert (await _stored_details(engine))[0].startswith('{"a": 0, ')
    report = await check_ledger(engine)
    assert report.ok and report.count == 8, report.describe()


async def test_postgresql_moments_read_back_as_the_canonical_text() -> None:
    """``pg_at`` against the server's own text of a moment (verify's connection settings)."""
    moments = [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 0, 0, 500_000, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 0, 0, 120, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 30, 0, 123_456, tzinfo=timezone(timedelta(hours=2))),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    ]
    conn = await asyncpg.connect(PG_ADMIN_DSN, server_settings=PG_SETTINGS)
    try:
        for moment in moments:
            # Sent as text: asyncpg sends datetime.min and max as -infinity and infinity.
            stored = await conn.fetchval("SELECT $1::text::timestamptz::text", moment.isoformat())
            assert pg_at(stored) == moment.astimezone(UTC).isoformat(timespec="microseconds")
        # Moments Python cannot hold, so the broker never wrote: no text to match a hash.
        for literal in ("0044-03-15 10:00:00+00 BC", "12026-03-01 09:00:00.5+00"):
            assert pg_at(await conn.fetchval(f"SELECT '{literal}'::timestamptz::text")) == ""
    finally:
        await conn.close()
