"""Round two of issue #6's read paths: the data plane's one-statement admission read
(``SqlTokens.find_for_transfer``), SQLite's read-only connections
(``broker.storage.engine.reading_engine``) and the skipped no-op ends of transactions.
Every guarantee is checked as before: a revocation committed by the writer is seen by the
next read of a reader, a reader never writes, an uncommitted write is never seen and is
rolled back, a write after a commit is rolled back too."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from broker.storage.engine import (
    SharedReaders,
    SqliteEngine,
    make_engine,
    reading_engine,
    shared_readers,
)
from broker.storage.tokens import read_for_transfer, sqlite_driver
from broker.storage.uow import SqlUnitOfWork
from tests.integration.test_oauth_statements import LATER, _token
from tests.integration.test_repositories import NOW, active_consent, uow
from tests.support.databases import migrated_engine, migrated_sqlite


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite file database: readers and skipped transaction ends are SQLite's
    (PostgreSQL reads from its pool and ends every transaction)."""
    async with migrated_engine("sqlite", tmp_path) as engine:
        yield engine


async def test_the_admission_read_brings_the_grant_and_its_credential(
    engine: AsyncEngine,
) -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token("at", "access"), _token("lost", grant="gone")])
        await u.consents.set_holder_credential("grant-1", "sealed-credential")
        await u.commit()
    async with uow(engine) as u:
        found = await u.tokens.find_for_transfer("at")
        with_grant = await u.tokens.find_with_grant("at")
        alone = await u.tokens.find_for_transfer("lost")
        assert await u.tokens.find_for_transfer("nope") is None
        credential = await u.consents.holder_credential("grant-1")
    assert found is not None and with_grant is not None and alone is not None
    assert (found[0], found[1]) == with_grant
    assert found[2] == credential == "sealed-credential"
    assert alone[0].grant_id == "gone" and alone[1] is None and alone[2] is None
    # The admission's own read, outside any unit of work (on a SQLite file on the event
    # loop's connection): the same answers.
    assert await read_for_transfer(engine, "at") == found
    assert await read_for_transfer(engine, "lost") == alone
    assert await read_for_transfer(engine, "nope") is None


def _is_sqlite_file(engine: AsyncEngine) -> bool:
    return isinstance(engine, SqliteEngine)


async def test_a_reader_sees_a_revocation_at_its_next_read(engine: AsyncEngine) -> None:
    """No snapshot outlives a statement on a reader: the revocation the writer commits
    while a read-only unit of work is open is seen by that unit of work's next read."""
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token("at", "access")])
        await u.commit()
    readers = reading_engine(engine)
    assert (readers is not engine) == _is_sqlite_file(engine)
    async with uow(readers) as reader:
        before = await reader.tokens.find_with_grant("at")
        assert before is not None and before[0].usable(NOW)
        async with uow(engine) as writer:
            await writer.tokens.revoke("at", NOW)
            # Written, not committed: nothing half-written is seen.
            during = await reader.tokens.find_with_grant("at")
            assert during is not None and during[0].revoked_at is None
            await writer.commit()
        after = await reader.tokens.find_with_grant("at")
        assert after is not None and after[0].revoked_at == NOW
    async with uow(readers) as reader:
        found = await reader.tokens.find_with_grant("at")
        assert found is not None and not found[0].usable(LATER)


async def test_a_reader_cannot_write(sqlite_engine: AsyncEngine) -> None:
    engine = sqlite_engine
    async with uow(reading_engine(engine)) as reader:
        # Through the driver (sqlite3's error) or through SQLAlchemy (wrapped).
        with pytest.raises((sqlite3.OperationalError, OperationalError), match="readonly"):
            await reader.tokens.add_many([_token("at", "access")])
        with pytest.raises(OperationalError, match="readonly"):
            await reader.tokens.revoke("at", NOW)
    async with uow(engine) as u:
        assert await u.tokens.find("at") is None


async def test_in_memory_sqlite_has_no_readers() -> None:
    engine = make_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert not isinstance(engine, SqliteEngine)
        assert reading_engine(engine) is engine
    finally:
        await engine.dispose()


