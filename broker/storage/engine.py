"""Engine construction for the two supported stores.

SQLite (embedded default): one connection per process. SQLite serialises writers anyway,
and a single connection means a transaction never meets ``database is locked`` halfway
through; WAL keeps readers of other processes (``aiguillage ledger verify``) unblocked.
Never open a unit of work inside another one on SQLite: it would wait for itself.

``synchronous`` (``AIGUILLAGE_SQLITE_SYNCHRONOUS``, docs/operations.md): ``full`` by default,
each commit syncs the WAL to disk, so an answered transfer's ledger entry survives a power
cut. ``normal`` syncs only at checkpoints (still safe against a crash of the process, since
the WAL is written before the commit returns), trading the last commits before a power
cut or a kernel panic for one ``fsync`` less per commit.

No-op ends of transactions are not sent (``_skip_idle_ends``): Python's ``sqlite3`` opens a
transaction only before a write, so a unit of work that only read, or that has just
committed, has nothing to commit or roll back; ``sqlite3`` would do nothing, but through
aiosqlite each ``COMMIT``/``ROLLBACK`` is still a trip to the driver's thread while the one
connection is held (one of an introspection's two trips). The check is the driver's own
``in_transaction`` (``sqlite3_get_autocommit``), so a transaction that did write is always
ended as before.

Readers (``SqliteEngine.readers``, ``reading_engine``): a file database also gets a small
pool of read-only connections (``PRAGMA query_only=ON``) for strictly read-only units of
work (``broker.unit.read_only_unit_of_work``: introspection, ``client_secret_basic``
checks), so that they read beside the writer, as WAL allows, instead of queueing behind
it. Nothing is cached and no snapshot outlives a statement: ``sqlite3`` begins a
transaction only before a write, which these connections cannot make, so each ``SELECT``
is its own read transaction and sees every transaction committed before it started — a
revocation committed by the writer is seen by the next read. An in-memory database has
no readers (another connection would be another database). Lookups by a unique key on the
hottest paths (``SharedReaders.fetch_point``: a client and its token, a transfer's token
and grant) are read on the event loop's own connection, which never waits for a lock and
hands a busy read to a reader.

Every SQLAlchemy statement on SQLite makes one trip to aiosqlite's thread instead of four
(``broker.storage.sqlite_driver``).

PostgreSQL (production, several instances): a normal pool.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import aiosqlite
from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from broker.storage.checked_writes import CheckedWrites
from broker.storage.pg_liveness import ping_when_idle
from broker.storage.sqlite_driver import one_trip_dbapi, run_on_driver_thread
from broker.storage.wal_sync import WalSync


def listen_all(
    engine: AsyncEngine, listeners: list[tuple[str, Callable[..., None]]]
) -> Callable[[], None]:
    """Attach SQLAlchemy event listeners to ``engine``; the function returned detaches them."""
    for name, listener in listeners:
        event.listen(engine.sync_engine, name, listener)

    def stop() -> None:
        for name, listener in listeners:
            event.remove(engine.sync_engine, name, listener)

    return stop


def forgetting(key: str) -> Callable[..., None]:
    """A ``rollback`` / ``engine_connect`` listener that drops what a transaction had put
    under ``key`` in its connection's ``info`` (work kept for its commit)."""

    def forget(conn: Connection, *_args: Any) -> None:
        # An invalidated connection (the database went away mid-transaction) has lost its
        # pending work with its DBAPI connection; reading its ``info`` would raise.
        if not conn.invalidated:
            conn.info.pop(key, None)

    return forget


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


SYNCHRONOUS = ("full", "normal")


# Read-only SQLite connections per process, opened on first use.
SQLITE_READERS = 3


class SqliteEngine(AsyncEngine):
    """The one writer connection's engine, carrying its read-only ``readers``, its
    ``shared`` statement readers (``SharedReaders``), the token endpoint's group
    commit (``checked``) and the syncs of its WAL (``wal``, ``broker.storage.wal_sync``);
    disposing it disposes the first two and the last with it."""

    readers: AsyncEngine
    shared: SharedReaders
    checked: CheckedWrites
    wal: WalSync

    async def dispose(self, close: bool = True) -> None:
        try:
            await self.wal.close()
            await self.shared.close()
            await self.readers.dispose(close)
        finally:
            await super().dispose(close)


# The reads of one trip: each query, its parameters, and the future of its caller (None for
# the caller who carries the trip).
Gathered = list[tuple[str, Any, "asyncio.Future[list[Any]] | None"]]


