"""A transfer goes holder → broker → service unchanged, and the ledger says how much."""

from __future__ import annotations

import aiohttp

from tests.e2e.data.support import (
    data_url,
    days_ago,
    grant,
    ledger_of,
    simulator_token,
)
from tests.support.flow import DEFAULT_DETAILS
from tests.support.stack import Stack


async def _simulator_answer(
    stack: Stack, http: aiohttp.ClientSession, path: str, start: str, end: str
) -> bytes:
    token = await simulator_token(stack, http)
    async with http.get(
        f"{stack.simulator_url}{path}",
        params={"usage_point_id": stack.prm, "start": start, "end": end},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 200
        return await response.read()


async def test_daily_consumption_streams_through_unchanged_and_is_recorded(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    start, end = days_ago(8), days_ago(1)
    async with http.get(
        data_url(stack), params={"start": start, "end": end}, headers=live.auth
    ) as response:
        assert response.status == 200
        assert response.headers["Aiguillage-Grant-Id"] == live.grant_id
        assert response.content_type == "application/json"
        body = await response.read()
    direct = await _simulator_answer(
        stack, http, "/metering_data_dc/v5/daily_consumption", start, end
    )
    assert body == direct
    served = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.served"]
    assert len(served) == 1
    details = served[0].details
    assert details["bytes"] == len(body)
    assert details["records"] == 7
    assert details["outcome"] == "ok"
    assert (details["resource"], details["start"], details["end"]) == (
        "daily_consumption",
        start,
        end,
    )
    # Metadata only: nothing of the body reaches the ledger.
    assert stack.prm not in served[0].model_dump_json()


async def test_load_curve_counts_every_half_hour_reading(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    start, end = days_ago(3), days_ago(1)
    async with http.get(
        data_url(stack, "consumption_load_curve"),
        params={"start": start, "end": end},
        headers=live.auth,
    ) as response:
        assert response.status == 200
        body = await response.read()
    assert body == await _simulator_answer(
        stack, http, "/metering_data_clc/v5/consumption_load_curve", start, end
    )
    served = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.served"]
    assert served[-1].details["records"] == 2 * 48
    assert served[-1].details["bytes"] == len(body)


async def test_an_undated_resource_needs_no_range_and_counts_no_records(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    details = {**DEFAULT_DETAILS, "resources": ["daily_consumption", "contracts"]}
    live = await grant(stack, http, details=details)
    async with http.get(data_url(stack, "contracts"), headers=live.auth) as response:
        assert response.status == 200
        body = await response.read()
    token = await simulator_token(stack, http)
    async with http.get(
        f"{stack.simulator_url}/customers_upc/v5/usage_points/contracts",
        params={"usage_point_id": stack.prm},
        headers={"Authorization": f"Bearer {token}"},
    ) as direct:
        assert body == await direct.read()
    served = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.served"]
    assert served[-1].details["records"] is None
    assert served[-1].details["start"] is None
    assert served[-1].details["bytes"] == len(body)