async def test_disposing_the_engine_disposes_its_readers(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    assert isinstance(engine, SqliteEngine)
    async with engine.readers.connect() as conn:
        assert (await conn.execute(text("PRAGMA query_only"))).scalar() == 1
    pool = engine.readers.sync_engine.pool
    assert isinstance(pool, QueuePool) and pool.checkedin() == 1
    await engine.dispose()
    assert pool.checkedin() == 0


async def _count_ends(engine: AsyncEngine) -> tuple[Any, dict[str, int]]:
    """The writer's driver connection, its COMMIT and ROLLBACK counted."""
    counts = {"commit": 0, "rollback": 0}
    async with engine.connect() as conn:
        driver = await sqlite_driver(conn)
    assert driver is not None
    for name in counts:
        original = getattr(driver, name)

        async def counted(name: str = name, original: Any = original) -> None:
            counts[name] += 1
            await original()

        setattr(driver, name, counted)
    return driver, counts


async def test_only_transactions_that_wrote_are_ended(sqlite_engine: AsyncEngine) -> None:
    """On SQLite a unit of work that only read, or that just committed, sends no
    ROLLBACK; one that wrote is still rolled back, and a write after a commit too."""
    engine = sqlite_engine
    await active_consent(engine)
    _, counts = await _count_ends(engine)
    async with uow(engine) as u:
        assert await u.tokens.find("at") is None
    assert counts == {"commit": 0, "rollback": 0}
    async with uow(engine) as u:
        await u.tokens.add_many([_token("at", "access")])
        await u.commit()
    assert counts == {"commit": 1, "rollback": 0}
    async with uow(engine) as u:
        await u.tokens.add_many([_token("rt")])
        await u.commit()
        await u.tokens.revoke("at", NOW)  # not committed
    assert counts == {"commit": 2, "rollback": 1}
    async with uow(engine) as u:
        await u.tokens.add_many([_token("other")])  # not committed
    assert counts == {"commit": 2, "rollback": 2}
    async with uow(engine) as u:
        at, rt, other = [await u.tokens.find(h) for h in ("at", "rt", "other")]
        assert at is not None and at.revoked_at is None
        assert rt is not None and other is None


_TOKEN_BY_HASH = "SELECT revoked_at FROM tokens WHERE token_hash = ?"


# ``fetch`` goes to a reader's thread; ``fetch_point`` reads on the event loop's own
# connection: the same guarantees for both.
READS = pytest.mark.parametrize("method", ["fetch", "fetch_point"])


@READS
async def test_shared_readers_see_each_commit_and_nothing_uncommitted(
    sqlite_engine: AsyncEngine, method: str
) -> None:
    """The shared statement readers (introspection on SQLite) read fresh, like the pool's:
    an uncommitted revocation is not seen, a committed one is seen by the next read,
    whichever shared connection serves it."""
    engine = sqlite_engine
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token("at", "access")])
        await u.commit()
    shared = shared_readers(engine)
    assert shared is not None
    fetch = getattr(shared, method)
    assert await fetch(_TOKEN_BY_HASH, ("at",)) == [(None,)]
    async with uow(engine) as writer:
        await writer.tokens.revoke("at", NOW)
        for _ in range(3):  # every shared connection, in turn
            assert await fetch(_TOKEN_BY_HASH, ("at",)) == [(None,)]
        await writer.commit()
    for _ in range(3):
        [(revoked,)] = await fetch(_TOKEN_BY_HASH, ("at",))
        assert revoked is not None


@READS
async def test_shared_readers_cannot_write_and_close_with_the_engine(
    tmp_path: Path, method: str
) -> None:
    engine = make_engine(await migrated_sqlite(tmp_path / "x.sqlite3"))
    shared = shared_readers(engine)
    assert shared is not None
    fetch = getattr(shared, method)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await fetch("DELETE FROM tokens", ())
    results = await asyncio.gather(*(fetch("SELECT 1", ()) for _ in range(20)))
    assert results == [[(1,)]] * 20  # many coroutines on the shared connections at once
    await engine.dispose()
    with pytest.raises(ValueError, match="closed"):
        await fetch("SELECT 1", ())


@pytest.fixture
async def opened_readers(sqlite_engine: AsyncEngine) -> SharedReaders:
    """The shared readers of a migrated SQLite file, both connections open (the engine,
    and the readers with it, are disposed by ``sqlite_engine``)."""
    reads = shared_readers(sqlite_engine)
    assert reads is not None
    for _ in range(2):
        await reads.fetch("SELECT 0", ())  # both shared connections opened
    return reads


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each function sent to an aiosqlite connection's thread, in order."""
    sent: list[str] = []
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(fn.__name__)
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return sent


async def test_reads_asked_in_one_turn_share_a_trip_each_with_its_own_answer(
    opened_readers: SharedReaders, trips: list[str]
) -> None:
    reads = opened_readers
    asked = [reads.fetch("SELECT ?", (i,)) for i in range(10)]
    asked.insert(5, reads.fetch("SELECT * FROM no_such_table", ()))
    answers = await asyncio.gather(*asked, return_exceptions=True)
    assert trips == ["_read_all"]  # eleven reads, one trip to a reader's thread
    assert [a for a in answers if not isinstance(a, Exception)] == [[(i,)] for i in range(10)]
    # A read that fails fails alone, its own caller's.
    assert isinstance(answers[5], sqlite3.OperationalError)


