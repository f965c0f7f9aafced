"""``aiguillage ledger verify`` on a real store: intact passes; an edit, a deletion, a
reordering or a cut-off tail is found and named."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.ledger_check import check_ledger
from broker.storage.uow import SqlUnitOfWork
from consent.ledger import LedgerEvent

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
