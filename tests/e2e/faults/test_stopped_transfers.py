"""A broker killed while a holder is answering leaves that transfer open in the database
(``broker.data.open_transfers``); the next broker on the database puts it on record as a
``broker_stopped`` failure before serving, and the chain still verifies."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp

from broker.ledger_check import check_ledger
from tests.e2e.data.support import data_url, days_ago, grant, kinds_now, ledger_of, openings
from tests.e2e.data.test_holder_failures import _fault
from tests.e2e.faults.process import broker_process, wait_ready
from tests.support.stack import Stack


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
            if await openings(stack):
                break
            await asyncio.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # the holder has not answered yet
        process.wait(timeout=30)
        await asyncio.gather(transfer, return_exceptions=True)
    assert await openings(stack) == [live.grant_id]
    assert "transfer.failed" not in await kinds_now(stack, live.grant_id)

    with broker_process(stack.settings):
        await wait_ready(stack.broker_url)  # recorded before the broker serves
        assert await openings(stack) == []
        failed = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.failed"]
        assert [e.details["outcome"] for e in failed] == ["broker_stopped"]
        assert failed[0].details["resource"] == "daily_consumption"
        assert failed[0].details["start"] == params["start"]
        assert failed[0].details["bytes"] == 0
        assert failed[0].details["records"] is None
    report = await check_ledger(stack.engine)
    assert report.ok, report
