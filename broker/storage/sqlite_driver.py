"""SQLAlchemy's aiosqlite adapter, with one trip to the driver's thread per statement.

aiosqlite runs each ``sqlite3`` call on a thread of its own and hands the answer back to the
event loop (a queue put, a wake-up of the thread, ``call_soon_threadsafe`` and the loop's
self-pipe). SQLAlchemy's adapter makes four such trips per statement: open a cursor,
execute, fetch, close. On this project's hot paths that handing back and forth, not
SQLite, was most of what a statement cost (docs/performance.md, round four): a transfer's
admission and its ledger batch ran about twenty statements.

``OneTripCursor`` does the four steps in one function on the driver's thread and keeps what
SQLAlchemy reads afterwards (rows, ``description``, ``rowcount``, ``lastrowid``). Nothing
else changes: same connection, same transaction handling (``sqlite3`` still opens a
transaction before the first write; SQLAlchemy commits or rolls back), same errors (the
adapter's own ``_handle_exception``), and SQLAlchemy's compiled statements, bind and result
processing. Server-side cursors (``stream_results``) keep the adapter's cursor.

It reaches into aiosqlite's ``Connection._execute`` (queue a function on the connection's
thread) and ``_conn`` (the ``sqlite3`` connection), as SQLAlchemy's own adapter does for its
isolation-level setter; ``tests/integration/test_sqlite_driver.py`` pins that behaviour.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

T = TypeVar("T")

# What one trip brings back: description, rows, rowcount, lastrowid.
_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On the driver's thread: the whole DBAPI cursor lifetime of one statement."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        # Fetching everything also finishes an ``UPDATE … RETURNING``, so that ``rowcount``
        # below is final.
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one trip (see the module)."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No driver cursor is opened here (the adapter's would cost a trip): it lives and
        # dies inside ``_run``.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # the driver's cursor is already closed

    def close(self) -> None:
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def nextset(self) -> None:
        return None

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._send(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._send(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _send(self, operation: str, parameters: Any, *, many: bool) -> None:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            outcome: _Outcome = await driver._execute(
                _run,
                driver._conn,
                operation,
                parameters,
                many,
            )
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    # mypy sees SQLAlchemy's attribute as exactly the adapter's cursor class.
    _cursor_cls = OneTripCursor  # type: ignore[assignment]


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect uses, handing out
    ``OneTripConnection`` s. Given to ``create_async_engine(module=...)``."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    import aiosqlite

    return OneTripDbapi(aiosqlite, sqlite3)


async def run_on_driver_thread(driver: Any, function: Callable[..., T], *args: Any) -> T:
    """``function(sqlite3_connection, *args)`` on the aiosqlite connection ``driver``'s own
    thread, in one trip (see ``broker.data.sqlite_batch``). The caller must hold the
    connection (a checked-out SQLAlchemy connection), as for any statement."""
    result: T = await driver._execute(function, driver._conn, *args)
    return result


# Run inside ``commit_unsynced``'s transaction, after its statement, with that statement's
# rows: more writes that commit (or roll back) with it.
AlsoWrite = Callable[[sqlite3.Connection, list[Any]], None]


def commit_unsynced(
    connection: sqlite3.Connection, sql: str, values: Any, also: AlsoWrite | None = None
) -> list[Any]:
    """On the driver's thread: run one write statement as its own transaction, committed
    without waiting for the disk, and return its rows; inside an open transaction, just
    run it there (it is then committed with that transaction, as that one is).

    In WAL mode a commit under ``synchronous=NORMAL`` is in the WAL before it returns
    (safe against a crash of the process) but not synced; the next commit under ``FULL``
    syncs the WAL file, and with it every frame written before. Only a power cut or a
    kernel panic between the two can lose it. SQLite refuses to change ``synchronous``
    inside a transaction, hence a transaction of its own. Used for a data request's
    contract counters (``SqlCounters.take_pair``) and the transfer's opening (``also``,
    ``broker.data.open_transfers``), which is synced while the holder answers
    (``broker.storage.wal_sync``)."""
    if connection.in_transaction:
        rows = connection.execute(sql, values).fetchall()
        if also is not None:
            also(connection, rows)
        return rows
    with unsynced(connection):
        try:
            rows = connection.execute(sql, values).fetchall()
            if also is not None:
                also(connection, rows)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
    return rows


@contextmanager
def unsynced(connection: sqlite3.Connection, *, when: bool = True) -> Iterator[None]:
    """On the driver's thread, outside a transaction: commits made inside (``when`` is
    true) do not wait for the disk (``synchronous=NORMAL``); the level is put back after.
    SQLite refuses to change it inside a transaction: the caller opens theirs inside."""
    if not when:
        yield
        return
    level = int(connection.execute("PRAGMA synchronous").fetchone()[0])
    connection.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        connection.execute(f"PRAGMA synchronous={level}")


def execute_many_and_commit(connection: sqlite3.Connection, sql: str, rows: list[Any]) -> None:
    """On the driver's thread: one statement for each of ``rows``, then commit the
    transaction they belong to; a failure rolls it all back. One trip where a statement and
    a commit were two, on paths that hold the one writer connection (the token endpoint:
    ``SqlTokens.add_many_and_commit``)."""
    try:
        connection.executemany(sql, rows)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise


# A statement, its parameters, and the rows it must return for the write to go ahead.
Expectation = tuple[str, Sequence[Any], list[tuple[Any, ...]]]


def write_if_unchanged(
    connection: sqlite3.Connection,
    expectations: Sequence[Expectation],
    add_sql: str,
    add_params: Sequence[Sequence[Any]],
) -> bool:
    """On the driver's thread, as one transaction: run each statement of
    ``expectations`` (a write, or a read) and compare its rows, raw as SQLite gives them,
    with the rows expected; if all match, run ``add_sql`` for each of ``add_params`` and
    commit (True); at the first difference roll everything back (False). For a check made
    before the writer was taken, then confirmed under it in the same trip as the write
    (the token endpoint, ``broker.oauth.code_exchange`` and ``broker.oauth.refresh``).
    The transaction is opened first, explicitly: ``sqlite3`` would open it only at the
    first write, leaving a read placed before it outside."""
    if connection.in_transaction:  # the writer is shared: never commit someone else's work
        raise RuntimeError("a checked write needs the writer connection outside a transaction")
    connection.execute("BEGIN")
    try:
        if not apply_if_unchanged(connection, expectations, add_sql, add_params):
            connection.rollback()
            return False
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return True


def apply_if_unchanged(
    connection: sqlite3.Connection,
    expectations: Sequence[Expectation],
    add_sql: str,
    add_params: Sequence[Sequence[Any]],
) -> bool:
    """The statements of ``write_if_unchanged`` inside the caller's transaction, without
    ending it: False as soon as one returns other rows than expected (the caller rolls
    back), True once ``add_sql`` has run."""
    for sql, params, expected in expectations:
        if [tuple(row) for row in connection.execute(sql, params).fetchall()] != expected:
            return False
    connection.executemany(add_sql, add_params)
    return True
