"""Per holder and service transfer counters (``transfer_counters``), shared by every broker
instance through the database.

Each row is one fixed window (``s:<epoch>``, ``h:<epoch>``, ``d:<date>``). Increments are
single ``INSERT … ON CONFLICT DO UPDATE … WHERE count < limit RETURNING`` statements, so
two instances racing for the last slot of a window cannot both get it: the database decides.

``take_pair`` admits a data request in one statement (the hot path): both request windows
are counted in one upsert whose ``WHERE`` re-checks each row's own limit on the row it has
locked, and only if the day's bytes (read, not locked: the group-committed ledger batches
add to that row) are below the day's limit. It says which windows it counted; the caller
gives back the other on a refusal and asks ``bytes_in`` which limit it was.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.storage.pg_statements import PgStatement, driver_errors, pg_driver
from broker.storage.sqlite_driver import AlsoWrite, commit_unsynced, run_on_driver_thread
from broker.storage.tables import transfer_counters as counters
from broker.storage.tokens import sqlite_driver

# The same text on SQLite (3.35+, for RETURNING) and PostgreSQL. SQLite needs the WHERE on
# the SELECT of an INSERT … SELECT … ON CONFLICT (its parsing ambiguity); it is there.
_TAKE_PAIR = text(
    """
    INSERT INTO transfer_counters (holder, service, "window", count, bytes)
    SELECT CAST(:holder AS VARCHAR(64)), CAST(:service AS VARCHAR(64)), w.name, 1, 0
    FROM (
        SELECT CAST(:first AS VARCHAR(16)) AS name
        UNION ALL SELECT CAST(:second AS VARCHAR(16))
    ) AS w
    WHERE COALESCE(
        (SELECT d.bytes FROM transfer_counters AS d
         WHERE d.holder = :holder AND d.service = :service AND d."window" = :day),
        0
    ) < CAST(:day_limit AS BIGINT)
    ON CONFLICT (holder, service, "window") DO UPDATE
    SET count = transfer_counters.count + 1
    WHERE transfer_counters.count < CASE
        WHEN transfer_counters."window" = :first THEN CAST(:first_limit AS BIGINT)
        ELSE CAST(:second_limit AS BIGINT)
    END
    RETURNING "window"
    """
)


# PostgreSQL, a data request's admission outside a transaction: the same statement, its own
# transaction, which it tells not to wait for the WAL flush at commit (``set_config(…, true)``
# lasts until that transaction's end: the statement's own; nothing leaks to the session).
_PG_TAKE_PAIR = PgStatement(_TAKE_PAIR)
_RELAXED = ") AS w, (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed\n"
_PG_TAKE_PAIR_UNSYNCED = PgStatement(
    _TAKE_PAIR, sql=_PG_TAKE_PAIR.sql.replace(") AS w\n", _RELAXED)
)
assert _RELAXED in _PG_TAKE_PAIR_UNSYNCED.sql
_PG_GIVE_BACK = """
    UPDATE transfer_counters SET count = count - 1
    WHERE holder = $1 AND service = $2 AND "window" = $3 AND count > 0
"""


SQLITE_ADD_BYTES = """
    INSERT INTO transfer_counters (holder, service, "window", count, bytes)
    VALUES (:holder, :service, :window, :transfers, :amount)
    ON CONFLICT (holder, service, "window") DO UPDATE
    SET count = transfer_counters.count + :transfers, bytes = transfer_counters.bytes + :amount
"""


_SQLITE_GIVE_BACK = """
    UPDATE transfer_counters SET count = count - 1
    WHERE holder = :holder AND service = :service AND "window" = :window AND count > 0
"""


def _pair_values(
    holder: str,
    service: str,
    windows: tuple[tuple[str, int], tuple[str, int]],
    day: tuple[str, int],
) -> dict[str, Any]:
    (first, first_limit), (second, second_limit) = windows
    day_key, day_limit = day
    return {
        "holder": holder,
        "service": service,
        "first": first,
        "second": second,
        "first_limit": first_limit,
        "second_limit": second_limit,
        "day": day_key,
        "day_limit": day_limit,
    }


async def take_pair_on_writer(
    engine: AsyncEngine,
    holder: str,
    service: str,
    windows: tuple[tuple[str, int], tuple[str, int]],
    day: tuple[str, int],
    also: AlsoWrite | None = None,
) -> set[str]:
    """``SqlCounters.take_pair(durable=False)`` on a SQLite engine's writer connection,
    checked out of the pool bare: a data request's admission needs none of SQLAlchemy's
    statement machinery, and its ``Connection`` cost the event loop about 0.35 ms at
    concurrency 1 to open and close (docs/performance.md, round ten). ``also``: more
    writes in the count's transaction, given its rows (``broker.data.open_transfers``)."""
    raw = await engine.raw_connection()
    try:
        rows = await run_on_driver_thread(
            raw.driver_connection,
            commit_unsynced,
            _TAKE_PAIR.text,
            _pair_values(holder, service, windows, day),
            also,
        )
    finally:
        raw.close()
    return {str(row[0]) for row in rows}


