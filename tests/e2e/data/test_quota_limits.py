"""A refused request names the contract limit it hit and when to retry, and is served
again once the window has passed."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.e2e.data.support import change_contract, data_url, days_ago, grant
from tests.support.stack import Stack


async def _get(
    stack: Stack, http: aiohttp.ClientSession, auth: dict[str, str]
) -> aiohttp.ClientResponse:
    params = {"start": days_ago(3), "end": days_ago(1)}
    async with http.get(data_url(stack), params=params, headers=auth) as response:
        await response.read()
        return response


async def test_the_per_second_limit_is_named_and_the_service_recovers_after_retry_after(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await change_contract(stack, requests_per_second=1)
    first = await _get(stack, http, live.auth)
    assert first.status == 200
    refused = None
    for _ in range(3):
        answer = await _get(stack, http, live.auth)
        if answer.status == 429:
            refused = answer
            break
    assert refused is not None
    body = await refused.json(content_type=None)
    assert body["limit"] == "requests_per_second"
    assert body["detail"].startswith("requests_per_second:")
    await asyncio.sleep(int(refused.headers["Retry-After"]))
    assert (await _get(stack, http, live.auth)).status == 200


async def test_the_daily_volume_refusal_names_bytes_per_day(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await change_contract(stack, bytes_per_day=10)
    assert (await _get(stack, http, live.auth)).status == 200
    refused = await _get(stack, http, live.auth)
    assert refused.status == 429
    body = await refused.json(content_type=None)
    assert body["limit"] == "bytes_per_day"
    assert 1 <= int(refused.headers["Retry-After"]) <= 86400
