"""Two instances appending to the ledger at once keep one valid hash chain, and the
contract quota binds the instances together, not each one alone."""

from __future__ import annotations

import asyncio

import aiohttp
from sqlalchemy import func, select

from broker.ledger_check import check_ledger
from broker.storage.tables import ledger, transfer_counters
from tests.e2e.data.support import Grant, change_contract, data_url, days_ago, grant
from tests.support.processes import Cluster
from tests.support.stack import Stack

BURST = 40


async def _burst(stacks: list[Stack], http: aiohttp.ClientSession, live: Grant) -> list[int]:
    async def one(stack: Stack) -> int:
        params = {"start": days_ago(3), "end": days_ago(1)}
        async with http.get(data_url(stack), params=params, headers=live.auth) as response:
            await response.read()
            return response.status

    return await asyncio.gather(*(one(stacks[i % len(stacks)]) for i in range(BURST)))


async def test_concurrent_appends_from_two_instances_keep_one_valid_chain(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    stacks = [cluster.stack("a"), cluster.stack("b")]
    await change_contract(stacks[0], requests_per_second=10_000, requests_per_hour=100_000)
    live = await grant(stacks[0], http)
    statuses = await _burst(stacks, http, live)
    assert statuses == [200] * BURST

    report = await check_ledger(cluster.engine)
    assert report.ok, report.describe()
    async with cluster.engine.connect() as conn:
        seqs = (await conn.execute(select(ledger.c.seq).order_by(ledger.c.seq))).scalars().all()
        served = await conn.scalar(
            select(func.count()).where(
                ledger.c.kind == "transfer.served", ledger.c.consent_id == live.grant_id
            )
        )
    assert seqs == list(range(1, len(seqs) + 1))
    assert report.head_seq == len(seqs)
    assert served == BURST


async def test_the_hourly_quota_holds_across_instances(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    limit = 7
    stacks = [cluster.stack("a"), cluster.stack("b")]
    await change_contract(stacks[0], requests_per_second=10_000, requests_per_hour=limit)
    live = await grant(stacks[0], http)
    statuses = await _burst(stacks, http, live)

    async with cluster.engine.connect() as conn:
        hours = (
            (
                await conn.execute(
                    select(transfer_counters.c.count).where(transfer_counters.c.window.like("h:%"))
                )
            )
            .scalars()
            .all()
        )
    served = statuses.count(200)
    assert set(statuses) == {200, 429}
    # Each hour window admits at most ``limit``: one window unless the burst straddled an
    # hour boundary, and the served requests are exactly those the windows counted.
    assert all(count <= limit for count in hours)
    assert served == sum(hours)
    assert limit <= served <= limit * len(hours)
