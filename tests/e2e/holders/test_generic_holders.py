"""Two holders configured only by manifest (``generic-oauth2``), each with its own simulator:
a Téléo-like water meter and TraceMob-like mobility traces, through the broker."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import aiohttp
from sqlalchemy import select

from broker.storage.tables import consents
from providers.generic.simulator.datasets import mobility, water
from tests.e2e.data.support import days_ago
from tests.support.holders import (
    MOBILITY_SUBJECT,
    WATER_SUBJECT,
    Holders,
    connect_to,
    details_for,
    running_holders,
)
from tests.support.stack import Stack


def _auth(token: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token['access_token']}"}


async def test_water_readings_flow_from_the_generic_holder_unchanged(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    token = await connect_to(stack, http, details_for("eau", ["daily_water"], "energy_coaching"))
    start, end = days_ago(30), days_ago(1)
    async with http.get(
        f"{stack.broker_url}/v1/data/eau/daily_water",
        params={"start": start, "end": end},
        headers=_auth(token),
    ) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    expected = water(WATER_SUBJECT, date.fromisoformat(start), date.fromisoformat(end))
    assert body == expected
    assert len(body["readings"]) == 29 and body["unit"] == "L"


async def test_mobility_trips_carry_mode_distance_and_duration(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    token = await connect_to(stack, http, details_for("mobilite", ["trips"], "carbon_footprint"))
    start, end = days_ago(20), days_ago(1)
    async with http.get(
        f"{stack.broker_url}/v1/data/mobilite/trips",
        params={"start": start, "end": end},
        headers=_auth(token),
    ) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    assert body == mobility(MOBILITY_SUBJECT, date.fromisoformat(start), date.fromisoformat(end))
    assert body["trips"], "twenty days without a single trip: the dataset is broken"
    assert {"mode", "distance_m", "duration_s"} <= set(body["trips"][0])


async def test_a_range_over_the_per_call_maximum_is_refused_for_a_generic_holder(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    token = await connect_to(stack, http, details_for("mobilite", ["trips"], "carbon_footprint"))
    async with http.get(
        f"{stack.broker_url}/v1/data/mobilite/trips",
        params={"start": days_ago(60), "end": days_ago(1)},
        headers=_auth(token),
    ) as response:
        assert response.status == 400
        body = await response.json(content_type=None)
    assert body["reason"] == "holder_error" and body["holder_error"] == "period_too_long"


async def test_expired_holder_tokens_are_refreshed_and_the_new_ones_stored(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    # Tokens that live one second are always within the renewal margin: every fetch
    # refreshes, and with rotating refresh tokens the second fetch can only work if the
    # first stored the holder's new refresh token.
    async with running_holders(stack, generic={"access_token_lifetime_s": 1}):
        token = await connect_to(
            stack, http, details_for("eau", ["daily_water"], "energy_coaching")
        )
        sealed = []
        for _ in range(3):
            await asyncio.sleep(0.5)  # the water contract allows 2 requests a second
            async with http.get(
                f"{stack.broker_url}/v1/data/eau/daily_water",
                params={"start": days_ago(5), "end": days_ago(1)},
                headers=_auth(token),
            ) as response:
                assert response.status == 200, await response.text()
                await response.read()
            async with stack.engine.connect() as conn:
                sealed.append(
                    await conn.scalar(
                        select(consents.c.holder_credential_enc).where(
                            consents.c.id == token["grant_id"]
                        )
                    )
                )
    assert len(set(sealed)) == 3


async def test_grdf_daily_gas_in_kwh_and_m3_over_more_than_a_year_is_stitched(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    details = details_for("grdf", ["daily_consumption", "technical_data"], "energy_coaching")
    details["data_window"] = {"history": "P2Y", "include_future": False}
    token = await connect_to(stack, http, details)
    start, end = days_ago(400), days_ago(1)
    async with http.get(
        f"{stack.broker_url}/v1/data/grdf/daily_consumption",
        params={"start": start, "end": end},
        headers=_auth(token),
    ) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "application/x-ndjson"
        lines = (await response.text()).splitlines()
    days = [json.loads(line)["consommation"] for line in lines]
    assert len(days) == 399
    assert days[0]["journee_gaziere"] == start and days[-1]["journee_gaziere"] == days_ago(2)
    assert all(d["energie"] > 0 and d["volume_brut"] > 0 for d in days)
    # Two holder calls: 365 days, then 34.
    async with http.get(f"{holders.urls['grdf']}/_simulator/stats") as response:
        assert (await response.json())["calls"] == 2
    async with http.get(
        f"{stack.broker_url}/v1/data/grdf/technical_data", headers=_auth(token)
    ) as response:
        assert response.status == 200
        assert "donnees_techniques" in (await response.json(content_type=None))