class SharedReaders:
    """Read-only aiosqlite connections for hot single-statement reads (introspection),
    shared by every coroutine instead of checked out of a pool.

    Sharing is safe because each read is one call on a connection's own thread (execute
    and fetch together) and no transaction is ever open on these connections
    (``query_only``; ``sqlite3`` begins one only before a write): every ``SELECT`` is its
    own read transaction and sees every commit made before it started, exactly as on the
    pool's readers. What is saved is the checkout and SQLAlchemy's unit of work around a
    statement (about 0.17 ms of the event loop per introspection, docs/performance.md)."""

    def __init__(self, path: str, count: int = 2) -> None:
        self._path = path
        self._count = count
        self._connections: list[aiosqlite.Connection] = []
        self._on_loop: sqlite3.Connection | None = None
        self._opening = asyncio.Lock()
        self._turn = 0
        self._closed = False
        # The reads of the trip being gathered (the first one's caller carries them).
        self._gathering: Gathered | None = None

    async def fetch(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
        """The rows of one ``SELECT``, read after this call began.

        Reads asked for in the same turn of the event loop go to a reader's thread
        together, in one trip (the first of them carries the others): a trip costs the
        loop and the thread about 50 µs each way in futures, wake-ups and the GIL, ten
        times the read itself. Each read is still its own statement, run after it was
        asked for, so it sees every commit made before."""
        if not self._opened():
            await self._open_next()
        loop = asyncio.get_running_loop()
        if self._gathering is not None:  # a trip is being gathered: go with it
            future: asyncio.Future[list[Any]] = loop.create_future()
            self._gathering.append((sql, parameters, future))
            return await future
        gathered: Gathered = [(sql, parameters, None)]
        self._gathering = gathered
        try:
            await asyncio.sleep(0)  # the reads asked for in this turn join
        except BaseException as error:  # this caller went away before the trip
            self._gathering = None
            _settle_all(gathered, error)
            raise
        self._gathering = None
        connection = self._connections[self._turn % self._count]
        self._turn += 1
        queries = [(query, values) for query, values, _ in gathered]
        try:
            results = await run_on_driver_thread(connection, _read_all, queries)
        except BaseException as error:  # the trip failed or this caller went away
            _settle_all(gathered, error)
            raise
        for (_, _, waiting), result in zip(gathered[1:], results[1:], strict=True):
            if waiting is not None and not waiting.done():
                if isinstance(result, Exception):
                    waiting.set_exception(result)
                else:
                    waiting.set_result(result)
        mine = results[0]
        if isinstance(mine, Exception):
            raise mine
        return list(mine)

    async def fetch_point(
        self, sql: str, parameters: Sequence[Any] | Mapping[str, Any]
    ) -> list[Any]:
        """``fetch`` for a lookup by a unique key, read on the event loop's own thread.

        Such a read costs SQLite a few microseconds on pages the OS already holds, while
        the trip to a reader's thread costs the loop and the thread about 50 µs
        (docs/performance.md, round eight): for introspection that trip was a quarter of
        the request. The connection waits for no lock (``busy_timeout=0``): when SQLite
        answers busy (in WAL mode: another connection holds the database exclusively, a
        crashed writer's log is being recovered, a reader races a log restart), the read
        goes to a reader's thread, which waits, instead of holding the loop. Only point
        lookups may come here: a scan would hold every request of the instance for its
        whole length."""
        if self._closed:
            raise ValueError("the shared readers are closed")
        connection = self._on_loop or self._open_on_loop()
        try:
            return connection.execute(sql, parameters).fetchall()
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode not in _BUSY:
                raise
        return await self.fetch(sql, parameters)

    def _open_on_loop(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None)
        connection.execute("PRAGMA query_only=ON")
        connection.execute("PRAGMA busy_timeout=0")
        self._on_loop = connection
        return connection

    def _opened(self) -> bool:
        return len(self._connections) == self._count

    async def _open_next(self) -> aiosqlite.Connection:
        async with self._opening:
            if self._closed:  # disposed with its engine: never reopened behind its back
                raise ValueError("the shared readers are closed")
            if not self._opened():
                pending = aiosqlite.connect(self._path)
                # As SQLAlchemy does for its own: a reader left open must not keep the
                # interpreter from exiting (before aiosqlite 0.22 the connection was
                # itself the thread).
                thread = pending if isinstance(pending, threading.Thread) else pending._thread
                thread.daemon = True
                connection = await pending
                await connection.execute("PRAGMA query_only=ON")
                await connection.execute("PRAGMA busy_timeout=5000")
                self._connections.append(connection)
            return self._connections[self._turn % len(self._connections)]

    async def close(self) -> None:
        async with self._opening:
            self._closed = True
            if self._on_loop is not None:
                self._on_loop.close()
                self._on_loop = None
            connections, self._connections = self._connections, []
            for connection in connections:
                await connection.close()


# SQLITE_BUSY and SQLITE_LOCKED, with their extended codes (the low byte is the primary).
_BUSY = frozenset(
    code
    for name in dir(sqlite3)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
    and isinstance(code := getattr(sqlite3, name), int)
)


def _read_all(connection: sqlite3.Connection, queries: list[tuple[str, Any]]) -> list[Any]:
    """On a reader's thread: each query's rows, or the error it raised."""
    results: list[Any] = []
    for sql, parameters in queries:
        try:
            results.append(connection.execute(sql, parameters).fetchall())
        except Exception as error:  # its own caller gets it; the others still get theirs
            results.append(error)
    return results


def _settle_all(gathered: Gathered, error: BaseException) -> None:
    """The followers of a trip that failed or whose carrier went away get an error."""
    for _, _, waiting in gathered[1:]:
        if waiting is not None and not waiting.done():
            if isinstance(error, Exception):
                waiting.set_exception(error)
            else:
                waiting.set_exception(ConnectionError("the shared read was abandoned"))


def shared_readers(engine: AsyncEngine) -> SharedReaders | None:
    """The ``SharedReaders`` of a SQLite file database; None elsewhere (PostgreSQL, an
    in-memory SQLite), where the caller reads through a unit of work as usual."""
    return engine.shared if isinstance(engine, SqliteEngine) else None


def checked_writes(engine: AsyncEngine) -> CheckedWrites:
    """The group commit of a SQLite file database's checked writes; only the paths that
    found ``shared_readers`` come here."""
    if not isinstance(engine, SqliteEngine):
        raise TypeError("checked writes are for a SQLite file database")
    return engine.checked


def wal_sync(engine: AsyncEngine) -> WalSync | None:
    """The WAL syncs of a SQLite file database; None elsewhere (PostgreSQL, an in-memory
    SQLite), where a transfer's ledger entry is written before its answer is finished."""
    return engine.wal if isinstance(engine, SqliteEngine) else None


def reading_engine(engine: AsyncEngine) -> AsyncEngine:
    """Where read-only units of work go: the readers of a SQLite file database, otherwise
    ``engine`` itself (PostgreSQL's pool, an in-memory SQLite)."""
    return engine.readers if isinstance(engine, SqliteEngine) else engine


def _in_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or "mode=memory" in url


def make_engine(
    url: str,
    *,
    synchronous: Literal["full", "normal"] = "full",
    alive_window: float | None = None,
) -> AsyncEngine:
    """The engine of ``url``. ``synchronous``: SQLite's PRAGMA; ``alive_window``: how long
    a pooled PostgreSQL connection may sit idle before it is pinged (None: the default of
    ``broker.storage.pg_liveness``)."""
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}")
    if is_sqlite(url):
        engine = create_async_engine(
            url,
            module=one_trip_dbapi(),
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
        )
        if not _in_memory(url):
            engine = _with_readers(engine, url, durable=synchronous == "full")

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
            cursor.close()

        _skip_idle_ends(engine)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=10)
    # Instead of pool_pre_ping's three round trips per checkout.
    ping_when_idle(engine, alive_window)
    return engine


