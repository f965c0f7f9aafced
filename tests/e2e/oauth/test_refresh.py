"""``POST /oauth/token``, ``refresh_token`` grant: rotation and reuse detection
(RFC 6749 §6, RFC 9700 §4.14.2), on both stores."""

from __future__ import annotations

import asyncio

import aiohttp
from sqlalchemy import select

from broker.storage.tables import consents, ledger, tokens
from tests.support.flow import connect, refresh, token_request
from tests.support.stack import Stack
from tests.support.stores import stack_on_both_stores  # noqa: F401 (the stack fixture)


def _form(refresh_token: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


async def test_a_refresh_rotates_both_tokens(stack: Stack, http: aiohttp.ClientSession) -> None:
    first = await connect(stack, http)
    second = await refresh(stack, http, first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["grant_id"] == first["grant_id"]
    assert second["authorization_details"] == first["authorization_details"]
    third = await refresh(stack, http, second["refresh_token"])
    assert third["grant_id"] == first["grant_id"]


async def test_reusing_a_rotated_refresh_token_revokes_the_grant(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    first = await connect(stack, http)
    second = await refresh(stack, http, first["refresh_token"])
    status, body = await token_request(stack, http, _form(first["refresh_token"]))
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await token_request(stack, http, _form(second["refresh_token"]))
    assert (status, body["error"]) == (400, "invalid_grant")
    async with stack.engine.connect() as conn:
        state = await conn.scalar(select(consents.c.state))
        entry = (await conn.execute(select(ledger).order_by(ledger.c.seq.desc()).limit(1))).one()
    assert state == "revoked_by_holder"
    assert entry.kind == "consent.revoked"
    assert entry.actor == "operator:security"
    assert entry.details["reason"] == "refresh_token_reuse"
    assert entry.details["tokens_revoked"] >= 2
    async with stack.engine.connect() as conn:
        revoked = [r.revoked_at for r in await conn.execute(select(tokens.c.revoked_at))]
    assert len(revoked) == 4 and all(revoked)


async def test_of_two_concurrent_refreshes_exactly_one_succeeds(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    first = await connect(stack, http)
    answers = await asyncio.gather(
        token_request(stack, http, _form(first["refresh_token"])),
        token_request(stack, http, _form(first["refresh_token"])),
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 400]
    assert [b["error"] for s, b in answers if s == 400] == ["invalid_grant"]


async def test_a_refresh_token_of_another_client_or_an_access_token_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    first = await connect(stack, http)
    status, body = await token_request(stack, http, _form(first["access_token"]))
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await token_request(stack, http, _form("ag_rt_unknown"))
    assert (status, body["error"]) == (400, "invalid_grant")
    # Neither attempt counted as a reuse: the grant still works.
    await refresh(stack, http, first["refresh_token"])


async def test_a_refresh_after_the_grant_ended_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    from tests.support.flow import coach_auth

    first = await connect(stack, http)
    async with http.delete(
        f"{stack.broker_url}/oauth/grants/{first['grant_id']}", headers=coach_auth(stack)
    ) as response:
        assert response.status == 204
    status, body = await token_request(stack, http, _form(first["refresh_token"]))
    assert (status, body["error"]) == (400, "invalid_grant")
