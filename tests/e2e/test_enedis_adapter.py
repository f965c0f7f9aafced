"""The Enedis adapter against the running simulator, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from providers.base import HolderAdapter, HolderError, HolderLink, HolderUnavailable
from providers.enedis.adapter import EnedisDataConnectAdapter
from providers.enedis.resources import ENEDIS_RESOURCES
from providers.enedis.simulator import RegisteredClient, SimulatorConfig, create_simulator_app
from providers.enedis.simulator.conformance import response_schema, violations
from providers.registry import build_adapter

SWAGGER = Path(__file__).resolve().parents[3] / "shared" / "holders" / "enedis" / "swagger"
PRM = "12345678901234"
CLIENT_ID, SECRET = "aiguillage-test", "test-secret"
CALLBACK = "http://127.0.0.1:9/holders/enedis/callback"
AUTHORIZE = "/dataconnect/v1/oauth2/authorize"
CREDENTIAL = {"usage_point_id": PRM}
JUNE = {"start": date(2024, 6, 1), "end": date(2024, 6, 8)}


@dataclass
class Clock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Holder:
    """A running simulator, and an adapter configured to talk to it."""

    base: str
    clock: Clock
    session: aiohttp.ClientSession
    adapter: HolderAdapter

    def make_adapter(self, **extra: Any) -> EnedisDataConnectAdapter:
        return EnedisDataConnectAdapter(**_endpoints(self.base), session=self.session, **extra)

    async def link(self, decision: str = "accept") -> dict[str, str]:
        """Drive the consent page as a browser would; return the redirect's query."""
        url = self.adapter.authorization_url(state="st-9", redirect_uri=CALLBACK, duration="P1Y")
        async with self.session.get(url, allow_redirects=False) as page:
            assert page.status == 200
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert csrf is not None
        form = {"csrf_token": csrf.group(1), "decision": decision, "usage_point_id": PRM}
        async with self.session.post(
            self.base + AUTHORIZE, data=form, allow_redirects=False
        ) as answer:
            assert answer.status == 302
            location = answer.headers["Location"]
        assert location.startswith(CALLBACK + "?")
        return dict(parse_qsl(urlsplit(location).query))

    async def stats(self) -> dict[str, int]:
        async with self.session.get(self.base + "/_simulator/stats") as response:
            calls: dict[str, int] = (await response.json())["calls"]
            return calls


def _endpoints(base: str) -> dict[str, Any]:
    return {
        "base_url": base,
        "authorize_url": base + AUTHORIZE,
        "token_url": base + "/oauth2/v3/token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "resources": {**ENEDIS_RESOURCES, "big": "/_simulator/big"},
    }


async def _start(app: web.Application) -> AsyncIterator[str]:
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as shared:
        yield shared


@pytest.fixture
def quota_per_second() -> int:
    return 50


@pytest.fixture
async def holder(session: aiohttp.ClientSession, quota_per_second: int) -> AsyncIterator[Holder]:
    clock = Clock()
    config = SimulatorConfig(
        clients={CLIENT_ID: RegisteredClient(secret=SECRET, redirect_uris=(CALLBACK,))},
        today=date(2024, 6, 15),
        clock=clock,
        quota_per_second=quota_per_second,
    )
    async for base in _start(create_simulator_app(config)):
        adapter = build_adapter("enedis-dataconnect", **_endpoints(base), session=session)
        yield Holder(base, clock, session, adapter)


@pytest.fixture
async def linked(holder: Holder) -> HolderLink:
    query = await holder.link()
    return await holder.adapter.complete_link(query=query, redirect_uri=CALLBACK)


async def _read(adapter: HolderAdapter, resource: str, **period: date) -> tuple[list[bytes], Any]:
    async with adapter.fetch(credential=CREDENTIAL, resource=resource, **{**JUNE, **period}) as s:
        assert (s.status, s.content_type) == (200, "application/json")
        chunks = [chunk async for chunk in s]
    return chunks, json.loads(b"".join(chunks))


async def test_linking_through_the_consent_page_yields_the_usage_point(holder: Holder) -> None:
    query = await holder.link()
    assert query["state"] == "st-9"
    link = await holder.adapter.complete_link(query=query, redirect_uri=CALLBACK)
    assert link == HolderLink(holder_subject=PRM, credential={"usage_point_id": PRM})


async def test_a_refusal_on_the_consent_page_is_access_denied(holder: Holder) -> None:
    query = await holder.link("refuse")
    with pytest.raises(HolderError) as caught:
        await holder.adapter.complete_link(query=query, redirect_uri=CALLBACK)
    assert (caught.value.status, caught.value.code) == (403, "access_denied")


@pytest.mark.usefixtures("linked")
async def test_fetch_streams_the_body_in_chunks_in_the_published_shape(holder: Holder) -> None:
    adapter = holder.make_adapter(chunk_size=1024)
    chunks, body = await _read(adapter, "daily_consumption", start=date(2023, 6, 15))
    assert len(chunks) > 5 and all(len(chunk) <= 1024 for chunk in chunks)
    assert len(body["meter_reading"]["interval_reading"]) == (JUNE["end"] - date(2023, 6, 15)).days
    document = json.loads((SWAGGER / "03-metering-consommation-daily.json").read_text("utf-8"))
    assert violations(document, response_schema(document, "/daily_consumption"), body) == []


