"""Refresh token attacks (RFC 9700 §4.14). Rotation reuse, concurrent refreshes and a
refresh after the grant ended are in ``tests/e2e/oauth/test_refresh.py``; revocation by
the owner in ``tests/e2e/oauth/test_revoke.py``. Here: another client holding the token."""

from __future__ import annotations

import aiohttp

from tests.e2e.attacks.support import post_form, register_attacker
from tests.support.flow import connect, refresh, token_request
from tests.support.stack import Stack


async def test_a_refresh_token_used_by_another_client_is_refused_without_harm(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    attacker = await register_attacker(stack)
    tokens = await connect(stack, http)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    status, body = await post_form(http, f"{stack.broker_url}/oauth/token", form, attacker)
    assert (status, body["error"]) == (400, "invalid_grant")
    # Not counted as a reuse: the attacker cannot get the victim's grant revoked either.
    assert (await refresh(stack, http, tokens["refresh_token"]))["grant_id"] == tokens["grant_id"]


async def test_another_client_cannot_revoke_or_introspect_the_token(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    attacker = await register_attacker(stack)
    tokens = await connect(stack, http)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        status, _ = await _revoke(http, stack, attacker, token)
        assert status == 200  # RFC 7009 §2.2: the same answer, and nothing happens
        status, body = await post_form(
            http, f"{stack.broker_url}/oauth/introspect", {"token": token}, attacker
        )
        assert (status, body) == (200, {"active": False})
    fresh = await refresh(stack, http, tokens["refresh_token"])
    assert fresh["grant_id"] == tokens["grant_id"]


async def test_a_refresh_token_revoked_by_its_client_is_dead(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    from tests.support.flow import coach_auth

    tokens = await connect(stack, http)
    rotated = await refresh(stack, http, tokens["refresh_token"])
    status, _ = await _revoke(http, stack, coach_auth(stack), rotated["refresh_token"])
    assert status == 200
    for token in (tokens["refresh_token"], rotated["refresh_token"]):
        status, body = await token_request(
            stack, http, {"grant_type": "refresh_token", "refresh_token": token}
        )
        assert (status, body["error"]) == (400, "invalid_grant")


async def _revoke(
    http: aiohttp.ClientSession, stack: Stack, auth: dict[str, str], token: str
) -> tuple[int, str]:
    async with http.post(
        f"{stack.broker_url}/oauth/revoke", data={"token": token}, headers=auth
    ) as response:
        return response.status, await response.text()
