"""Mix-up (RFC 9700 §4.4, RFC 9207) and CSRF on the authorization response (§4.7).

Every authorization response, success or error, names the broker by ``iss`` equal to the
metadata ``issuer`` (the SDK refuses any other: ``tests/unit/clients/test_sdk_callback.py``)
and returns the service's ``state`` unchanged. The broker's own redirect endpoint, the
holder callback, only completes in the browser of the resident who started it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urljoin, urlsplit

import aiohttp

from tests.e2e.attacks.support import MALLORY_LOGIN, MALLORY_PASSWORD, add_mallory
from tests.support.flow import (
    DEFAULT_DETAILS,
    authorize,
    decision_form,
    field_value,
    open_consent_screen,
    par_form,
    pkce_pair,
    push,
)
from tests.support.stack import Stack


async def _issuer(stack: Stack, http: aiohttp.ClientSession) -> str:
    url = f"{stack.broker_url}/.well-known/oauth-authorization-server"
    async with http.get(url) as response:
        return str((await response.json())["issuer"])


async def test_every_authorization_response_carries_our_iss_and_the_state_unchanged(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    issuer = await _issuer(stack, http)
    for result in (await authorize(stack, http), await authorize(stack, http, refuse=True)):
        assert result.query["iss"] == issuer
        assert result.query["state"] == result.state
    async with stack.engine.connect() as conn:
        from sqlalchemy import select

        from broker.storage.tables import consents

        states = sorted((await conn.execute(select(consents.c.state))).scalars())
    assert states == ["active", "refused"]


async def _to_holder_callback(stack: Stack, http: aiohttp.ClientSession) -> str:
    """Mallory's own authorization up to the holder's answer: the callback URL, unvisited."""
    _, challenge = pkce_pair()
    status, pushed = await push(stack, http, par_form(stack, challenge, "m", DEFAULT_DETAILS))
    assert status == 201
    url = (
        f"{stack.broker_url}/oauth/authorize?client_id={stack.coach_id}"
        f"&request_uri={pushed['request_uri']}"
    )
    mallory = Stack(**{**stack.__dict__, "resident_login": MALLORY_LOGIN})
    mallory.resident_password = MALLORY_PASSWORD
    page = await open_consent_screen(mallory, http, url, [])
    form = decision_form(page, refuse=False, accept_resources=None, duration=None)
    async with http.post(
        f"{stack.broker_url}/oauth/authorize/decision", data=form, allow_redirects=False
    ) as response:
        holder_url = response.headers["Location"]
    async with http.get(holder_url) as response:
        holder_page = await response.text()
    answer = {
        "csrf_token": field_value(holder_page, "csrf_token"),
        "decision": "accept",
        "usage_point_id": field_value(holder_page, "usage_point_id"),
    }
    action = urljoin(holder_url, urlsplit(holder_url).path)
    async with http.post(action, data=answer, allow_redirects=False) as response:
        return response.headers["Location"]


async def test_a_holder_callback_forced_into_another_residents_browser_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await add_mallory(stack)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as attacker:
        callback = await _to_holder_callback(stack, attacker)
    # Camille, logged in, is made to open Mallory's callback (a link, an image, a form).
    await authorize(stack, http)
    async with http.get(callback, allow_redirects=False) as response:
        assert response.status == 403
        assert "Location" not in response.headers
    assert "state" in dict(parse_qsl(urlsplit(callback).query))
