"""Group commit for the token endpoint's checked writes on SQLite.

A token response (a code exchange, a refresh) is checked before SQLite's one writer
connection is taken and written in one trip that confirms what was checked
(``sqlite_driver.write_if_unchanged``). Each such trip still ended in its own commit, so
its own sync to disk, and its own hand-over of the writer between the event loop and the
driver's thread: at concurrency 16 those, not the CPU, set how many tokens an instance
issued (docs/performance.md, round nine). Here the writes that arrive while one batch is
being written make up the next batch: one trip, one transaction, one commit.

* **Each write is judged alone.** Every write runs inside a savepoint of its own: one
  whose rows differ from what was checked is rolled back to its savepoint and answered
  False, one that fails is rolled back alone and gets its error; the others go on. Two
  writes of one batch are applied in their order, as they would be one after the other
  (a code burnt by the first is seen as burnt by the second).
* **Nothing is answered before it is durable.** A write's caller gets its answer once the
  batch's commit has returned; if the commit fails, the whole batch is rolled back and
  every caller in it gets the error.
* **No added wait.** No timer: a batch is written as soon as the previous one is done; at
  concurrency 1 a batch is one write.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.sqlite_driver import (
    Expectation,
    apply_if_unchanged,
    run_on_driver_thread,
    write_if_unchanged,
)

MAX_BATCH = 64

# One write: its expectations, the insert and its parameters.
CheckedWrite = tuple[Sequence[Expectation], str, Sequence[Sequence[Any]]]
# Per write of a batch: True (written), False (its rows differed) or the error it raised.
Outcome = bool | BaseException


class CheckedWrites:
    """The checked writes of one SQLite engine, written in batches (see the module)."""

    def __init__(self, engine: AsyncEngine, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: list[tuple[CheckedWrite, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # for tests: how many transactions were written

    async def write(
        self, expectations: Sequence[Expectation], add_sql: str, add_params: Sequence[Sequence[Any]]
    ) -> bool:
        """``write_if_unchanged`` of these, in the next batch; True once committed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append(((expectations, add_sql, add_params), future))
        if self._task is None or self._task.done():
            # A task, not the caller: a caller that goes away must not take the batch
            # (and the other callers' answers) with it.
            self._task = asyncio.create_task(self._drain(), name="checked-writes")
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            try:
                outcomes = await self._flush([write for write, _ in batch])
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as error:  # every caller of the batch gets it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches += 1
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _flush(self, writes: list[CheckedWrite]) -> list[Outcome]:
        raw = await self._engine.raw_connection()
        try:
            outcomes: list[Outcome] = await run_on_driver_thread(
                raw.driver_connection, write_all, writes
            )
        finally:
            raw.close()
        return outcomes


def write_all(connection: sqlite3.Connection, writes: Sequence[CheckedWrite]) -> list[Outcome]:
    """On the driver's thread: each write in a savepoint of its own, then one commit. A
    batch of one is exactly ``write_if_unchanged``."""
    if len(writes) == 1:
        return [write_if_unchanged(connection, *writes[0])]
    if connection.in_transaction:  # the writer is shared: never commit someone else's work
        raise RuntimeError("checked writes need the writer connection outside a transaction")
    outcomes: list[Outcome] = []
    connection.execute("BEGIN")
    try:
        for expectations, add_sql, add_params in writes:
            connection.execute("SAVEPOINT checked_write")
            outcome: Outcome
            try:
                outcome = apply_if_unchanged(connection, expectations, add_sql, add_params)
            except sqlite3.Error as error:
                outcome = error
            if outcome is not True:
                # An error after which SQLite has rolled back the whole transaction (a full
                # disk, say) leaves no savepoint: this then raises, and every caller of the
                # batch gets the error, none a True for a write that is gone.
                connection.execute("ROLLBACK TO checked_write")
            connection.execute("RELEASE checked_write")
            outcomes.append(outcome)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return outcomes
