"""A consent revoked through one instance is refused by the others on their next request.

The broker keeps no copy of grant state between requests: every data request reads the
consent from the shared database, so no invalidation message can be late or lost.
"""

from __future__ import annotations

import aiohttp

from tests.e2e.data.support import data_url, days_ago, grant, revoke_on_dashboard
from tests.support.processes import Cluster


async def _fetch(url: str, http: aiohttp.ClientSession, auth: dict[str, str]) -> tuple[int, str]:
    params = {"start": days_ago(3), "end": days_ago(1)}
    async with http.get(url, params=params, headers=auth) as response:
        body = await response.json(content_type=None)
        return response.status, str(body.get("reason", "")) if isinstance(body, dict) else ""


async def test_a_consent_revoked_on_instance_a_is_refused_by_instance_b(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    on_a, on_b = cluster.stack("a"), cluster.stack("b")
    live = await grant(on_a, http)
    assert (await _fetch(data_url(on_b), http, live.auth))[0] == 200

    await revoke_on_dashboard(on_a, http, live.grant_id)

    assert await _fetch(data_url(on_b), http, live.auth) == (403, "consent_revoked")
    assert await _fetch(data_url(on_a), http, live.auth) == (403, "consent_revoked")
