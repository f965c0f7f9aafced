"""What the service sees when the holder refuses, is down, stalls or breaks mid-stream,
and the ledger entry each of those leaves; and the entry left when the service hangs up
before the holder has answered."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update
from yarl import URL

from broker.storage.tables import consents, holders
from tests.e2e.data.support import Grant, data_url, days_ago, forget_holder, grant, ledger_of
from tests.support.stack import HOLDER_CLIENT_ID, Stack, running_stack


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
    forget_holder(stack, "enedis")
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


async def test_a_grant_whose_holder_credential_is_gone_is_502_and_the_holder_is_not_asked(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    calls_before = await _holder_calls(stack, http)
    async with http.get(data_url(stack), params=_days(3, 1), headers=live.auth) as response:
        assert response.status == 200  # the holder is asked while the credential is there
    assert await _holder_calls(stack, http) == calls_before + 1
    async with stack.engine.begin() as conn:
        await conn.execute(
            update(consents)
            .where(consents.c.id == live.grant_id)
            .values(holder_credential_enc=None)
        )
    calls_before += 1
    status, body = await _problem(http, data_url(stack), live, days_ago(3), days_ago(1))
    assert status == 502
    assert body["reason"] == "holder_unavailable"
    assert body["grant_id"] == live.grant_id
    assert await _failures(stack, live.grant_id) == ["no_holder_credential"]
    assert await _holder_calls(stack, http) == calls_before


def _days(first: int, last: int) -> dict[str, str]:
    return {"start": days_ago(first), "end": days_ago(last)}


async def _holder_calls(stack: Stack, http: aiohttp.ClientSession) -> int:
    async with http.get(f"{stack.simulator_url}/_simulator/stats") as response:
        calls: dict[str, int] = (await response.json())["calls"]
    return sum(n for path, n in calls.items() if path.startswith("/metering_data"))


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


async def _fault(
    stack: Stack, http: aiohttp.ClientSession, mode: str | None, seconds: float = 0
) -> None:
    """Switch the simulated Enedis into a fault mode (providers/enedis/simulator/faults.py)."""
    async with http.post(
        f"{stack.simulator_url}/_simulator/faults", json={"mode": mode, "seconds": seconds}
    ) as response:
        assert response.status == 200, await response.text()


async def _warm(stack: Stack, http: aiohttp.ClientSession) -> Grant:
    """A live grant and one good transfer (the broker has its holder token and adapter)."""
    live = await grant(stack, http)
    async with http.get(
        data_url(stack), params={"start": days_ago(3), "end": days_ago(1)}, headers=live.auth
    ) as response:
        assert response.status == 200
        await response.read()
    return live


@pytest.mark.parametrize("mode", ["garbage", "html", "wrong_shape"])
async def test_a_holder_that_answers_garbage_is_502_holder_unavailable(
    stack: Stack, http: aiohttp.ClientSession, mode: str
) -> None:
    live = await _warm(stack, http)
    await _fault(stack, http, mode)
    status, body = await _problem(http, data_url(stack), live, days_ago(3), days_ago(1))
    assert status == 502
    assert body["reason"] == "holder_unavailable"
    assert body["grant_id"] == live.grant_id
    assert await _failures(stack, live.grant_id) == ["holder_unavailable"]


async def test_a_holder_that_times_out_is_504(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    # The operator's holder timeout made short so that the test is quick; the holder really
    # is silent on a real socket for longer than that.
    async with running_stack(tmp_path, settings_overrides={"holder_timeout": 1.0}) as stack:
        live = await _warm(stack, http)
        await _fault(stack, http, "slow", seconds=2)
        status, body = await _problem(http, data_url(stack), live, days_ago(3), days_ago(1))
        assert status == 504
        assert body["reason"] == "holder_unavailable"
        assert await _failures(stack, live.grant_id) == ["holder_timeout"]


async def test_a_stream_cut_halfway_is_a_broken_response_not_a_short_success(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await _warm(stack, http)
    await _fault(stack, http, "cut")
    received = bytearray()
    async with http.get(
        data_url(stack), params={"start": days_ago(30), "end": days_ago(1)}, headers=live.auth
    ) as response:
        assert response.status == 200  # the headers had gone before the holder broke
        assert response.headers["Transfer-Encoding"] == "chunked"
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in response.content.iter_any():
                received += chunk
    assert received.startswith(b'{"meter_reading"')  # the first half did arrive...
    with pytest.raises(ValueError):
        json.loads(received)  # ...and is visibly not a whole document
    failed = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.failed"]
    assert [e.details["outcome"] for e in failed] == ["stream_broken"]
    assert failed[0].details["bytes"] == len(received)


async def test_a_service_that_hangs_up_before_its_answer_starts_is_on_record(
    stack: Stack, http: aiohttp.ClientSession, capfd: pytest.CaptureFixture[str]
) -> None:
    live = await _warm(stack, http)
    await _fault(stack, http, "slow", seconds=2)
    url = URL(data_url(stack)).with_query(start=days_ago(3), end=days_ago(1))
    # A service that sends its request and hangs up while the holder is still silent.
    _, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        f"GET {url.raw_path_qs} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\n"
        f"Authorization: Bearer {live.access_token}\r\n\r\n".encode()
    )
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()
    await writer.wait_closed()
    # The holder answers two seconds later, to a broker that has nobody to pass it to:
    # the holder was read for this grant, so the ledger says so, with nothing delivered.
    for _ in range(100):
        if failed := await _failures(stack, live.grant_id):
            break
        await asyncio.sleep(0.1)
    assert failed == ["client_disconnected"]
    entry = next(e for e in await ledger_of(stack, live.grant_id) if e.kind == "transfer.failed")
    assert entry.details["bytes"] == 0
    # Not a crash of the broker: no unhandled error, and the next request is served.
    assert "http.unhandled" not in capfd.readouterr().err
    await _fault(stack, http, None)
    async with http.get(
        data_url(stack), params={"start": days_ago(3), "end": days_ago(1)}, headers=live.auth
    ) as response:
        assert response.status == 200
