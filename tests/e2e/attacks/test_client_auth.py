"""Client authentication attacks (RFC 9700 §4.x, RFC 7523 §3). Replay at one endpoint,
wrong audience, expiry, missing claims and a foreign key are in
``tests/e2e/oauth/test_private_key_jwt.py``; here: replay across endpoints, algorithm
confusion, an assertion naming another client, and introspection without authentication."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import aiohttp
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.e2e.oauth.test_private_key_jwt import CLIENT_ID, _par, assertion, key
from tests.support.flow import basic_auth, connect
from tests.support.stack import Stack

__all__ = ["key"]  # the fixture, reused


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(aud: str) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": aud, "exp": now + 60,
            "jti": secrets.token_urlsafe(8)}  # fmt: skip


async def _par_status(stack: Stack, http: aiohttp.ClientSession, signed: str) -> tuple[int, str]:
    async with http.post(f"{stack.broker_url}/oauth/par", data=_par(stack, signed)) as response:
        return response.status, (await response.json(content_type=None)).get("error", "")


async def test_an_assertion_replayed_at_another_endpoint_is_refused(
    stack: Stack, http: aiohttp.ClientSession, key: Any
) -> None:
    signed = assertion(key, stack.broker_url)
    assert (await _par_status(stack, http, signed))[0] == 201
    form = {
        "token": "anything",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    }
    async with http.post(f"{stack.broker_url}/oauth/introspect", data=form) as response:
        body = await response.json(content_type=None)
    assert (response.status, body["error"]) == (401, "invalid_client")


async def test_an_unsigned_or_hmac_assertion_is_refused(
    stack: Stack, http: aiohttp.ClientSession, key: Any
) -> None:
    claims = _claims(stack.broker_url)
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    # Algorithm confusion: HS256 keyed with the client's public key, which anyone can read.
    public = json.dumps(key.as_dict(private=False)).encode()
    confused = jwt.encode(
        {"alg": "HS256"}, claims | {"jti": "x1"}, OctKey.import_key(public), algorithms=["HS256"]
    )
    for signed in (unsigned, confused):
        assert await _par_status(stack, http, signed) == (401, "invalid_client")


async def test_an_assertion_naming_another_client_is_refused(
    stack: Stack, http: aiohttp.ClientSession, key: Any
) -> None:
    signed = assertion(key, stack.broker_url)
    form = _par(stack, signed) | {"client_id": stack.coach_id}
    async with http.post(f"{stack.broker_url}/oauth/par", data=form) as response:
        body = await response.json(content_type=None)
    assert (response.status, body["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer {access}"}, "basic-with-access-token-as-secret"],
    ids=["none", "bearer-access-token", "access-token-as-secret"],
)
async def test_introspection_without_client_authentication_says_nothing(
    stack: Stack, http: aiohttp.ClientSession, headers: Any
) -> None:
    tokens = await connect(stack, http)
    if headers == "basic-with-access-token-as-secret":
        headers = basic_auth(stack.coach_id, tokens["access_token"])
    else:
        headers = {k: v.format(access=tokens["access_token"]) for k, v in headers.items()}
    async with http.post(
        f"{stack.broker_url}/oauth/introspect",
        data={"token": tokens["access_token"]},
        headers=headers,
    ) as response:
        body = await response.json(content_type=None)
    assert (response.status, body["error"]) == (401, "invalid_client")
    assert "active" not in body
