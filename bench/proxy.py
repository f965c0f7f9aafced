"""Figure 1: the same data requests straight to the holder simulator and through the
broker, at the same concurrency, in the same run.

Two resources (a year of ``daily_consumption``, 7 days of ``consumption_load_curve``) at
two concurrencies: 1, where the difference of latencies is the broker's own cost per
request, and ``concurrency``, where the ratio of throughputs shows what it costs a busy
service. Direct and proxied passes alternate, several short ones each (``ROUNDS``), so that
a change in machine load hits both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.load import Call, Run, closed_loop
from bench.stack import HOLDER, PRM, Stack, cookie_session, data_range
from providers.enedis.resources import ENEDIS_RESOURCES

RESOURCES = ("daily_consumption", "consumption_load_curve")


@dataclass(frozen=True)
class Plan:
    concurrency: int
    requests: int
    seconds: float
    warmup: int


QUICK = Plan(concurrency=8, requests=300, seconds=2.0, warmup=10)
FULL = Plan(concurrency=16, requests=4000, seconds=8.0, warmup=50)


async def _holder_token(stack: Stack, http: aiohttp.ClientSession) -> str:
    async with http.post(
        f"{stack.simulator.url}/oauth2/v3/token",
        data={"grant_type": "client_credentials"},
        headers=stack.simulator_auth(),
    ) as response:
        body = await response.json()
        return str(body["access_token"])


def _caller(http: aiohttp.ClientSession, url: str, params: dict[str, str], token: str) -> Call:
    headers = {"Authorization": f"Bearer {token}"}

    async def call(_index: int) -> bool:
        async with http.get(url, params=params, headers=headers) as response:
            await response.read()
            return response.status == 200

    return call


# Each side's requests are sent in this many short passes, the two sides alternating.
ROUNDS = 4


async def _alternating(
    direct: Call, proxied: Call, plan: Plan, concurrency: int
) -> tuple[Run, Run]:
    """Both sides measured in ``ROUNDS`` short passes each, alternating (direct, proxied,
    direct, ...), their samples pooled. The host's speed moves within seconds (the
    yardstick, docs/performance.md round eight): one long pass of each let a change
    between the two passes land on one side only, and the difference of two medians
    moved by more than the broker's own cost from one run to the next. Within a pass the
    requests still follow each other as one service's would."""
    for call in (direct, proxied):
        await closed_loop(call, concurrency=concurrency, requests=plan.warmup, seconds=plan.seconds)
    pooled = (Run(), Run())
    for _ in range(ROUNDS):
        for call, into in zip((direct, proxied), pooled, strict=True):
            run = await closed_loop(
                call,
                concurrency=concurrency,
                requests=plan.requests // ROUNDS,
                seconds=plan.seconds / ROUNDS,
            )
            into.latencies += run.latencies
            into.failures += run.failures
            into.elapsed += run.elapsed
    return pooled


async def measure(stack: Stack, plan: Plan) -> dict[str, Any]:
    async with cookie_session(limit=plan.concurrency * 2) as http:
        access = (await stack.grant(http))["access_token"]
        holder_token = await _holder_token(stack, http)
        results: dict[str, Any] = {}
        for resource in RESOURCES:
            dates = data_range(resource)
            direct = _caller(
                http,
                stack.simulator.url + ENEDIS_RESOURCES[resource],
                {"usage_point_id": PRM, **dates},
                holder_token,
            )
            proxied = _caller(
                http, f"{stack.broker.url}/v1/data/{HOLDER}/{resource}", dates, access
            )
            per_level: dict[str, Any] = {}
            for concurrency in (1, plan.concurrency):
                d, p = await _alternating(direct, proxied, plan, concurrency)
                per_level["c1" if concurrency == 1 else "loaded"] = _compare(d, p, concurrency)
            results[resource] = per_level
    return {"plan": plan.__dict__, "resources": results}


def _compare(direct: Run, proxied: Run, concurrency: int) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "direct": direct.summary(),
        "proxied": proxied.summary(),
        "throughput_ratio": round(proxied.per_second / direct.per_second, 3)
        if direct.per_second
        else 0.0,
        "added_p50_ms": round(proxied.percentile_ms(50) - direct.percentile_ms(50), 3),
        "added_p99_ms": round(proxied.percentile_ms(99) - direct.percentile_ms(99), 3),
    }
