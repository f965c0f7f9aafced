"""Another process writing to the SQLite database (an ``aiguillage`` command, say) holds
its write lock for a while: a transfer waits for it (its contract counters are a write,
made on the writer's thread), an introspection does not (in WAL mode a read never waits
for a writer; it is made on the event loop's own connection, ``SharedReaders
.fetch_point``), and the broker answers everything else meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import aiohttp
from sqlalchemy import make_url

from tests.e2e.data.support import data_url, days_ago, grant
from tests.support.stack import Stack


def _database_file(stack: Stack) -> Path:
    database = make_url(stack.settings.database_url).database
    assert database is not None
    return Path(database)


async def test_a_write_lock_held_elsewhere_delays_transfers_but_not_reads(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    locked, release = threading.Event(), threading.Event()
    released_at: list[float] = []

    def hold_the_write_lock() -> None:
        other = sqlite3.connect(_database_file(stack), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # the write lock, as a writing command takes it
            locked.set()
            release.wait(timeout=5)
            released_at.append(time.monotonic())
            other.execute("ROLLBACK")
        finally:
            other.close()

    holding = asyncio.create_task(asyncio.to_thread(hold_the_write_lock))
    assert await asyncio.to_thread(locked.wait, 10)

    async def transfer() -> int:
        params = {"start": days_ago(3), "end": days_ago(1)}
        async with http.get(data_url(stack), params=params, headers=live.auth) as response:
            await response.read()
            return response.status

    waiting = asyncio.create_task(transfer())
    async with http.post(
        f"{stack.broker_url}/oauth/introspect",
        data={"token": live.access_token},
        headers={"Authorization": aiohttp.encode_basic_auth(stack.coach_id, stack.coach_secret)},
    ) as response:
        assert (await response.json())["active"] is True
    async with http.get(f"{stack.broker_url}/.well-known/oauth-authorization-server") as meta:
        assert meta.status == 200
    answered_at = time.monotonic()
    assert not waiting.done()  # the transfer's counters wait for the write lock
    release.set()
    await holding
    assert answered_at < released_at[0]  # all that was answered while the lock was held
    assert await asyncio.wait_for(waiting, timeout=30) == 200
