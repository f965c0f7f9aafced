"""``GET``/``DELETE /oauth/grants/{grant_id}`` (OpenID Grant Management)."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select

from broker.operator import register_service
from broker.storage.tables import consents, ledger
from tests.support.flow import basic_auth, coach_auth, connect
from tests.support.stack import Stack


async def test_the_service_reads_its_grant(stack: Stack, http: aiohttp.ClientSession) -> None:
    tokens = await connect(stack, http, accept_resources=["daily_consumption"])
    url = f"{stack.broker_url}/oauth/grants/{tokens['grant_id']}"
    async with http.get(url, headers=coach_auth(stack)) as response:
        assert response.status == 200
        grant = await response.json()
    assert grant["grant_id"] == tokens["grant_id"]
    assert grant["status"] == "active"
    assert grant["authorization_details"][0]["resources"] == ["daily_consumption"]
    assert grant["holder_linked"] is True
    assert grant["created_at"] and grant["expires_at"]


async def test_deleting_a_grant_terminates_it_and_is_idempotent(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    url = f"{stack.broker_url}/oauth/grants/{tokens['grant_id']}"
    for _ in range(2):
        async with http.delete(url, headers=coach_auth(stack)) as response:
            assert response.status == 204
    async with stack.engine.connect() as conn:
        assert await conn.scalar(select(consents.c.state)) == "terminated_by_service"
        reasons = [
            r.details.get("reason")
            for r in await conn.execute(select(ledger).where(ledger.c.kind == "consent.revoked"))
        ]
    assert reasons == ["terminated_by_service"]
    async with http.get(url, headers=coach_auth(stack)) as response:
        assert (await response.json())["status"] == "terminated_by_service"
    async with http.post(
        f"{stack.broker_url}/oauth/introspect",
        data={"token": tokens["access_token"]},
        headers=coach_auth(stack),
    ) as response:
        assert (await response.json())["active"] is False


async def test_another_clients_grant_does_not_exist(
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
    url = f"{stack.broker_url}/oauth/grants/{tokens['grant_id']}"
    for method in ("GET", "DELETE"):
        async with http.request(method, url, headers=other) as response:
            assert response.status == 404
            assert (await response.json())["error"] == "invalid_request"
    async with http.get(url) as response:
        assert response.status == 401
    async with stack.engine.connect() as conn:
        assert await conn.scalar(select(consents.c.state)) == "active"