@pytest.mark.usefixtures("linked")
async def test_customer_resources_are_fetched_without_a_period(holder: Holder) -> None:
    _, body = await _read(holder.adapter, "identity")
    assert body["identity"]["natural_person"]["firstname"] == "Camille"


@pytest.mark.usefixtures("linked")
async def test_a_large_body_streams_through_and_an_early_exit_frees_the_connection(
    holder: Holder,
) -> None:
    chunks, body = await _read(holder.adapter, "big")
    assert len(chunks) > 4
    assert sum(map(len, chunks)) >= 1024 * 1024 - 1024
    assert body["meter_reading"]["interval_reading"]
    async with holder.adapter.fetch(credential=CREDENTIAL, resource="big", **JUNE) as stream:
        async for _ in stream:
            break  # the reader stops after one chunk
    _, again = await _read(holder.adapter, "daily_consumption")
    assert len(again["meter_reading"]["interval_reading"]) == 7


@pytest.mark.usefixtures("linked")
async def test_a_load_curve_over_seven_days_is_adam_dc_0015(holder: Holder) -> None:
    # A manifest claiming more than Enedis's 7 days per call: the call goes out whole and
    # Enedis refuses it (within the limit, the adapter splits and stitches instead).
    adapter = holder.make_adapter(max_days={"consumption_load_curve": 30})
    with pytest.raises(HolderError) as caught:
        await _read(adapter, "consumption_load_curve", end=date(2024, 6, 9))
    assert (caught.value.status, caught.value.code) == (400, "ADAM-DC-0015")
    assert caught.value.retry_after is None


@pytest.mark.usefixtures("linked")
async def test_a_consent_withdrawn_at_enedis_is_adam_dc_0008(holder: Holder) -> None:
    await _read(holder.adapter, "daily_consumption")
    async with holder.session.post(
        holder.base + "/_simulator/consents/revoke",
        json={"usage_point_id": PRM, "client_id": CLIENT_ID},
    ) as response:
        assert response.status == 200
    with pytest.raises(HolderError) as caught:
        await _read(holder.adapter, "daily_consumption")
    assert (caught.value.status, caught.value.code) == (403, "ADAM-DC-0008")


@pytest.mark.parametrize("quota_per_second", [1])
@pytest.mark.usefixtures("linked")
async def test_quota_answers_carry_retry_after(holder: Holder) -> None:
    await _read(holder.adapter, "daily_consumption")
    with pytest.raises(HolderError) as caught:
        await _read(holder.adapter, "daily_consumption")
    assert (caught.value.status, caught.value.code) == (429, "Quota Q3")
    assert caught.value.retry_after == 1.0


@pytest.mark.usefixtures("linked")
async def test_one_token_call_serves_concurrent_fetches(holder: Holder) -> None:
    resources = ["daily_consumption", "consumption_load_curve", "daily_production", "contracts"]
    await asyncio.gather(*(_read(holder.adapter, r) for r in resources))
    await _read(holder.adapter, "addresses")
    assert (await holder.stats())["/oauth2/v3/token"] == 1


@pytest.mark.usefixtures("linked")
async def test_a_token_refused_by_enedis_is_refreshed_once(holder: Holder) -> None:
    await _read(holder.adapter, "daily_consumption")
    holder.clock.now += 12_600  # expired at Enedis, while our cache still trusts it
    await _read(holder.adapter, "daily_consumption")
    stats = await holder.stats()
    assert stats["/oauth2/v3/token"] == 2
    assert stats["/metering_data_dc/v5/daily_consumption"] == 3


async def test_wrong_client_credentials_are_the_holders_invalid_client(holder: Holder) -> None:
    adapter = EnedisDataConnectAdapter(
        **{**_endpoints(holder.base), "client_secret": "wrong"}, session=holder.session
    )
    with pytest.raises(HolderError) as caught:
        await _read(adapter, "daily_consumption")
    assert (caught.value.status, caught.value.code) == (401, "invalid_client")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_holder_that_is_down_is_unavailable(session: aiohttp.ClientSession) -> None:
    adapter = build_adapter(
        "enedis-dataconnect", **_endpoints(f"http://127.0.0.1:{_closed_port()}"), session=session
    )
    with pytest.raises(HolderUnavailable):
        await _read(adapter, "daily_consumption")


async def _broken(request: web.Request) -> web.StreamResponse:
    if request.path == "/oauth2/v3/token":
        return web.json_response({"access_token": "t", "token_type": "Bearer", "expires_in": 99})
    if request.path.startswith("/metering_data_dc"):
        return web.Response(status=502, text="<html>Bad gateway</html>", content_type="text/html")
    if request.path.startswith("/customers_i"):
        return web.Response(status=400, text="oops")
    return web.Response(status=200, text="<html>maintenance</html>", content_type="text/html")


@pytest.mark.parametrize("resource", ["daily_consumption", "identity", "contact_data"])
async def test_garbage_and_5xx_are_unavailable(
    session: aiohttp.ClientSession, resource: str
) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _broken)
    async for base in _start(app):
        adapter = build_adapter("enedis-dataconnect", **_endpoints(base), session=session)
        with pytest.raises(HolderUnavailable):
            await _read(adapter, resource)
