"""Group commit of the data plane's ledger entries (docs/performance.md, "What was changed").

Every transfer ends with a ledger entry and a bytes count (``broker.data.relay``). Writing
each in its own transaction costs a head lock, an ``fsync`` (SQLite) and a hold of the
connection per transfer. Instead, one appender per process collects the entries of the
transfers that are finishing and writes them together: one transaction, one head lock,
one head update, one commit.

* **Nothing answered goes unrecorded.** ``append`` returns only once the transaction
  holding the entry has committed; where transfers are not opened (PostgreSQL) the relay
  finishes the answer after that. On SQLite the transfer was opened durably before its
  answer was finished (``broker.data.open_transfers``): its entry is ``submit``-ted
  without waiting, and the batch that writes it deletes the opening. A batch whose
  entries are all so covered commits without waiting for the disk: a power cut that took
  it would take the openings' deletion with it, and the openings would be recorded as
  ``broker_stopped`` at the next start. A crash loses no transfer that was answered.
* **No half writes.** A batch is one transaction. If it fails, it is rolled back whole and
  every transfer waiting on it gets the error, as each would have had on its own.
* **One chain across instances.** The batch locks the ledger head row like any append
  (``SqlLedger.batch``), so batches from several instances on PostgreSQL queue on that
  lock and chain in one line.
* **No added wait.** There is no timer: the flusher writes whatever is queued as soon as it
  is free. At concurrency 1 a batch is one entry; under load the entries that arrive while
  one batch commits make up the next one.

Counters (``transfer_counters``, bytes per day) are summed per holder, service and day
within a batch and written first, in a fixed order, before the head lock: the order every
writer takes them in, so two instances' batches cannot deadlock.

On SQLite the whole batch is one trip to the driver's thread (``broker.data.sqlite_batch``);
on PostgreSQL it is sent on asyncpg directly (``broker.data.postgres_batch``). Either way the
entries are reported to the ledger's watchers once committed (``ledger_committed``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.data import open_transfers, postgres_batch, sqlite_batch
from broker.keys import ENGINE
from broker.ops.ledger_watch import ledger_committed
from broker.quota import day_window
from broker.storage.engine import wal_sync
from broker.storage.pg_statements import driver_errors, pg_driver
from broker.storage.sqlite_driver import run_on_driver_thread
from consent.ledger import LedgerEvent
from consent.usecases import transfer_event

log = structlog.get_logger(__name__)

MAX_BATCH = 256
# How long entries nobody waits for may be held for the next admission (``_hold``).
HOLD_SECONDS = 0.005


@dataclass(frozen=True)
class PendingEntry:
    """One transfer's ledger entry and the bytes it adds to the day's count."""

    event: LedgerEvent
    at: datetime
    holder: str
    service: str
    bytes_sent: int
    # The transfer's opening (``broker.data.open_transfers``), deleted with the entry's
    # writing; None where none was made (PostgreSQL, an in-memory SQLite).
    opened: str | None = None
    # The opening is known to be durable: if a power cut took this entry's transaction,
    # the opening would still stand for the transfer (and be recorded at the next start).
    covered: bool = False


class AppenderClosed(RuntimeError):
    pass


def _day_key(entry: PendingEntry) -> tuple[str, str, str]:
    return entry.holder, entry.service, day_window(entry.at)[0]


async def write_batch(engine: AsyncEngine, entries: list[PendingEntry]) -> None:
    """Write ``entries`` in one transaction: counters first, then the ledger in order."""
    totals: dict[tuple[str, str, str], tuple[int, int]] = {}
    for entry in entries:
        if entry.bytes_sent:
            key = _day_key(entry)
            amount, count = totals.get(key, (0, 0))
            totals[key] = (amount + entry.bytes_sent, count + 1)
    ordered = sorted(totals.items())
    events = [(entry.event, entry.at) for entry in entries]
    closing = [entry.opened for entry in entries if entry.opened is not None]
    # A batch of covered entries need not wait for the disk: losing it in a power cut
    # loses the deletion of their openings with it (one transaction), so each transfer
    # is still on record, as ``broker_stopped`` instead of its bytes and records.
    durable = not all(entry.covered for entry in entries)
    if engine.dialect.name == "sqlite":
        # The same steps in one trip to the driver's thread (broker.data.sqlite_batch), on
        # the writer connection checked out of the pool bare: none of SQLAlchemy's
        # statement machinery is used, so its connection object would only cost the loop.
        raw = await engine.raw_connection()
        try:
            written = await run_on_driver_thread(
                raw.driver_connection, sqlite_batch.write_batch, ordered, events, closing, durable
            )
        finally:
            raw.close()
    elif closing:
        raise ValueError("transfers are opened on SQLite only (broker.data.open_transfers)")
    else:
        # PostgreSQL: the same steps on asyncpg directly (broker.data.postgres_batch).
        async with engine.connect() as conn, driver_errors(conn, "ledger batch"):
            written = await postgres_batch.write_batch(await pg_driver(conn), ordered, events)
    ledger_committed(engine, written)


class LedgerAppender:
    def __init__(self, engine: AsyncEngine, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: list[tuple[PendingEntry, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._go = asyncio.Event()  # ends a hold (see ``_hold``)
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # for tests and the bench: how many transactions were written
        self.entries = 0
        # Bytes of the entries queued or being written, per (holder, service, day window):
        # not yet in ``transfer_counters``, but already sent (``unwritten_bytes``).
        self._unwritten: dict[tuple[str, str, str], int] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-appender")

    async def append(self, entry: PendingEntry) -> None:
        """Queue ``entry``; return once it is committed, or raise what made its batch fail.

        If the caller is cancelled meanwhile, the entry is still written."""
        await self._queued(entry)

    def submit(self, entry: PendingEntry) -> None:
        """Queue ``entry`` of a transfer whose opening is durably on record, and return at
        once: if its batch fails (logged, as every batch failure is), the opening stays
        and becomes a ``broker_stopped`` entry at the next start-up."""
        if not entry.covered:
            raise ValueError("only the entry of a transfer opened durably may go unawaited")
        self._queued(entry).add_done_callback(_retrieved)

    def unwritten_bytes(self, holder: str, service: str, day: str) -> int:
        """Bytes sent by this instance's transfers whose entries are queued or being
        written, for that holder, service and day window (``broker.quota.day_window``):
        an admission adds them to the day's count, since the entry of the transfer just
        answered may still be held (``_hold``) when the next request comes."""
        return self._unwritten.get((holder, service, day), 0)

    def writer_used(self) -> None:
        """A data request's admission has just had SQLite's writer: entries held for it
        may take it now (``_hold``)."""
        self._go.set()

    def _queued(self, entry: PendingEntry) -> asyncio.Future[None]:
        if self._closed or self._task is None or self._task.done():
            raise AppenderClosed("the ledger appender is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((entry, future))
        if entry.bytes_sent:
            key = _day_key(entry)
            self._unwritten[key] = self._unwritten.get(key, 0) + entry.bytes_sent
            future.add_done_callback(lambda _: self._written(key, entry.bytes_sent))
        self._wake.set()
        if not entry.covered:  # somebody waits for this one: no hold
            self._go.set()
        return future

    async def close(self) -> None:
        """Write what is queued, then stop."""
        self._closed = True
        self._wake.set()
        self._go.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await task
        finally:
            self._fail_all(AppenderClosed("the ledger appender stopped"))

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self._hold()
                while self._queue:
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                    await self._flush(batch)
                if self._closed:
                    return
        except asyncio.CancelledError:
            self._fail_all(AppenderClosed("the ledger appender was stopped"))
            raise

    def _written(self, key: tuple[str, str, str], amount: int) -> None:
        # Committed (now in the counters) or failed (lost with its batch): not pending.
        left = self._unwritten.get(key, 0) - amount
        if left > 0:
            self._unwritten[key] = left
        else:
            self._unwritten.pop(key, None)

    async def _hold(self) -> None:
        """Let the next admission have SQLite's writer first, when nobody waits.

        A transfer's entry is submitted as its answer ends (``submit``): its service, at
        concurrency 1, sends its next request a moment later, whose contract counters
        need the writer that the entry's batch would hold just then. Entries nobody waits
        for (their openings stand for them) are therefore held until an admission has
        had the writer (``writer_used``), or ``HOLD_SECONDS`` at most, and written while
        that request waits for its holder. An entry somebody waits for, a full batch or
        the appender's closing ends the hold at once."""
        # A wake can find the queue empty (its entries went with the batch just written):
        # nothing to hold then.
        if self._closed or not self._queue or len(self._queue) >= self._max_batch:
            return
        if not all(entry.covered for entry, _ in self._queue):
            return
        self._go.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HOLD_SECONDS):
                await self._go.wait()

    async def _flush(self, batch: list[tuple[PendingEntry, asyncio.Future[None]]]) -> None:
        try:
            await write_batch(self._engine, [entry for entry, _ in batch])
        except asyncio.CancelledError:
            _settle(batch, AppenderClosed("the ledger appender was stopped mid-batch"))
            raise
        except Exception as error:
            log.exception("ledger.batch_failed", entries=len(batch))
            _settle(batch, error)
        else:
            self.batches += 1
            self.entries += len(batch)
            _settle(batch, None)

    def _fail_all(self, error: BaseException) -> None:
        queued, self._queue = self._queue, []
        _settle(queued, error)


