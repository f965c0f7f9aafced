"""``POST /oauth/token``, ``authorization_code`` grant (RFC 6749 §4.1.3, RFC 7636 §4.6), on
both stores."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
from sqlalchemy import select, update

from broker.storage.tables import auth_codes, services, tokens
from consent.registry import ServiceStatus
from tests.support.flow import (
    AuthorizationResult,
    authorize,
    basic_auth,
    coach_auth,
    exchange,
    pkce_pair,
    token_request,
)
from tests.support.stack import Stack
from tests.support.stores import stack_on_both_stores  # noqa: F401 (the stack fixture)


def _code_form(stack: Stack, result: AuthorizationResult, **changes: str) -> dict[str, str]:
    assert result.code is not None
    form = {
        "grant_type": "authorization_code",
        "code": result.code,
        "redirect_uri": stack.coach_redirect_uri,
        "code_verifier": result.verifier,
    }
    return form | changes


async def test_a_code_buys_an_access_and_a_refresh_token(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http)
    assert result.code is not None
    async with http.post(
        f"{stack.broker_url}/oauth/token",
        data=_code_form(stack, result),
        headers={
            "Authorization": "Basic "
            + __import__("base64")
            .b64encode(f"{stack.coach_id}:{stack.coach_secret}".encode())
            .decode()
        },
    ) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.json()
    assert body["access_token"].startswith("ag_at_")
    assert body["refresh_token"].startswith("ag_rt_")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["grant_id"].startswith("grant_")
    assert body["authorization_details"] == [
        {
            **result.details,
            "frequency": "daily",
            "data_window": {"history": "P12M", "include_future": True},
        }
    ]
    async with stack.engine.connect() as conn:
        stored = [r.token_hash for r in await conn.execute(select(tokens.c.token_hash))]
    assert body["access_token"] not in stored and body["refresh_token"] not in stored


async def test_a_replayed_code_is_refused_and_revokes_the_tokens_it_bought(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http)
    assert result.code is not None
    await exchange(stack, http, result.code, result.verifier)
    status, body = await token_request(stack, http, _code_form(stack, result))
    assert (status, body["error"]) == (400, "invalid_grant")
    async with stack.engine.connect() as conn:
        revoked = [r.revoked_at for r in await conn.execute(select(tokens.c.revoked_at))]
    assert len(revoked) == 2 and all(revoked)


async def test_a_wrong_verifier_is_refused_and_burns_the_code(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http)
    other_verifier, _ = pkce_pair()
    status, body = await token_request(
        stack, http, _code_form(stack, result, code_verifier=other_verifier)
    )
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body = await token_request(stack, http, _code_form(stack, result))
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_a_different_redirect_uri_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http)
    status, body = await token_request(
        stack, http, _code_form(stack, result, redirect_uri=stack.coach_redirect_uri + "/")
    )
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_an_expired_code_is_refused(stack: Stack, http: aiohttp.ClientSession) -> None:
    result = await authorize(stack, http)
    async with stack.engine.begin() as conn:
        await conn.execute(update(auth_codes).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    status, body = await token_request(stack, http, _code_form(stack, result))
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_unknown_grant_types_and_missing_parameters(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, body = await token_request(stack, http, {"grant_type": "client_credentials"})
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    status, body = await token_request(stack, http, {"grant_type": "authorization_code"})
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = await token_request(stack, http, {})
    assert (status, body["error"]) == (400, "invalid_request")
    status, body = await token_request(
        stack,
        http,
        {
            "grant_type": "authorization_code",
            "code": "nope",
            "redirect_uri": "x",
            "code_verifier": "y",
        },
    )
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_the_token_endpoint_requires_client_authentication(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    result = await authorize(stack, http)
    async with http.post(
        f"{stack.broker_url}/oauth/token", data=_code_form(stack, result)
    ) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "invalid_client"


async def test_a_wrong_secret_or_a_suspended_client_is_refused_at_once(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    """The code exchange checks its client before taking the writer (on SQLite, on the
    shared read-only connections, its row parsed once per stored text): a wrong secret is
    refused without burning the code, and a suspension counts at the next request, at the
    token endpoint and at introspection alike."""
    result = await authorize(stack, http)
    second = await authorize(stack, http)  # a code to present once the client is suspended
    url = f"{stack.broker_url}/oauth/token"
    wrong = basic_auth(stack.coach_id, stack.coach_secret + "x")
    async with http.post(url, data=_code_form(stack, result), headers=wrong) as response:
        assert (response.status, (await response.json())["error"]) == (401, "invalid_client")
    async with http.post(url, data=_code_form(stack, result), headers=coach_auth(stack)) as r:
        assert r.status == 200  # the refused attempt did not burn the code
        tokens_body = await r.json()
    async with stack.engine.begin() as conn:
        await conn.execute(
            update(services)
            .where(services.c.client_id == stack.coach_id)
            .values(status=ServiceStatus.SUSPENDED.value)
        )
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens_body["refresh_token"]}
    async with http.post(url, data=refresh, headers=coach_auth(stack)) as response:
        assert (response.status, (await response.json())["error"]) == (401, "invalid_client")
    async with http.post(
        f"{stack.broker_url}/oauth/introspect",
        data={"token": tokens_body["access_token"]},
        headers=coach_auth(stack),
    ) as response:
        assert (response.status, (await response.json())["error"]) == (401, "invalid_client")
    async with http.post(url, data=_code_form(stack, second), headers=coach_auth(stack)) as r:
        assert (r.status, (await r.json())["error"]) == (401, "invalid_client")
