"""The unit of work on SQLAlchemy: one connection, one transaction.

``async with uow:`` begins; ``await uow.commit()`` commits; leaving the block without a
commit rolls back, so a failure halfway leaves consents, tokens and the ledger as they
were. It implements ``consent.ports.UnitOfWork`` and carries the broker's own repositories
so that OAuth state changes share the domain's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from broker.gdpr.pseudonyms import PseudonymousLedger
from broker.notices.outbox import SqlOutbox
from broker.storage.consents import SqlConsentRepository
from broker.storage.jobs import SqlJobs
from broker.storage.pg_statements import pg_driver
from broker.storage.registry import SqlHolders, SqlServices
from broker.storage.residents import SqlResidents
from broker.storage.tokens import SqlTokens


def utcnow() -> datetime:
    return datetime.now(UTC)


class SqlUnitOfWork:
    consents: SqlConsentRepository
    ledger: PseudonymousLedger
    tokens: SqlTokens
    residents: SqlResidents
    services: SqlServices
    holders: SqlHolders
    jobs: SqlJobs
    outbox: SqlOutbox
    conn: AsyncConnection

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime] = utcnow,
        *,
        read_only: bool = False,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._read_only = read_only
        self._tx: AsyncTransaction | None = None

    @property
    def now(self) -> datetime:
        """The clock of this unit of work (tests move it to check expiry)."""
        return self._clock()

    async def __aenter__(self) -> SqlUnitOfWork:
        self.conn = await self._engine.connect()
        if self._read_only and self.conn.dialect.name == "postgresql":
            # Nothing to commit: each statement its own transaction, as on SQLite's
            # readers, which saves the BEGIN and the ROLLBACK, two round trips of the
            # three or four an introspection makes (docs/performance.md, round four).
            await self.conn.execution_options(isolation_level="AUTOCOMMIT")
        self._tx = await self.conn.begin()
        now = self._clock()
        self.consents = SqlConsentRepository(self.conn, now)
        self.ledger = PseudonymousLedger(self.conn)
        self.tokens = SqlTokens(self.conn)
        self.residents = SqlResidents(self.conn)
        self.services = SqlServices(self.conn)
        self.holders = SqlHolders(self.conn)
        self.jobs = SqlJobs(self.conn)
        self.outbox = SqlOutbox(self.conn, self.jobs)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                await self._tx.rollback()
        finally:
            await self.conn.close()

    async def commit(self, *, durable: bool = True) -> None:
        """Commit, then start a fresh transaction so the block can go on working.

        ``durable=False`` is for transactions whose writes may be lost in a power cut
        without harm (a data request's contract counters): on PostgreSQL the commit then
        does not wait for the WAL flush (``synchronous_commit = off`` for this transaction
        only; a crash can lose it, never corrupt anything). A transaction that appended to
        the ledger is always committed durably, whatever the caller says. On SQLite the
        counters commit themselves without waiting for the disk
        (``broker.storage.counters``), since SQLite cannot relax a transaction already
        open."""
        assert self._tx is not None
        # Statements sent on asyncpg directly outside a transaction have committed on their
        # own (broker.storage.pg_statements): then there is nothing to relax.
        if (
            not durable
            and not self.ledger.appended
            and self.conn.dialect.name == "postgresql"
            and (await pg_driver(self.conn)).is_in_transaction()
        ):
            await self.conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        await self._tx.commit()
        self.ledger.appended = False
        self._tx = await self.conn.begin()
