"""Authorization code injection and replay (RFC 9700 §4.5). Replay, a wrong verifier, a
different redirect URI and expiry are in ``tests/e2e/oauth/test_token.py``; here: a code
stolen by another client, and a code injected into another transaction."""

from __future__ import annotations

import aiohttp

from tests.e2e.attacks.support import ATTACKER_REDIRECT, post_form, register_attacker
from tests.support.flow import authorize, exchange, token_request
from tests.support.stack import Stack


async def test_a_code_presented_by_another_client_is_refused_and_not_burnt(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    attacker = await register_attacker(stack)
    result = await authorize(stack, http)
    assert result.code is not None
    for redirect_uri in (stack.coach_redirect_uri, ATTACKER_REDIRECT):
        form = {
            "grant_type": "authorization_code",
            "code": result.code,
            "redirect_uri": redirect_uri,
            "code_verifier": result.verifier,
        }
        status, body = await post_form(http, f"{stack.broker_url}/oauth/token", form, attacker)
        assert (status, body["error"]) == (400, "invalid_grant")
    # The attacker could not burn the victim's code either: the coach still redeems it.
    tokens = await exchange(stack, http, result.code, result.verifier)
    assert tokens["token_type"] == "Bearer"


async def test_a_code_injected_into_another_transaction_fails_pkce(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    """The attacker's stolen code, replayed through the victim client's session, meets the
    verifier of the victim's own transaction (RFC 9700 §4.5.3.1)."""
    stolen = await authorize(stack, http)
    victims = await authorize(stack, http)
    assert stolen.code is not None and victims.code is not None
    form = {
        "grant_type": "authorization_code",
        "code": stolen.code,
        "redirect_uri": stack.coach_redirect_uri,
        "code_verifier": victims.verifier,
    }
    status, body = await token_request(stack, http, form)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert "code_verifier" in body["error_description"]
    # The code is burnt at its first presentation: the right verifier comes too late.
    status, body = await token_request(stack, http, form | {"code_verifier": stolen.verifier})
    assert (status, body["error"]) == (400, "invalid_grant")
