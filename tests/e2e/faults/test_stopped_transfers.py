"""A broker killed while a holder is answering leaves that transfer open in the database
(``broker.data.open_transfers``); the next broker on the database puts it on record as a
``broker_stopped`` failure before serving, and the chain still verifies."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
from sqlalchemy import select

from broker.ledger_check import check_ledger
from broker.storage.tables import ledger, open_transfers
from tests.e2e.data.support import data_url, days_ago, grant, ledger_of
from tests.e2e.data.test_holder_failures import _fault
from tests.e2e.faults.process import broker_process, wait_ready
from tests.support.stack import Stack


async def _opened(stack: Stack) -> list[str]:
    async with stack.engine.connect() as conn:
        return list((await conn.execute(select(open_transfers.c.consent_id))).scalars())


async def _kinds_now(stack: Stack, grant_id: str) -> list[str]:
    """The grant's entries as they stand (``ledger_of`` waits for open transfers)."""
    async with stack.engine.connect() as conn:
        rows = await conn.execute(select(ledger.c.kind).where(ledger.c.consent_id == grant_id))
        return [row.kind for row in rows]


async def test_a_transfer_cut_by_a_killed_broker_is_recorded_by_the_next_one(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)  # through the in-process broker
    [in_process] = [r for r in stack.runners if r.app is stack.broker_app]
    stack.runners.remove(in_process)
    await in_process.cleanup()
    await _fault(stack, http, "slow", seconds=3)
    params = {"start": days_ago(3), "end": days_ago(1)}
    with broker_process(stack.settings) as process:
        await wait_ready(stack.broker_url)

        async def fetch() -> None:
            async with http.get(data_url(stack), params=params, headers=live.auth) as answer:
                await answer.read()

        transfer = asyncio.create_task(fetch())
        for _ in range(300):
            if await _opened(stack):
                break
            await asyncio.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # the holder has not answered yet
        process.wait(timeout=30)
        await asyncio.gather(transfer, return_exceptions=True)
    assert await _opened(stack) == [live.grant_id]
    assert "transfer.failed" not in await _kinds_now(stack, live.grant_id)

    with broker_process(stack.settings):
        await wait_ready(stack.broker_url)  # recorded before the broker serves
        assert await _opened(stack) == []
        failed = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.failed"]
        assert [e.details["outcome"] for e in failed] == ["broker_stopped"]
        assert failed[0].details["resource"] == "daily_consumption"
        assert failed[0].details["start"] == params["start"]
        assert failed[0].details["bytes"] == 0
        assert failed[0].details["records"] is None
    report = await check_ledger(stack.engine)
    assert report.ok, report
