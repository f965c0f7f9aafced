"""Holder records are cached per instance (``broker/holder_cache.py``); a change made
through instance A reaches instance B through PostgreSQL ``NOTIFY``, not by waiting for the
cache to age (it is set to five minutes here)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from sqlalchemy import select, text, update

from broker.holder_cache import APPLICATION_NAME, invalidate_holder
from broker.storage.tables import holders
from tests.e2e.data.support import Grant, data_url, days_ago, grant
from tests.support.processes import Cluster, running_cluster
from tests.support.stack import OPERATOR_TOKEN, Stack

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
CURVE = "consumption_load_curve"


async def _fetch(stack: Stack, http: aiohttp.ClientSession, live: Grant, resource: str) -> str:
    params = {"start": days_ago(3), "end": days_ago(1)}
    async with http.get(data_url(stack, resource), params=params, headers=live.auth) as response:
        await response.read()
        if response.status == 200:
            return "200"
        return f"{response.status} {(await response.json(content_type=None))['reason']}"


async def _eventually(
    probe: Callable[[], Awaitable[str]], expected: str, within: float = 3.0
) -> float:
    """Poll ``probe()`` until it returns ``expected``; the seconds it took."""
    started = time.monotonic()
    while True:
        got = await probe()
        if got == expected:
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"still {got!r} after {within} s"
        await asyncio.sleep(0.05)


async def _listening(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    for instance in cluster.instances.values():

        async def gauge(url: str = instance.url) -> str:
            async with http.get(f"{url}/metrics") as response:
                text = await response.text()
            return "on" if "aiguillage_holder_cache_enabled 1.0" in text else "off"

        await _eventually(gauge, "on", within=20)


async def test_a_holder_change_through_one_instance_is_seen_by_the_other(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    async with running_cluster(
        tmp_path, operator_token=OPERATOR_TOKEN, holder_cache_seconds=300
    ) as cluster:
        await _listening(cluster, http)
        on_a, on_b = cluster.stack("a"), cluster.stack("b")
        first = await grant(on_a, http)
        assert await _fetch(on_b, http, first, CURVE) == "200"  # B now holds Enedis in memory

        # A change that tells nobody: B keeps serving from memory, so the cache is in use.
        async with cluster.engine.begin() as conn:
            manifest = (
                await conn.execute(select(holders.c.manifest).where(holders.c.id == "enedis"))
            ).scalar_one()
            curve_gone = {
                **manifest,
                "resources": [r for r in manifest["resources"] if r["name"] != CURVE],
            }
            await conn.execute(
                update(holders).where(holders.c.id == "enedis").values(manifest=curve_gone)
            )
        assert await _fetch(on_b, http, first, CURVE) == "200"

        # Announced in a transaction (what PUT /v1/holders/{id} does with its change).
        async with cluster.engine.begin() as conn:
            await invalidate_holder(conn, "enedis")
        await _eventually(lambda: _fetch(on_b, http, first, CURVE), "404 not_found")
        async with cluster.engine.begin() as conn:
            await conn.execute(
                update(holders).where(holders.c.id == "enedis").values(manifest=manifest)
            )
            await invalidate_holder(conn, "enedis")
        await _eventually(lambda: _fetch(on_b, http, first, CURVE), "200")

        # Through instance A's own code: a blacklist, then lifting it. B read the holder
        # (blacklist included) in between; once A lifts it, B serves a new grant at once.
        blacklist = f"{on_a.broker_url}/v1/holders/enedis/blacklist"
        body = {"service": on_a.coach_id, "reason": "audit"}
        async with http.post(blacklist, json=body, headers=OPERATOR) as response:
            assert response.status == 200, await response.text()
        assert (await _fetch(on_b, http, first, CURVE)).startswith("403")
        async with http.delete(f"{blacklist}/{on_a.coach_id}", headers=OPERATOR) as response:
            assert response.status == 204
        second = await grant(on_a, http)
        await _eventually(lambda: _fetch(on_b, http, second, CURVE), "200", within=2.0)

        # The listening connections die (a PostgreSQL restart, a network cut): the caches
        # turn off, the listeners reconnect, and notices reach them again. Only this
        # cluster's: other tests' clusters listen on the same server meanwhile.
        async with cluster.engine.begin() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": APPLICATION_NAME},
            )
        assert killed == 2
        await _listening(cluster, http)
        assert await _fetch(on_b, http, second, CURVE) == "200"
        async with cluster.engine.begin() as conn:
            await conn.execute(
                update(holders).where(holders.c.id == "enedis").values(manifest=curve_gone)
            )
            await invalidate_holder(conn, "enedis")
        await _eventually(lambda: _fetch(on_b, http, second, CURVE), "404 not_found")