class SqlCounters:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def _insert(self) -> Any:
        if self._conn.dialect.name == "postgresql":
            return postgresql.insert(counters)
        return sqlite.insert(counters)

    async def take(self, holder: str, service: str, window: str, limit: int) -> bool:
        """Count one request in ``window`` if fewer than ``limit`` were counted; say if it was."""
        statement = (
            self._insert()
            .values(holder=holder, service=service, window=window, count=1, bytes=0)
            .on_conflict_do_update(
                index_elements=[counters.c.holder, counters.c.service, counters.c.window],
                set_={"count": counters.c.count + 1},
                where=counters.c.count < limit,
            )
            .returning(counters.c.count)
        )
        return (await self._conn.execute(statement)).first() is not None

    async def take_pair(
        self,
        holder: str,
        service: str,
        windows: tuple[tuple[str, int], tuple[str, int]],
        day: tuple[str, int],
        *,
        durable: bool = True,
    ) -> set[str]:
        """Count one request in both ``(window, limit)`` if the day window ``day`` has fewer
        bytes than its limit; each window is counted only if below its own limit. Return the
        windows counted (empty when the day's bytes are used up).

        ``durable=False`` (a data request's admission): outside a transaction, the count
        is committed at once without waiting for the disk: on SQLite by
        ``broker.storage.sqlite_driver.commit_unsynced``, on PostgreSQL as one statement
        on asyncpg (``_PG_TAKE_PAIR_UNSYNCED``). Inside one (PostgreSQL), it joins it and
        the caller's ``uow.commit(durable=False)`` relaxes that commit."""
        values = _pair_values(holder, service, windows, day)
        driver = await sqlite_driver(self._conn)
        if driver is not None:
            # One trip to aiosqlite's thread instead of SQLAlchemy's four (cursor, execute,
            # fetch, close), on the unit of work's own connection and transaction.
            if durable:
                rows = await driver.execute_fetchall(_TAKE_PAIR.text, values)
            else:
                rows = await run_on_driver_thread(driver, commit_unsynced, _TAKE_PAIR.text, values)
        elif not durable and not (await pg_driver(self._conn)).is_in_transaction():
            rows = await _PG_TAKE_PAIR_UNSYNCED.fetch(self._conn, **values)
        else:
            rows = (await self._conn.execute(_TAKE_PAIR, values)).all()
        return {str(row[0]) for row in rows}

    async def give_back(
        self, holder: str, service: str, window: str, *, durable: bool = True
    ) -> None:
        """Undo a ``take`` whose request was refused by another window (``durable`` as
        the ``take_pair`` it undoes: on SQLite an unsynced count is given back the same
        way, at once, so that the refusal leaves nothing behind whatever comes next)."""
        driver = None if durable else await sqlite_driver(self._conn)
        if driver is not None:
            values = {"holder": holder, "service": service, "window": window}
            await run_on_driver_thread(driver, commit_unsynced, _SQLITE_GIVE_BACK, values)
            return
        if not durable and self._conn.dialect.name == "postgresql":
            pg = await pg_driver(self._conn)
            if not pg.is_in_transaction():  # the take committed on its own: so does this
                async with driver_errors(self._conn, _PG_GIVE_BACK):
                    await pg.execute(_PG_GIVE_BACK, holder, service, window)
                return
        await self._conn.execute(
            update(counters)
            .where(
                counters.c.holder == holder,
                counters.c.service == service,
                counters.c.window == window,
                counters.c.count > 0,
            )
            .values(count=counters.c.count - 1)
        )

    async def bytes_in(self, holder: str, service: str, window: str) -> int:
        value = await self._conn.scalar(
            select(counters.c.bytes).where(
                counters.c.holder == holder,
                counters.c.service == service,
                counters.c.window == window,
            )
        )
        return int(value or 0)
