"""What the service sees when the holder refuses, is down, stalls or breaks mid-stream,
and the ledger entry each of those leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from broker.holders import ADAPTERS
from broker.storage.tables import holders
from providers.base import CredentialSink, HolderStream, HolderUnavailable
from tests.e2e.data.support import Grant, data_url, days_ago, grant, ledger_of
from tests.support.stack import HOLDER_CLIENT_ID, Stack


async def _failures(stack: Stack, grant_id: str) -> list[str]:
    return [
        str(e.details["outcome"])
        for e in await ledger_of(stack, grant_id)
        if e.kind == "transfer.failed"
    ]


async def _problem(
    http: aiohttp.ClientSession, url: str, live: Grant, start: str, end: str
) -> tuple[int, dict[str, Any]]:
    async with http.get(url, params={"start": start, "end": end}, headers=live.auth) as response:
        assert response.content_type == "application/problem+json"
        return response.status, await response.json(content_type=None)


async def test_a_holder_refusal_of_a_range_is_the_holders_400(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    # A manifest that claims more days per call than Enedis serves: the broker asks for
    # ten days of load curve in one call and Enedis refuses with its own code.
    async with stack.engine.begin() as conn:
        manifest = (
            await conn.execute(select(holders.c.manifest).where(holders.c.id == "enedis"))
        ).scalar_one()
        for resource in manifest["resources"]:
            if resource["name"] == "consumption_load_curve":
                resource["max_days_per_call"] = 30
        await conn.execute(
            update(holders).where(holders.c.id == "enedis").values(manifest=manifest)
        )
    live = await grant(stack, http)
    status, body = await _problem(
        http, data_url(stack, "consumption_load_curve"), live, days_ago(11), days_ago(1)
    )
    assert status == 400
    assert body["reason"] == "holder_error"
    assert body["holder_error"] == "ADAM-DC-0015"
    assert await _failures(stack, live.grant_id) == ["holder_error:ADAM-DC-0015"]


async def test_a_consent_withdrawn_at_the_holder_is_holder_consent_missing(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    async with http.post(
        f"{stack.simulator_url}/_simulator/consents/revoke",
        json={"usage_point_id": stack.prm, "client_id": HOLDER_CLIENT_ID},
    ) as response:
        assert (await response.json())["revoked"] is True
    status, body = await _problem(http, data_url(stack), live, days_ago(3), days_ago(1))
    assert status == 403
    assert body["reason"] == "holder_consent_missing"
    assert body["holder_error"] == "ADAM-DC-0008"
    assert await _failures(stack, live.grant_id) == ["holder_consent_missing"]


async def test_a_holder_that_is_down_is_502_holder_unavailable(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    simulator = stack.runners[0]
    await simulator.cleanup()
    stack.runners.remove(simulator)
    status, body = await _problem(http, data_url(stack), live, days_ago(3), days_ago(1))
    assert status == 502
    assert body["reason"] == "holder_unavailable"
    assert await _failures(stack, live.grant_id) == ["holder_unavailable"]


_SENT_BEFORE_BREAKING = (
    b'{"meter_reading":{"interval_reading":[{"value":"540","date":"2024-01-01"},{"val',
    b'ue":"541"',
)


class _FakeHolder:
    """Stands in for the holder adapter: a stall, or a stream that breaks halfway."""

    protocol = "enedis-dataconnect"

    def __init__(self, *, stall: bool) -> None:
        self._stall = stall

    @asynccontextmanager
    async def fetch(
        self,
        *,
        credential: Mapping[str, str],
        resource: str,
        start: date,
        end: date,
        renewed: CredentialSink | None = None,
    ) -> AsyncIterator[HolderStream]:
        if self._stall:
            raise HolderUnavailable("holder unreachable: TimeoutError") from TimeoutError()
        yield HolderStream(status=200, content_type="application/json", chunks=self._broken())

    async def _broken(self) -> AsyncIterator[bytes]:
        for chunk in _SENT_BEFORE_BREAKING:
            yield chunk
        raise HolderUnavailable("holder stream broke: ClientPayloadError")


async def _with_fake_holder(stack: Stack, http: aiohttp.ClientSession, *, stall: bool) -> Grant:
    live = await grant(stack, http)
    # One real transfer first, so that the broker has built its adapter cache.
    async with http.get(
        data_url(stack), params={"start": days_ago(3), "end": days_ago(1)}, headers=live.auth
    ) as response:
        assert response.status == 200
        await response.read()
    stack.broker_app[ADAPTERS]["enedis"] = _FakeHolder(stall=stall)  # type: ignore[assignment]
    return live


async def test_a_holder_that_times_out_is_504(stack: Stack, http: aiohttp.ClientSession) -> None:
    live = await _with_fake_holder(stack, http, stall=True)
    status, body = await _problem(http, data_url(stack), live, days_ago(3), days_ago(1))
    assert status == 504
    assert body["reason"] == "holder_unavailable"
    assert await _failures(stack, live.grant_id) == ["holder_timeout"]


async def test_a_stream_broken_halfway_is_a_broken_response_not_a_short_success(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await _with_fake_holder(stack, http, stall=False)
    async with http.get(
        data_url(stack), params={"start": days_ago(3), "end": days_ago(1)}, headers=live.auth
    ) as response:
        assert response.status == 200  # the headers had gone before the holder broke
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    failed = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.failed"]
    assert [e.details["outcome"] for e in failed] == ["stream_broken"]
    assert failed[0].details["bytes"] == sum(map(len, _SENT_BEFORE_BREAKING))
    assert failed[0].details["records"] == 2  # the second one cut across two chunks