def in_sqlite_transaction(dbapi_connection: Any) -> bool:
    """Whether the SQLite connection under ``dbapi_connection`` (SQLAlchemy's adapted
    connection or the pool's proxy of it) has a transaction open. A closed or unknown one
    counts as open, so that SQLAlchemy's own handling runs."""
    try:
        return bool(dbapi_connection.driver_connection.in_transaction)
    except (AttributeError, ValueError):
        return True


def _skip_idle_ends(engine: AsyncEngine) -> None:
    """Make the engine's dialect skip ``COMMIT``/``ROLLBACK`` when ``sqlite3`` has no
    transaction open (it would do nothing with them but cost a thread trip)."""
    dialect: Dialect = engine.sync_engine.dialect
    rollback, commit = dialect.do_rollback, dialect.do_commit

    def do_rollback(dbapi_connection: Any) -> None:
        if in_sqlite_transaction(dbapi_connection):
            rollback(dbapi_connection)

    def do_commit(dbapi_connection: Any) -> None:
        if in_sqlite_transaction(dbapi_connection):
            commit(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
    dialect.do_commit = do_commit  # type: ignore[method-assign]


def _with_readers(writer: AsyncEngine, url: str, *, durable: bool) -> SqliteEngine:
    engine = SqliteEngine(writer.sync_engine)
    readers = create_async_engine(
        url,
        module=one_trip_dbapi(),
        poolclass=AsyncAdaptedQueuePool,
        pool_size=SQLITE_READERS,
        max_overflow=0,
        pool_timeout=60,
    )

    @event.listens_for(readers.sync_engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    _skip_idle_ends(readers)
    engine.readers = readers
    database = make_url(url).database
    assert database is not None  # a file database (``_in_memory`` is false)
    engine.shared = SharedReaders(database)
    engine.checked = CheckedWrites(engine)
    engine.wal = WalSync(database, enabled=durable)
    return engine
