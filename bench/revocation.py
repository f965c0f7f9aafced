"""Figure 3: from a revocation to the first refused request, on the instance that took the
revocation and on a second instance sharing the PostgreSQL database.

Each trial makes a fresh grant, keeps data requests going on both instances, revokes the
grant through ``POST /oauth/revoke`` (the service ends it with its refresh token) on the
first instance, and keeps polling until both refuse. The revocation's moment is when its
answer arrives: by then it is committed. A request *sent* after that moment and served
anyway is a request served after the revocation; one sent before and answered after was
already in flight and is counted apart.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.stack import HOLDER, Stack, cookie_session, data_range

# Enough pollers that one is always about to send: the gap between two requests, not a
# request's own duration, bounds how late a refusal can be seen.
POLLERS_PER_INSTANCE = 4
MAX_WAIT_S = 5.0


@dataclass
class Sample:
    sent: float
    done: float
    status: int


@dataclass
class Poller:
    url: str
    token: str
    samples: list[Sample] = field(default_factory=list)
    stop: bool = False

    async def run(self, http: aiohttp.ClientSession) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        # One day of daily data: the cheapest real transfer, so polls come often.
        params = data_range("daily_consumption", days=1)
        while not self.stop:
            sent = time.perf_counter()
            async with http.get(self.url, params=params, headers=headers) as response:
                await response.read()
            self.samples.append(Sample(sent, time.perf_counter(), response.status))

    def refused_since(self, moment: float) -> bool:
        return any(s.status != 200 and s.sent >= moment for s in self.samples)


def _instance_result(pollers: list[Poller], revoked_at: float) -> dict[str, Any]:
    samples = [s for p in pollers for s in p.samples]
    refused = [s.done for s in samples if s.status != 200]
    first = min(refused) if refused else None
    return {
        "first_refusal_ms": None if first is None else round((first - revoked_at) * 1000, 3),
        "served_after": sum(1 for s in samples if s.status == 200 and s.sent >= revoked_at),
        "in_flight_served": sum(
            1 for s in samples if s.status == 200 and s.sent < revoked_at < s.done
        ),
        "requests": len(samples),
    }


async def _trial(stack: Stack, http: aiohttp.ClientSession) -> dict[str, Any]:
    grant = await stack.grant(http)
    path = f"/v1/data/{HOLDER}/daily_consumption"
    instances = {
        name: [
            Poller(server.url + path, grant["access_token"]) for _ in range(POLLERS_PER_INSTANCE)
        ]
        for name, server in (("same", stack.brokers[0]), ("other", stack.brokers[1]))
    }
    everyone = [p for group in instances.values() for p in group]
    tasks = [asyncio.create_task(p.run(http)) for p in everyone]
    await asyncio.sleep(0.3)  # both instances are serving the grant
    party = stack.party
    async with http.post(
        f"{party.broker_url}/oauth/revoke",
        data={"token": grant["refresh_token"], "token_type_hint": "refresh_token"},
        headers=party.basic_auth(),
    ) as response:
        await response.read()
        revoke_status = response.status
    revoked_at = time.perf_counter()
    deadline = revoked_at + MAX_WAIT_S
    while time.perf_counter() < deadline:
        if all(p.refused_since(revoked_at) for p in everyone):
            break
        await asyncio.sleep(0.005)
    for poller in everyone:
        poller.stop = True
    await asyncio.gather(*tasks)
    result: dict[str, Any] = {
        name: _instance_result(group, revoked_at) for name, group in instances.items()
    }
    result["revoke_status"] = revoke_status
    return result


async def measure(stack: Stack, trials: int) -> dict[str, Any]:
    async with cookie_session(limit=20) as http:
        runs = [await _trial(stack, http) for _ in range(trials)]

    def worst(instance: str, key: str) -> float | None:
        values = [r[instance][key] for r in runs if r[instance][key] is not None]
        return max(values) if values else None

    return {
        "trials": runs,
        "same_instance_first_refusal_ms_max": worst("same", "first_refusal_ms"),
        "other_instance_first_refusal_ms_max": worst("other", "first_refusal_ms"),
        "all_refused": all(
            r[name]["first_refusal_ms"] is not None for r in runs for name in ("same", "other")
        ),
        "same_instance_served_after": sum(r["same"]["served_after"] for r in runs),
        "other_instance_served_after": sum(r["other"]["served_after"] for r in runs),
    }
