"""Discovery: RFC 8414 metadata and the broker's JWKS."""

from __future__ import annotations

import aiohttp

from tests.support.stack import Stack


async def test_metadata_names_every_endpoint_and_the_fapi_requirements(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.broker_url}/.well-known/oauth-authorization-server") as response:
        assert response.status == 200
        meta = await response.json()
    base = stack.broker_url
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["pushed_authorization_request_endpoint"] == f"{base}/oauth/par"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["introspection_endpoint"] == f"{base}/oauth/introspect"
    assert meta["grant_management_endpoint"] == f"{base}/oauth/grants"
    assert meta["jwks_uri"] == f"{base}/jwks.json"
    assert meta["require_pushed_authorization_requests"] is True
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_details_types_supported"] == ["personal_data_transfer"]
    assert meta["grant_management_actions_supported"] == ["query", "revoke"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert meta["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "private_key_jwt",
    ]
    assert "ES256" in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert meta["response_types_supported"] == ["code"]
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token"]


async def test_jwks_serves_the_public_signing_key_only(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.broker_url}/jwks.json") as response:
        assert response.status == 200
        keys = (await response.json())["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "EC" and keys[0]["alg"] == "ES256" and keys[0]["kid"]
    assert "d" not in keys[0]
