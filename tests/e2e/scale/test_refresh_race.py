"""Concurrent refreshes with one refresh token, sent to different instances: exactly one
succeeds. The others are reuse (RFC 9700 §4.14.2): the grant is revoked, as on one
instance (``broker/oauth/refresh.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.e2e.data.support import grant
from tests.support.flow import token_request
from tests.support.processes import Cluster

RACERS = 6


async def test_concurrent_refreshes_on_two_instances_let_exactly_one_through(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    live = await grant(cluster.stack("a"), http)
    assert live.refresh_token is not None
    form = {"grant_type": "refresh_token", "refresh_token": live.refresh_token}
    stacks = [cluster.stack("a" if i % 2 else "b") for i in range(RACERS)]
    answers: list[tuple[int, dict[str, Any]]] = await asyncio.gather(
        *(token_request(stack, http, dict(form)) for stack in stacks)
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [400] * (RACERS - 1)
    errors = {body["error"] for status, body in answers if status != 200}
    assert errors == {"invalid_grant"}, answers
