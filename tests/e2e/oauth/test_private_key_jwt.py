"""``private_key_jwt`` client authentication (RFC 7523 §2.2, §3)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import aiohttp
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from broker.operator import register_service
from tests.support.flow import DEFAULT_DETAILS, basic_auth, par_form, pkce_pair
from tests.support.stack import Stack

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ID = "jwt-coach"


@pytest.fixture
async def key(stack: Stack) -> ECKey:
    private = ECKey.generate_key("P-256", private=True)
    public = private.as_dict(private=False) | {"kid": "k1", "use": "sig", "alg": "ES256"}
    payload = {
        "registration": {
            "client_id": CLIENT_ID,
            "name": "Coach JWT",
            "redirect_uris": [stack.coach_redirect_uri],
            "purposes": [{"code": "energy_coaching", "sentence_fr": "Des conseils."}],
            "privacy_policy_url": "https://coach.example/privacy",
            "jwks": {"keys": [public]},
        }
    }
    _, secret = await register_service(stack.engine, payload, approve=True)
    assert secret is None
    return private


def assertion(key: ECKey, aud: Any, changes: dict[str, Any] | None = None) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": aud,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    } | (changes or {})
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)


def _par(stack: Stack, signed: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    form = par_form(stack, challenge, "s", DEFAULT_DETAILS) | {
        "client_id": CLIENT_ID,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    }
    return form


async def _post(
    http: aiohttp.ClientSession,
    url: str,
    form: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, data=form, headers=headers or {}) as response:
        return response.status, await response.json(content_type=None)


async def test_a_signed_assertion_for_the_issuer_or_the_endpoint_authenticates(
    stack: Stack, http: aiohttp.ClientSession, key: ECKey
) -> None:
    url = f"{stack.broker_url}/oauth/par"
    for aud in (stack.broker_url, url, [url, "https://other.example"]):
        status, body = await _post(http, url, _par(stack, assertion(key, aud)))
        assert status == 201, body


async def test_a_replayed_assertion_is_refused(
    stack: Stack, http: aiohttp.ClientSession, key: ECKey
) -> None:
    url = f"{stack.broker_url}/oauth/par"
    signed = assertion(key, stack.broker_url)
    assert (await _post(http, url, _par(stack, signed)))[0] == 201
    status, body = await _post(http, url, _par(stack, signed))
    assert (status, body["error"]) == (401, "invalid_client")


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "https://elsewhere.example"},
        {"exp": int(time.time()) - 120},
        {"exp": None},
        {"exp": int(time.time()) + 3600},
        {"jti": None},
        {"sub": "carbon-coach"},
        {"iss": "carbon-coach"},
    ],
    ids=["aud", "expired", "no-exp", "too-long", "no-jti", "sub", "iss"],
)
async def test_a_bad_assertion_is_refused(
    stack: Stack, http: aiohttp.ClientSession, key: ECKey, changes: dict[str, Any]
) -> None:
    signed = assertion(key, stack.broker_url, changes)
    status, body = await _post(http, f"{stack.broker_url}/oauth/par", _par(stack, signed))
    assert (status, body["error"]) == (401, "invalid_client")


async def test_an_assertion_signed_by_another_key_is_refused(
    stack: Stack, http: aiohttp.ClientSession, key: ECKey
) -> None:
    other = ECKey.generate_key("P-256", private=True)
    signed = assertion(other, stack.broker_url)
    status, body = await _post(http, f"{stack.broker_url}/oauth/par", _par(stack, signed))
    assert (status, body["error"]) == (401, "invalid_client")
    status, body = await _post(http, f"{stack.broker_url}/oauth/par", _par(stack, "not.a.jwt"))
    assert (status, body["error"]) == (401, "invalid_client")


async def test_two_authentication_methods_at_once_are_refused(
    stack: Stack, http: aiohttp.ClientSession, key: ECKey
) -> None:
    form = _par(stack, assertion(key, stack.broker_url))
    headers = basic_auth(stack.coach_id, stack.coach_secret)
    status, body = await _post(http, f"{stack.broker_url}/oauth/par", form, headers)
    assert (status, body["error"]) == (401, "invalid_client")


async def test_grant_management_takes_the_assertion_as_a_bearer(
    stack: Stack, http: aiohttp.ClientSession, key: ECKey
) -> None:
    url = f"{stack.broker_url}/oauth/grants/grant_unknown"
    headers = {"Authorization": f"Bearer {assertion(key, stack.broker_url)}"}
    async with http.get(url, headers=headers) as response:
        assert response.status == 404
        assert (await response.json())["error"] == "invalid_request"
    async with http.get(url, headers=headers) as response:  # the same jti again
        assert response.status == 401
