"""The SDK in ``clients/sdk`` against the real broker: both sides of docs/wire.md agree."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import aiohttp
from joserfc.jwk import ECKey

from broker.operator import register_service
from clients.sdk import AiguillageClient, ClientSecretBasic, PrivateKeyJWT
from tests.support.flow import DEFAULT_DETAILS, browse
from tests.support.stack import Stack


async def _run(stack: Stack, http: aiohttp.ClientSession, client: AiguillageClient) -> None:
    pending = await client.start_authorization(stack.coach_redirect_uri, [DEFAULT_DETAILS])
    location = await browse(stack, http, pending.url)
    code = client.parse_callback(dict(parse_qsl(urlsplit(location).query)), pending)
    tokens = await client.exchange_code(code, pending)
    assert tokens.granted_resources("enedis") == {"daily_consumption", "consumption_load_curve"}
    tokens = await client.refresh(tokens)
    grant = await client.get_grant(tokens.grant_id)
    assert grant.status == "active" and grant.holder_linked is True
    await client.revoke_token(tokens.access_token, "access_token")
    await client.end_grant(tokens.grant_id)
    assert (await client.get_grant(tokens.grant_id)).status == "terminated_by_service"


async def test_the_sdk_with_client_secret_basic(stack: Stack, http: aiohttp.ClientSession) -> None:
    auth = ClientSecretBasic(stack.coach_secret)
    await _run(stack, http, AiguillageClient(stack.broker_url, stack.coach_id, auth, http))


async def test_the_sdk_with_private_key_jwt(stack: Stack, http: aiohttp.ClientSession) -> None:
    private = ECKey.generate_key("P-256", private=True)
    public = private.as_dict(private=False) | {"kid": "k1", "use": "sig", "alg": "ES256"}
    payload = {
        "registration": {
            "client_id": "jwt-coach",
            "name": "Coach JWT",
            "redirect_uris": [stack.coach_redirect_uri],
            "purposes": [{"code": "energy_coaching", "sentence_fr": "Des conseils."}],
            "privacy_policy_url": "https://coach.example/privacy",
            "jwks": {"keys": [public]},
        }
    }
    await register_service(stack.engine, payload, approve=True)
    auth = PrivateKeyJWT(private_jwk=private.as_dict(private=True), kid="k1")
    await _run(stack, http, AiguillageClient(stack.broker_url, "jwt-coach", auth, http))
