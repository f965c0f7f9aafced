"""``POST /oauth/revoke`` (RFC 7009)."""

from __future__ import annotations

import aiohttp
from sqlalchemy import select

from broker.storage.tables import consents, ledger
from tests.support.flow import coach_auth, connect, token_request
from tests.support.stack import Stack


async def _revoke(
    stack: Stack, http: aiohttp.ClientSession, form: dict[str, str], auth: bool = True
) -> tuple[int, str]:
    headers = coach_auth(stack) if auth else {}
    async with http.post(f"{stack.broker_url}/oauth/revoke", data=form, headers=headers) as r:
        return r.status, await r.text()


async def _introspect(stack: Stack, http: aiohttp.ClientSession, token: str) -> bool:
    async with http.post(
        f"{stack.broker_url}/oauth/introspect", data={"token": token}, headers=coach_auth(stack)
    ) as response:
        return bool((await response.json())["active"])


async def test_revoking_an_access_token_kills_it_alone(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    status, body = await _revoke(
        stack, http, {"token": tokens["access_token"], "token_type_hint": "access_token"}
    )
    assert (status, body) == (200, "")
    assert not await _introspect(stack, http, tokens["access_token"])
    assert await _introspect(stack, http, tokens["refresh_token"])
    async with stack.engine.connect() as conn:
        assert await conn.scalar(select(consents.c.state)) == "active"


async def test_revoking_a_refresh_token_ends_the_grant(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    status, _ = await _revoke(stack, http, {"token": tokens["refresh_token"]})
    assert status == 200
    assert not await _introspect(stack, http, tokens["access_token"])
    async with stack.engine.connect() as conn:
        assert await conn.scalar(select(consents.c.state)) == "terminated_by_service"
        entry = (await conn.execute(select(ledger).order_by(ledger.c.seq.desc()).limit(1))).one()
    assert entry.actor == f"service:{stack.coach_id}"
    assert entry.details["reason"] == "refresh_token_revoked"
    refreshed, body = await token_request(
        stack, http, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert (refreshed, body["error"]) == (400, "invalid_grant")


async def test_unknown_tokens_get_200_and_nothing_happens(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    assert (await _revoke(stack, http, {"token": "ag_at_nothing"}))[0] == 200
    assert await _introspect(stack, http, tokens["access_token"])


async def test_revocation_requires_client_authentication_and_a_token(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    tokens = await connect(stack, http)
    status, _ = await _revoke(stack, http, {"token": tokens["access_token"]}, auth=False)
    assert status == 401
    status, body = await _revoke(stack, http, {})
    assert status == 400 and "invalid_request" in body
    assert await _introspect(stack, http, tokens["access_token"])