async def test_a_trip_whose_carrier_goes_away_releases_the_reads_it_carried(
    opened_readers: SharedReaders,
) -> None:
    reads = opened_readers
    slow = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
        "SELECT count(*) FROM n"
    )
    carrier = asyncio.create_task(reads.fetch(slow, ()))
    follower = asyncio.create_task(reads.fetch("SELECT 2", ()))
    await asyncio.sleep(0.05)  # the trip is on the reader's thread
    carrier.cancel()
    with pytest.raises(ConnectionError):  # released with an error, not left hanging
        await asyncio.wait_for(follower, timeout=10)
    assert carrier.cancelled()
    assert await reads.fetch("SELECT 3", ()) == [(3,)]  # and the readers serve on


async def test_a_carrier_gone_before_its_trip_releases_the_reads_that_joined_it(
    opened_readers: SharedReaders,
) -> None:
    reads = opened_readers
    carrier = asyncio.create_task(reads.fetch("SELECT 1", ()))
    follower = asyncio.create_task(reads.fetch("SELECT 2", ()))
    await asyncio.sleep(0)  # the carrier waits for its turn to end, the follower joined
    carrier.cancel()
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(follower, timeout=10)
    assert await reads.fetch("SELECT 3", ()) == [(3,)]


async def test_a_point_read_that_finds_the_database_locked_waits_off_the_loop(
    tmp_path: Path, trips: list[str]
) -> None:
    """While another process holds the database (here a connection in exclusive locking
    mode, in the middle of a write), the loop's connection is told busy at once and the
    read goes to a reader's thread, which waits for the lock: the loop turns meanwhile, and
    the read answers, with the write, once the lock is released."""
    path = tmp_path / "locked.sqlite3"
    engine = make_engine(await migrated_sqlite(path))
    reads = shared_readers(engine)
    assert reads is not None
    locked, release = threading.Event(), threading.Event()

    def hold_the_database() -> None:
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("PRAGMA locking_mode=EXCLUSIVE")
            holder.execute("BEGIN EXCLUSIVE")
            holder.execute("CREATE TABLE scratch (x INTEGER PRIMARY KEY)")
            holder.execute("INSERT INTO scratch (x) VALUES (7)")
            locked.set()
            release.wait(timeout=10)
            holder.execute("COMMIT")
        finally:
            holder.close()

    holding = asyncio.create_task(asyncio.to_thread(hold_the_database))
    try:
        assert await asyncio.to_thread(locked.wait, 10)
        read = asyncio.create_task(reads.fetch_point("SELECT x FROM scratch WHERE x = 7", ()))
        loop = asyncio.get_running_loop()
        began, turns = loop.time(), 0
        while turns < 5:
            await asyncio.sleep(0.01)
            turns += 1
        # Not a speed figure: a loop held by the read would turn only once the lock's
        # wait (the readers' busy_timeout, 5 s) ran out.
        assert loop.time() - began < 2.5
        assert not read.done() and "_read_all" in trips  # waiting on a reader's thread
        release.set()
        assert await asyncio.wait_for(read, timeout=10) == [(7,)]
    finally:
        release.set()
        await holding
        await engine.dispose()


async def test_postgresql_and_in_memory_sqlite_have_no_shared_readers(
    engine: AsyncEngine,
) -> None:
    assert (shared_readers(engine) is not None) == _is_sqlite_file(engine)
    memory = make_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert shared_readers(memory) is None
    finally:
        await memory.dispose()


@pytest.fixture
async def postgres_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine("postgresql", tmp_path) as engine:
        yield engine


async def test_read_only_units_of_work_on_postgresql_send_no_begin(
    postgres_engine: AsyncEngine,
) -> None:
    """On PostgreSQL a read-only unit of work (introspection, a secret check) runs each
    statement as its own transaction (autocommit: no BEGIN, no ROLLBACK round trips);
    a unit of work that may write keeps one transaction. Seen through ``now()``, which is
    the time its transaction began."""
    engine = postgres_engine
    instants = []
    for read_only in (True, False):
        async with SqlUnitOfWork(engine, read_only=read_only) as u:
            first = await u.conn.scalar(text("SELECT now()"))
            await asyncio.sleep(0.02)
            second = await u.conn.scalar(text("SELECT now()"))
        instants.append((first, second))
    (alone_1, alone_2), (together_1, together_2) = instants
    assert alone_2 > alone_1
    assert together_2 == together_1
