"""Redirect URI attacks (RFC 9700 §4.1): variants of the registered URI and open
redirects through the error path. The byte-for-byte variants (port, path, suffix, case,
scheme case, slash, query, host) are in ``tests/e2e/oauth/test_par.py``; here: the
fragment, a redirect_uri smuggled into the browser leg, and error pages that redirect."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp

from tests.e2e.attacks.support import ATTACKER_REDIRECT, register_attacker
from tests.support.flow import DEFAULT_DETAILS, browse, par_form, pkce_pair, push
from tests.support.stack import Stack

EVIL = "https://evil.example/steal"


async def test_a_redirect_uri_with_a_fragment_is_refused_at_par(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    _, challenge = pkce_pair()
    form = par_form(stack, challenge, "s", DEFAULT_DETAILS)
    form["redirect_uri"] = stack.coach_redirect_uri + "#" + EVIL
    status, body = await push(stack, http, form)
    assert (status, body["error"]) == (400, "invalid_request")
    assert "redirect_uri" in body["error_description"]


async def test_another_clients_registered_redirect_uri_is_refused_at_par(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await register_attacker(stack)
    _, challenge = pkce_pair()
    form = par_form(stack, challenge, "s", DEFAULT_DETAILS) | {"redirect_uri": ATTACKER_REDIRECT}
    status, body = await push(stack, http, form)
    assert (status, body["error"]) == (400, "invalid_request")


async def test_a_redirect_uri_added_to_the_authorize_url_is_ignored(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    _, challenge = pkce_pair()
    status, pushed = await push(stack, http, par_form(stack, challenge, "s", DEFAULT_DETAILS))
    assert status == 201
    url = (
        f"{stack.broker_url}/oauth/authorize?client_id={stack.coach_id}"
        f"&request_uri={quote(pushed['request_uri'], safe='')}&redirect_uri={quote(EVIL)}"
    )
    location = await browse(stack, http, url)
    assert location.startswith(stack.coach_redirect_uri + "?")
    assert "evil" not in location


async def test_authorize_errors_are_pages_that_redirect_nowhere(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    """No parameter of a failed authorize request can steer the browser (open redirect)."""
    urls = [
        f"/oauth/authorize?client_id={stack.coach_id}&request_uri=urn:x&redirect_uri={EVIL}",
        f"/oauth/authorize?client_id={stack.coach_id}&redirect_uri={EVIL}&response_type=code",
        f"/oauth/authorize?client_id=unknown&request_uri=urn:ietf:params:oauth:request_uri:x"
        f"&redirect_uri={EVIL}",
        f"/holders/enedis/callback?state=unknown&redirect_uri={EVIL}&code=x",
    ]
    for url in urls:
        async with http.get(stack.broker_url + url, allow_redirects=False) as response:
            assert response.status == 400, url
            assert "Location" not in response.headers
            assert response.content_type == "text/html"
            assert "evil.example" not in await response.text()
