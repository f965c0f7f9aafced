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

PostgreSQL (production, several instances): a normal pool.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


SYNCHRONOUS = ("full", "normal")


def make_engine(url: str, *, synchronous: Literal["full", "normal"] = "full") -> AsyncEngine:
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}")
    if is_sqlite(url):
        engine = create_async_engine(
            url, poolclass=AsyncAdaptedQueuePool, pool_size=1, max_overflow=0, pool_timeout=60
        )

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
