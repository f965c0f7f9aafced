"""Making SQLite's unsynced commits durable later, off the event loop, many at a time.

A commit under ``synchronous=NORMAL`` in WAL mode is in the WAL file (the OS holds it, so
it survives the process) but not yet synced: a power cut or a kernel panic can lose it.
``fsync`` of the WAL file makes it durable, together with every frame written before it:
``fsync`` works on the file, whichever descriptor names it, and SQLite's recovery replays
the WAL's committed transactions up to the first frame that is not whole. The WAL is never
replaced while the broker holds its connections open; a checkpoint under ``NORMAL`` syncs
the WAL before copying it into the database and the database before the WAL is reused,
so a commit that a checkpoint has moved is durable in the database file.

The data plane uses this for a transfer's opening (``broker.data.admission``): the
opening is committed unsynced with the contract counters before the holder is asked, the
sync runs while the holder answers, and the answer is finished only once it is done
(``broker.data.relay``). So the sync costs the transfer nothing it was not already
waiting for, and a transfer answered in full is always on record.

``request()`` gives a future that turns True once an ``fsync`` that *started after the
call* has returned; the requests that arrive while one runs share the next one. It turns
False if the sync failed (the caller then takes the long, synchronous way): nobody has to
retrieve an exception from a future they may never await.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from concurrent.futures import ThreadPoolExecutor

import structlog

log = structlog.get_logger(__name__)


def _fsync(path: str) -> None:
    # Opened each time: a descriptor kept open would pin a WAL file that SQLite had
    # deleted (the last connection of every process closed) and sync the wrong inode.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WalSync:
    """The WAL syncs of one SQLite database file (see the module)."""

    def __init__(self, database: str, *, enabled: bool = True) -> None:
        self._path = database + "-wal"
        # False under ``synchronous=NORMAL``: the operator chose not to wait for the disk,
        # so a request is answered True at once, as that setting's commits are.
        self.enabled = enabled
        self._waiting: list[asyncio.Future[bool]] = []
        self._running: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.syncs = 0  # for tests and the bench: how many fsyncs were made

    def request(self) -> asyncio.Future[bool]:
        """A future that turns True once every commit made before this call is durable."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        if not self.enabled:
            future.set_result(True)
            return future
        self._waiting.append(future)
        if self._running is None:
            self._running = loop.create_task(self._run(), name="wal-sync")
        return future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal-sync")
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await loop.run_in_executor(self._executor, _fsync, self._path)
                except OSError as error:
                    log.error("sqlite.wal_sync_failed", error=type(error).__name__)
                    _settle(batch, False)
                except BaseException:
                    _settle(batch, False)
                    raise
                else:
                    self.syncs += 1
                    _settle(batch, True)
        finally:
            self._running = None

    async def close(self) -> None:
        """Finish the sync in flight (its waiters are answered), then stop the thread."""
        running = self._running
        if running is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await running
        _settle(self._waiting, False)
        self._waiting = []
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _settle(batch: list[asyncio.Future[bool]], value: bool) -> None:
    for future in batch:
        if not future.done():
            future.set_result(value)
