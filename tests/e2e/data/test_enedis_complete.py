"""Enedis Data Connect, complete: the nine v5 endpoints through the broker, a long load
curve split into 7-day holder calls and stitched into one document, 429 honoured with
backoff, and the 3-year consent cap."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp

from providers.enedis.resources import ENEDIS_RESOURCES
from providers.ranges import split_range
from tests.e2e.data.support import data_url, days_ago, grant, simulator_token
from tests.support.flow import DEFAULT_DETAILS, par_form, pkce_pair, push
from tests.support.stack import Stack, running_stack

ALL_NINE = {**DEFAULT_DETAILS, "resources": list(ENEDIS_RESOURCES)}


async def _direct(
    stack: Stack, http: aiohttp.ClientSession, token: str, start: date, end: date
) -> list[dict[str, Any]]:
    async with http.get(
        stack.simulator_url + ENEDIS_RESOURCES["consumption_load_curve"],
        params={"usage_point_id": stack.prm, "start": start.isoformat(), "end": end.isoformat()},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 200
        return list((await response.json())["meter_reading"]["interval_reading"])


async def test_a_month_of_load_curve_is_split_into_weeks_and_stitched(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    start, end = date.fromisoformat(days_ago(31)), date.fromisoformat(days_ago(1))
    async with http.get(
        data_url(stack, "consumption_load_curve"),
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers=live.auth,
    ) as response:
        assert response.status == 200, await response.text()
        document = await response.json()
    reading = document["meter_reading"]
    assert (reading["start"], reading["end"]) == (start.isoformat(), end.isoformat())
    assert reading["usage_point_id"] == stack.prm
    assert reading["reading_type"]["unit"] == "W"
    stamps = [datetime.fromisoformat(r["date"]) for r in reading["interval_reading"]]
    assert len(stamps) == 30 * 48
    assert all(b - a == timedelta(minutes=30) for a, b in pairwise(stamps))
    token = await simulator_token(stack, http)
    expected = []
    await asyncio.sleep(1.1)  # the broker's five calls used this second's Enedis quota
    for piece_start, piece_end in split_range(start, end, 7):
        await asyncio.sleep(0.25)
        expected += await _direct(stack, http, token, piece_start, piece_end)
    assert reading["interval_reading"] == expected


async def test_all_nine_v5_endpoints_answer_through_the_broker(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http, details=ALL_NINE)
    statuses = {}
    for resource in ENEDIS_RESOURCES:
        await asyncio.sleep(0.25)  # the contract allows five requests a second
        async with http.get(
            data_url(stack, resource),
            params={"start": days_ago(3), "end": days_ago(1)},
            headers=live.auth,
        ) as response:
            body = await response.json(content_type=None)
            statuses[resource] = response.status
            if resource.startswith("daily_"):
                assert body["meter_reading"]["interval_reading"], resource
    assert statuses == dict.fromkeys(ENEDIS_RESOURCES, 200)


async def test_a_holder_429_is_waited_out_and_retried(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_stack(tmp_path, simulator_config={"quota_per_second": 1}) as stack:
        live = await grant(stack, http)
        started = time.monotonic()
        for _ in range(2):
            async with http.get(
                data_url(stack),
                params={"start": days_ago(3), "end": days_ago(1)},
                headers=live.auth,
            ) as response:
                assert response.status == 200, await response.text()
                await response.read()
        assert time.monotonic() - started >= 0.5  # the second call waited for the holder


async def test_a_consent_longer_than_three_years_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    _, challenge = pkce_pair()
    form = par_form(stack, challenge, "s", {**DEFAULT_DETAILS, "duration": "P3Y1M"})
    status, body = await push(stack, http, form)
    assert status == 400
    assert body["error"] == "invalid_authorization_details"
    assert "P3Y" in body["error_description"]
