"""PostgreSQL: hot statements on asyncpg directly, as SQLite's run on its driver.

Through SQLAlchemy, each statement on PostgreSQL costs the event loop about 150 – 250 µs
of Python around asyncpg (parameter processing, result objects, the adapter's cursor),
and a unit of work adds a ``BEGIN`` round trip before its first statement. The data plane's
admission makes two statements per transfer; they are compiled here once by SQLAlchemy
(same SQL, same parameter order, same column conversions) and sent on the asyncpg
connection under the caller's SQLAlchemy connection, where asyncpg prepares them once per
connection. Outside a transaction each statement is its own (autocommit); inside one, it
joins it.

SQLAlchemy does not see these statements, so ``driver_errors`` does what it would do with
their errors: raise them as its ``OperationalError`` (a ``DBAPIError``: the service gets a
503, as from any other statement) and, if the connection died, invalidate it so the pool
never hands it out again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import Select

_PG = asyncpg_dialect()  # type: ignore[no-untyped-call]


async def pg_driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (checked out)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


@asynccontextmanager
async def driver_errors(conn: AsyncConnection, what: str) -> AsyncIterator[None]:
    """Errors of asyncpg used directly under ``conn``, as SQLAlchemy would surface them."""
    try:
        yield
    except asyncpg.InternalClientError as error:
        # The connection's protocol is in no state to go on (seen on a connection whose
        # server process was terminated while it sat in the pool).
        await conn.invalidate()
        raise OperationalError(what, None, error) from error
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
        if (await pg_driver(conn)).is_closed():
            await conn.invalidate()
        raise OperationalError(what, None, error) from error


class PgStatement:
    """A SQLAlchemy statement compiled for asyncpg once, with SQLAlchemy's own bind and
    result conversions (``UtcDateTime``; JSON is decoded by the codec SQLAlchemy installs
    on every connection)."""

    def __init__(self, statement: Select[Any] | TextClause, sql: str | None = None) -> None:
        compiled = statement.compile(dialect=_PG)
        self.sql = str(compiled) if sql is None else sql
        binds = compiled.binds
        self._binds: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, binds[name].type.dialect_impl(_PG).bind_processor(_PG))
            for name in compiled.positiontup or []
        ]
        columns = list(statement.exported_columns) if isinstance(statement, Select) else []
        self.keys = tuple(str(column.key) for column in columns)
        self._results = [
            column.type.dialect_impl(_PG).result_processor(_PG, None) for column in columns
        ]

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        return [
            values[name] if convert is None else convert(values[name])
            for name, convert in self._binds
        ]

    async def fetch(self, conn: AsyncConnection, **values: Any) -> list[Any]:
        """The rows as asyncpg returns them (for statements without result columns)."""
        async with driver_errors(conn, self.sql):
            rows: list[Any] = await (await pg_driver(conn)).fetch(self.sql, *self.params(values))
        return rows

    async def rows(self, conn: AsyncConnection, **values: Any) -> list[dict[str, Any]]:
        """The rows as SQLAlchemy would return them, as dicts keyed by column key."""
        fetched = await self.fetch(conn, **values)
        return [
            {
                key: value if convert is None or value is None else convert(value)
                for key, convert, value in zip(self.keys, self._results, row, strict=True)
            }
            for row in fetched
        ]
