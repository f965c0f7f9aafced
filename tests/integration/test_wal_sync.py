"""``broker.storage.wal_sync`` on a real SQLite file in WAL mode: a request is answered
once an ``fsync`` that started after it has returned, requests that arrive meanwhile share
the next one, and a sync that cannot be made answers False instead of raising."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from broker.storage import wal_sync as module
from broker.storage.wal_sync import WalSync


def _wal_database(tmp_path: Path) -> tuple[sqlite3.Connection, str]:
    path = str(tmp_path / "wal.sqlite3")
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE t (x INTEGER)")
    connection.execute("INSERT INTO t VALUES (1)")  # unsynced, in the WAL
    return connection, path


async def test_requests_made_while_a_sync_runs_share_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection, path = _wal_database(tmp_path)
    started, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    synced: list[str] = []
    real = module._fsync

    def slow_first(wal: str) -> None:
        real(wal)  # a real fsync of the real WAL file
        synced.append(wal)
        if len(synced) == 1:
            loop.call_soon_threadsafe(started.set)
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=5)

    monkeypatch.setattr(module, "_fsync", slow_first)
    wal = WalSync(path)
    try:
        first = wal.request()
        await started.wait()
        later = [wal.request() for _ in range(5)]  # while the first sync is held
        assert not first.done()
        release.set()
        assert await first is True
        assert all(await asyncio.gather(*later))
        assert wal.syncs == 2  # one for the first, one shared by the five after it
        assert synced == [path + "-wal"] * 2
    finally:
        await wal.close()
        connection.close()


async def test_a_database_that_does_not_wait_for_the_disk_is_answered_at_once(
    tmp_path: Path,
) -> None:
    connection, path = _wal_database(tmp_path)
    wal = WalSync(path, enabled=False)
    try:
        request = wal.request()
        assert request.done() and request.result() is True
        assert wal.syncs == 0
    finally:
        await wal.close()
        connection.close()


async def test_a_sync_that_fails_answers_false_and_the_next_one_is_tried_again(
    tmp_path: Path,
) -> None:
    wal = WalSync(str(tmp_path / "wal.sqlite3"))  # no database yet, so no WAL file
    try:
        assert await wal.request() is False
        assert wal.syncs == 0
        connection, _ = _wal_database(tmp_path)  # now there is one
        assert await wal.request() is True
        assert wal.syncs == 1
        connection.close()
    finally:
        await wal.close()
