"""On SQLite a transfer is opened with its contract counters before the holder is asked,
and its answer is finished without waiting for its ledger entry: meanwhile the transfer
is on record as its opening (``broker.data.open_transfers``). A refused request opens
nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import aiohttp
import pytest

from broker.storage import wal_sync as wal_sync_module
from tests.e2e.data.support import (
    change_contract,
    data_url,
    days_ago,
    grant,
    kinds_now,
    ledger_of,
    openings,
)
from tests.e2e.data.test_holder_failures import _fault
from tests.e2e.data.test_locked_database import _database_file
from tests.support.stack import Stack, transfers_recorded


async def test_an_answer_finishes_while_its_ledger_entry_waits_and_the_opening_holds_it(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await _fault(stack, http, "slow", seconds=1)
    params = {"start": days_ago(3), "end": days_ago(1)}

    async def fetch() -> tuple[int, bytes]:
        async with http.get(data_url(stack), params=params, headers=live.auth) as response:
            return response.status, await response.read()

    transfer = asyncio.create_task(fetch())
    for _ in range(200):  # admitted: the opening is committed before the holder is asked
        if await openings(stack):
            break
        await asyncio.sleep(0.01)
    assert await openings(stack) == [live.grant_id]

    # Another process takes SQLite's write lock while the holder is still silent, so
    # that the ledger entry cannot be written when the answer ends.
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        other = sqlite3.connect(_database_file(stack), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            release.wait(timeout=10)
            other.execute("ROLLBACK")
        finally:
            other.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    try:
        assert await asyncio.to_thread(locked.wait, 5)
        status, body = await asyncio.wait_for(transfer, timeout=8)
        assert status == 200
        assert body.startswith(b'{"meter_reading"')
        # The answer is whole and the entry not written: the opening still says it.
        assert await openings(stack) == [live.grant_id]
        assert not [e for e in await kinds_now(stack, live.grant_id) if e == "transfer.served"]
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 10)
    await transfers_recorded(stack)
    entries = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.served"]
    assert len(entries) == 1
    assert entries[0].details["bytes"] == len(body)
    assert await openings(stack) == []


async def test_a_request_over_the_contract_opens_nothing(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await change_contract(stack, requests_per_hour=1)
    params = {"start": days_ago(3), "end": days_ago(1)}
    statuses = []
    for _ in range(2):
        async with http.get(data_url(stack), params=params, headers=live.auth) as response:
            await response.read()
            statuses.append(response.status)
    assert statuses == [200, 429]
    await transfers_recorded(stack)
    assert await openings(stack) == []
    kinds = [e.kind for e in await ledger_of(stack, live.grant_id)]
    assert kinds.count("transfer.served") == 1
    assert kinds.count("transfer.denied") == 1


async def test_when_the_wal_cannot_be_synced_the_entry_is_written_before_the_answer_ends(
    stack: Stack, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = await grant(stack, http)

    def disk_gone(_path: str) -> None:
        raise OSError("the WAL cannot be synced")

    monkeypatch.setattr(wal_sync_module, "_fsync", disk_gone)
    params = {"start": days_ago(3), "end": days_ago(1)}
    async with http.get(data_url(stack), params=params, headers=live.auth) as response:
        assert response.status == 200
        body = await response.read()
    # The long way: the entry was committed, durably, before the answer was finished.
    assert (await kinds_now(stack, live.grant_id)).count("transfer.served") == 1
    assert await openings(stack) == []
    [served] = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.served"]
    assert served.details["bytes"] == len(body)