Waiters = list[tuple[PendingEntry, asyncio.Future[None]]]


def _retrieved(future: asyncio.Future[None]) -> None:
    # A submitted entry's failure was logged by its batch; nobody awaits it.
    if not future.cancelled():
        future.exception()


def _settle(batch: Waiters, error: BaseException | None) -> None:
    for _, future in batch:
        if future.done():  # its waiter was cancelled; the entry was written all the same
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


LEDGER_APPENDER = web.AppKey("ledger_appender", LedgerAppender)


async def appender_ctx(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``: after the engine opens, before it closes."""
    appender = LedgerAppender(app[ENGINE])
    appender.start()
    app[LEDGER_APPENDER] = appender
    if wal_sync(app[ENGINE]) is not None:
        await _close_leftovers(app[ENGINE], appender)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await appender.close()
        log.info("ledger.appender_stopped", batches=appender.batches, entries=appender.entries)


async def _close_leftovers(engine: AsyncEngine, appender: LedgerAppender) -> None:
    """Put on record the transfers a stopped broker had opened and not recorded
    (``broker.data.open_transfers``), before this one serves anything."""
    found = await open_transfers.leftovers(engine)
    gone = [leftover.opening.id for leftover in found if leftover.consent is None]
    await open_transfers.forget(engine, gone)
    entries = [
        PendingEntry(
            event=transfer_event(
                leftover.consent,
                resource=leftover.opening.resource,
                start=leftover.opening.start,
                end=leftover.opening.end,
                outcome=open_transfers.STOPPED,
                bytes_sent=0,
                records=None,
            ),
            at=leftover.opening.opened_at,
            holder=leftover.consent.holder,
            service=leftover.consent.service,
            bytes_sent=0,
            opened=leftover.opening.id,
        )
        for leftover in found
        if leftover.consent is not None
    ]
    # Together, so that they share batches (each is one transaction with its deletion).
    await asyncio.gather(*(appender.append(entry) for entry in entries))
    if found:
        log.warning("ledger.stopped_transfers_recorded", entries=len(entries), forgotten=len(gone))
