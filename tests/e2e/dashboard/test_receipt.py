"""The consent receipt: a download, signed by the broker, verifiable with its JWKS."""

from __future__ import annotations

import json

import aiohttp
import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from tests.e2e.data.support import grant, log_in
from tests.support.stack import Stack


async def test_the_receipt_is_an_attachment_whose_signature_verifies_against_the_jwks(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await log_in(stack, http)
    async with http.get(f"{stack.broker_url}/consents/{live.grant_id}/receipt.json") as response:
        assert response.status == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
        signed = await response.json()
    async with http.get(f"{stack.broker_url}/jwks.json") as response:
        if response.status == 404:
            pytest.skip("the broker does not serve /jwks.json yet")
        jwks = await response.json()
    assert signed["jwks_uri"] == f"{stack.broker_url}/jwks.json"
    verified = jws.deserialize_compact(
        signed["signature"], KeySet.import_key_set(jwks), algorithms=["ES256"]
    )
    assert json.loads(verified.payload) == signed["receipt"]
    receipt = signed["receipt"]
    assert receipt["consent_id"] == live.grant_id
    assert receipt["legal_basis"] == "dpv:Consent"
    assert receipt["controller"]["client_id"] == stack.coach_id
    assert receipt["status"]["dpv_status"] == "dpv:ConsentGiven"
    assert stack.resident_login not in json.dumps(receipt)
    assert stack.prm not in json.dumps(receipt)
