"""``private_key_jwt`` with keys published at the service's ``jwks_uri`` (RFC 7591 §2): a
real JWKS server on loopback, fetched and cached by the broker, refetched once when the
service rotates its keys, and ``invalid_client`` (RFC 6749 JSON) when it cannot be read."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import ECKey

from tests.support.flow import DEFAULT_DETAILS, coach_auth, par_form, pkce_pair
from tests.support.stack import OPERATOR_TOKEN, Stack, free_port, serve

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ID = "jwks-uri-coach"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@dataclass
class JwksServer:
    url: str
    keys: dict[str, ECKey]  # kid -> private key; the public halves are served
    fetches: int = 0
    served: list[str] = field(default_factory=list)

    def publish(self, **keys: ECKey) -> None:
        self.keys = dict(keys)

    def public(self) -> dict[str, Any]:
        return {
            "keys": [
                k.as_dict(private=False) | {"kid": kid, "use": "sig", "alg": "ES256"}
                for kid, k in self.keys.items()
            ]
        }


def _key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    port = free_port()
    server = JwksServer(url=f"http://127.0.0.1:{port}/jwks.json", keys={"k1": _key()})

    async def jwks(request: web.Request) -> web.Response:
        server.fetches += 1
        return web.json_response(server.public(), content_type="application/jwk-set+json")

    app = web.Application()
    app.router.add_get("/jwks.json", jwks)
    runner = await serve(app, port)
    try:
        yield server
    finally:
        await runner.cleanup()


def _registration(stack: Stack, **keys: Any) -> dict[str, Any]:
    return {
        "registration": {
            "client_id": CLIENT_ID,
            "name": "Coach aux clés publiées",
            "redirect_uris": [stack.coach_redirect_uri],
            "purposes": [{"code": "energy_coaching", "sentence_fr": "Des conseils."}],
            "privacy_policy_url": "https://coach.example/privacy",
            **keys,
        }
    }


async def _register(stack: Stack, http: aiohttp.ClientSession, jwks_uri: str) -> None:
    async with http.post(
        f"{stack.broker_url}/v1/services",
        json=_registration(stack, jwks_uri=jwks_uri),
        headers=OPERATOR,
    ) as response:
        body = await response.json()
        assert response.status == 201, body
        assert "client_secret" not in body  # keys, not a secret
        assert body["jwks_uri"] == jwks_uri
    async with http.post(
        f"{stack.broker_url}/v1/services/{CLIENT_ID}/approve", headers=OPERATOR
    ) as response:
        assert response.status == 200


def _assertion(stack: Stack, key: ECKey, kid: str) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": stack.broker_url,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode({"alg": "ES256", "kid": kid}, claims, key)


async def _par(stack: Stack, http: aiohttp.ClientSession, signed: str) -> tuple[int, Any]:
    _, challenge = pkce_pair()
    form = par_form(stack, challenge, "s", DEFAULT_DETAILS) | {
        "client_id": CLIENT_ID,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    }
    async with http.post(f"{stack.broker_url}/oauth/par", data=form) as response:
        if response.status != 201:
            assert response.content_type == "application/json"
            body = await response.json()
            assert "error_description" in body
            return response.status, body["error"]
        return response.status, await response.json()


async def test_keys_are_fetched_once_then_refetched_on_rotation(
    stack: Stack, http: aiohttp.ClientSession, jwks_server: JwksServer
) -> None:
    stack.settings.jwks_allow_http_loopback = True
    await _register(stack, http, jwks_server.url)
    first = jwks_server.keys["k1"]
    for _ in range(3):
        assert (await _par(stack, http, _assertion(stack, first, "k1")))[0] == 201
    assert jwks_server.fetches == 1  # cached

    # The service rotates: k1 is retired, k2 published. The first assertion signed with k2
    # names a key id the cached set lacks, so the broker fetches the set again, once.
    jwks_server.publish(k2=_key())
    second = jwks_server.keys["k2"]
    assert (await _par(stack, http, _assertion(stack, second, "k2")))[0] == 201
    assert jwks_server.fetches == 2
    assert (await _par(stack, http, _assertion(stack, second, "k2")))[0] == 201
    assert jwks_server.fetches == 2

    # The retired key no longer authenticates; made-up key ids do not make the broker
    # fetch again and again (one early refetch per cool-down).
    assert await _par(stack, http, _assertion(stack, first, "k1")) == (401, "invalid_client")
    for kid in ("k7", "k8", "k9"):
        assert await _par(stack, http, _assertion(stack, _key(), kid)) == (401, "invalid_client")
    assert jwks_server.fetches == 2


async def test_an_unreachable_jwks_uri_is_invalid_client(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    stack.settings.jwks_allow_http_loopback = True
    closed = f"http://127.0.0.1:{free_port()}/jwks.json"  # nothing listens there
    await _register(stack, http, closed)
    assert await _par(stack, http, _assertion(stack, _key(), "k1")) == (401, "invalid_client")


async def test_plain_http_is_refused_without_the_loopback_setting(
    stack: Stack, http: aiohttp.ClientSession, jwks_server: JwksServer
) -> None:
    assert stack.settings.jwks_allow_http_loopback is False
    await _register(stack, http, jwks_server.url)
    signed = _assertion(stack, jwks_server.keys["k1"], "k1")
    assert await _par(stack, http, signed) == (401, "invalid_client")
    assert jwks_server.fetches == 0


async def test_registration_takes_exactly_one_key_source(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    both = _registration(
        stack, jwks={"keys": []}, jwks_uri="https://coach.example/.well-known/jwks.json"
    )
    remote_http = _registration(stack, jwks_uri="http://coach.example/jwks.json")
    for payload in (both, remote_http):
        async with http.post(
            f"{stack.broker_url}/v1/services", json=payload, headers=OPERATOR
        ) as response:
            assert response.status == 422
            assert response.content_type == "application/problem+json"
            assert (await response.json())["field"] == "registration.jwks_uri"


async def test_a_slow_jwks_uri_does_not_hold_the_database(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    """On SQLite the broker has one database connection. A service whose ``jwks_uri``
    takes 3 s to answer must not make every other request wait for it: the keys are
    fetched with no connection held, and the ``jti`` is still single use."""
    stack.settings.jwks_allow_http_loopback = True
    assert stack.settings.database_url.startswith("sqlite")
    key, asked = _key(), asyncio.Event()

    async def slow_jwks(request: web.Request) -> web.Response:
        asked.set()
        await asyncio.sleep(3)
        public = key.as_dict(private=False) | {"kid": "k1", "use": "sig", "alg": "ES256"}
        return web.json_response({"keys": [public]})

    app = web.Application()
    app.router.add_get("/jwks.json", slow_jwks)
    port = free_port()
    runner = await serve(app, port)
    try:
        await _register(stack, http, f"http://127.0.0.1:{port}/jwks.json")
        signed = _assertion(stack, key, "k1")
        slow = asyncio.create_task(_par(stack, http, signed))
        await asyncio.wait_for(asked.wait(), 5)  # the broker is now fetching the keys

        # Meanwhile another client authenticates (client_secret_basic) and introspects.
        async with http.post(
            f"{stack.broker_url}/oauth/introspect",
            data={"token": "not-a-token"},
            headers=coach_auth(stack),
        ) as response:
            assert (response.status, await response.json()) == (200, {"active": False})
        assert not slow.done()  # answered while the slow fetch was still under way

        assert (await slow)[0] == 201
        # The jti was recorded after the fetch: a replay is refused (keys now cached).
        assert await _par(stack, http, signed) == (401, "invalid_client")
    finally:
        await runner.cleanup()
