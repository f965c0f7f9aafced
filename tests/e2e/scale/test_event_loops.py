"""``aiguillage serve`` runs on uvloop unless ``AIGUILLAGE_EVENT_LOOP=asyncio`` says
otherwise (broker/event_loop.py), and the broker behaves the same on either: a transfer
through each, and a revocation made on one refused at once by the other."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.e2e.data.support import data_url, days_ago, grant, revoke_on_dashboard
from tests.support.processes import ServerProcess, running_cluster


def _serving_on(instance: ServerProcess) -> str:
    (event,) = [e for e in instance.log_events() if e.get("event") == "broker.serving"]
    return str(event["event_loop"])


async def test_instances_on_uvloop_and_on_asyncio_serve_and_revoke_alike(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_cluster(tmp_path, start=False) as cluster:
        on_uvloop = await cluster.start("a")
        on_asyncio = await cluster.start("b", {**cluster.env, "AIGUILLAGE_EVENT_LOOP": "asyncio"})
        assert _serving_on(on_uvloop) == "uvloop"
        assert _serving_on(on_asyncio) == "asyncio"

        a, b = cluster.stack("a"), cluster.stack("b")
        live = await grant(a, http)
        params = {"start": days_ago(3), "end": days_ago(1)}
        for stack in (a, b):
            async with http.get(data_url(stack), params=params, headers=live.auth) as response:
                assert response.status == 200
                assert (await response.json())["meter_reading"]["interval_reading"]

        await revoke_on_dashboard(b, http, live.grant_id)
        async with http.get(data_url(a), params=params, headers=live.auth) as response:
            assert response.status == 403
            assert (await response.json(content_type=None))["reason"] == "consent_revoked"
