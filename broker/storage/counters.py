"""Per holder and service transfer counters (``transfer_counters``), shared by every broker
instance through the database.

Each row is one fixed window (``s:<epoch>``, ``h:<epoch>``, ``d:<date>``). Increments are
single ``INSERT … ON CONFLICT DO UPDATE … WHERE count < limit RETURNING`` statements, so
two instances racing for the last slot of a window cannot both get it: the database decides.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.storage.tables import transfer_counters as counters


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

    async def give_back(self, holder: str, service: str, window: str) -> None:
        """Undo a ``take`` whose request was refused by another window."""
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

    async def add_bytes(self, holder: str, service: str, window: str, amount: int) -> None:
        statement = (
            self._insert()
            .values(holder=holder, service=service, window=window, count=1, bytes=amount)
            .on_conflict_do_update(
                index_elements=[counters.c.holder, counters.c.service, counters.c.window],
                set_={
                    "count": counters.c.count + 1,
                    "bytes": counters.c.bytes + amount,
                },
            )
        )
        await self._conn.execute(statement)

    async def bytes_in(self, holder: str, service: str, window: str) -> int:
        value = await self._conn.scalar(
            select(counters.c.bytes).where(
                counters.c.holder == holder,
                counters.c.service == service,
                counters.c.window == window,
            )
        )
        return int(value or 0)
