"""``POST /oauth/introspect`` (RFC 7662), for authenticated clients only, on both stores:
SQLite reads a ``client_secret_basic`` client on its shared read-only connections,
PostgreSQL in a read-only unit of work (``broker.oauth.introspect``)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from broker.operator import register_service
from tests.support.databases import fresh_database
from tests.support.flow import basic_auth, coach_auth, connect
from tests.support.stack import Stack, running_stack


@pytest.fixture(params=["sqlite", "postgresql"])
async def stack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stack]:
    async with (
        fresh_database(request.param, tmp_path) as url,
        running_stack(tmp_path, database_url=url) as running,
    ):
        yield running


async def _introspect(
    stack: Stack, http: aiohttp.ClientSession, token: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    async with http.post(
        f"{stack.broker_url}/oauth/introspect",
        data={"token": token},
        headers=coach_auth(stack) if headers is None else headers,
    ) as response:
        return response.status, await response.json()


async def test_introspection_requires_client_authentication(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    status, body = await _introspect(stack, http, tokens["access_token"], headers={})
    assert (status, body["error"]) == (401, "invalid_client")


async def test_an_active_access_token_is_described(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    status, body = await _introspect(stack, http, tokens["access_token"])
    assert status == 200
    assert body["active"] is True
    assert body["client_id"] == stack.coach_id
    assert body["token_type"] == "access_token"
    assert body["grant_id"] == tokens["grant_id"]
    assert body["sub"].startswith("res_")
    assert body["authorization_details"] == tokens["authorization_details"]
    assert body["exp"] - body["iat"] == 600
    assert abs(body["iat"] - time.time()) < 60
    _, refresh = await _introspect(stack, http, tokens["refresh_token"])
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"


async def test_revoked_unknown_and_foreign_tokens_are_inactive(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    payload = {
        "registration": {
            "client_id": "other-app",
            "name": "Other",
            "redirect_uris": [stack.coach_redirect_uri],
            "purposes": [{"code": "energy_coaching", "sentence_fr": "Conseils."}],
            "privacy_policy_url": "https://other.example/privacy",
        },
        "client_secret": "other-secret-0123456789",
    }
    await register_service(stack.engine, payload, approve=True)
    other = basic_auth("other-app", "other-secret-0123456789")
    assert (await _introspect(stack, http, tokens["access_token"], other))[1] == {"active": False}
    assert (await _introspect(stack, http, "ag_at_unknown"))[1] == {"active": False}
    async with http.post(
        f"{stack.broker_url}/oauth/revoke",
        data={"token": tokens["access_token"]},
        headers=coach_auth(stack),
    ) as response:
        assert response.status == 200
    assert (await _introspect(stack, http, tokens["access_token"]))[1] == {"active": False}
