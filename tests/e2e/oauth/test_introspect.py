"""``POST /oauth/introspect`` (RFC 7662), for authenticated clients only, on both stores:
SQLite reads a ``client_secret_basic`` client on its shared read-only connections,
PostgreSQL in one statement on asyncpg outside any transaction (``broker.oauth.introspect``);
either way a wrong secret, a suspension, a revocation count at the next request."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from broker.operator import register_service
from broker.storage.uow import SqlUnitOfWork
from consent.registry import ServiceStatus
from tests.support.flow import basic_auth, coach_auth, connect
from tests.support.stack import Stack
from tests.support.stores import stack_on_both_stores  # noqa: F401 (the stack fixture)


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


async def test_a_wrong_secret_or_a_suspended_client_is_refused_at_once(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    wrong = basic_auth(stack.coach_id, "not-the-secret")
    status, body = await _introspect(stack, http, tokens["access_token"], wrong)
    assert (status, body["error"]) == (401, "invalid_client")
    assert (await _introspect(stack, http, tokens["access_token"]))[1]["active"] is True
    async with SqlUnitOfWork(stack.engine) as uow:  # what an operator's suspension writes
        assert await uow.services.set_status(stack.coach_id, ServiceStatus.SUSPENDED)
        await uow.commit()
    status, body = await _introspect(stack, http, tokens["access_token"])
    assert (status, body["error"]) == (401, "invalid_client")
