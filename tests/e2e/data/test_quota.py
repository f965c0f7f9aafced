"""The contract quota between holder and service, counted in the shared database."""

from __future__ import annotations

import aiohttp

from tests.e2e.data.support import change_contract, data_url, days_ago, grant, ledger_of
from tests.support.stack import Stack


async def test_requests_over_the_contract_rate_get_429_with_retry_after(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await change_contract(stack, requests_per_second=1)
    params = {"start": days_ago(3), "end": days_ago(1)}
    statuses = []
    # At one request per second, two requests in a row land in the same second unless a
    # boundary falls between them: a few more make the refusal certain.
    for _ in range(4):
        async with http.get(data_url(stack), params=params, headers=live.auth) as response:
            statuses.append(response.status)
            if response.status == 429:
                retry_after = response.headers["Retry-After"]
                body = await response.json(content_type=None)
                break
            await response.read()
    assert statuses[0] == 200
    assert statuses[-1] == 429
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 1
    assert body["reason"] == "quota_exceeded"
    assert body["grant_id"] == live.grant_id
    denied = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.denied"]
    assert [e.details["reason"] for e in denied] == ["quota_exceeded"]


async def test_the_daily_volume_is_enforced_after_it_is_used_up(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await change_contract(stack, bytes_per_day=100)
    params = {"start": days_ago(8), "end": days_ago(1)}
    async with http.get(data_url(stack), params=params, headers=live.auth) as response:
        assert response.status == 200  # the day's volume was not used up before it
        assert len(await response.read()) > 100
    async with http.get(data_url(stack), params=params, headers=live.auth) as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert (await response.json(content_type=None))["reason"] == "quota_exceeded"
