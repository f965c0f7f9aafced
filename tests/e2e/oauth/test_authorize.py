"""``GET /oauth/authorize``: only pushed requests, used once, by a logged-in resident; every
problem is a page, never a redirect to an unverified URI."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from urllib.parse import quote, unquote

import aiohttp
from sqlalchemy import update

from broker.storage.tables import par_requests
from tests.support.flow import (
    DEFAULT_DETAILS,
    open_consent_screen,
    par_form,
    pkce_pair,
    push,
)
from tests.support.stack import Stack


async def _request_uri(stack: Stack, http: aiohttp.ClientSession) -> str:
    _, challenge = pkce_pair()
    status, body = await push(stack, http, par_form(stack, challenge, "st", DEFAULT_DETAILS))
    assert status == 201
    return str(body["request_uri"])


def _url(stack: Stack, request_uri: str, client_id: str | None = None) -> str:
    client = quote(client_id or stack.coach_id, safe="")
    return (
        f"{stack.broker_url}/oauth/authorize?client_id={client}"
        f"&request_uri={quote(request_uri, safe='')}"
    )


async def _page(http: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with http.get(url, allow_redirects=False) as response:
        text = html.unescape(await response.text())
        return response.status, response.headers.get("Location", ""), text


async def test_an_unknown_request_uri_shows_a_page_and_redirects_nowhere(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    url = _url(stack, "urn:ietf:params:oauth:request_uri:nope")
    status, location, body = await _page(http, url)
    assert (status, location) == (400, "")
    assert "<html" in body and "demande d'autorisation est inconnue" in body


async def test_missing_or_repeated_parameters_show_a_page(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    request_uri = quote(await _request_uri(stack, http), safe="")
    base = f"{stack.broker_url}/oauth/authorize"
    for query in (
        "",
        f"?request_uri={request_uri}",
        f"?client_id={stack.coach_id}&request_uri={request_uri}&request_uri={request_uri}",
        f"?client_id={stack.coach_id}&request_uri=https://evil.example/",
    ):
        status, location, _ = await _page(http, base + query)
        assert (status, location) == (400, ""), query


async def test_a_request_uri_pushed_by_another_client_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    status, location, _ = await _page(http, _url(stack, await _request_uri(stack, http), "other"))
    assert (status, location) == (400, "")


async def test_a_resident_who_is_not_logged_in_goes_to_the_login_page_and_back(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    url = _url(stack, await _request_uri(stack, http))
    status, location, _ = await _page(http, url)
    assert status == 303
    assert location.startswith("/login?next=")
    assert "/oauth/authorize?client_id=carbon-coach&request_uri=" in unquote(location)


async def test_a_request_uri_is_used_once(stack: Stack, http: aiohttp.ClientSession) -> None:
    url = _url(stack, await _request_uri(stack, http))
    page = await open_consent_screen(stack, http, url, [])
    assert "Coach carbone" in page
    status, location, body = await _page(http, url)
    assert (status, location) == (400, "")
    assert "déjà été utilisée" in body


async def test_an_expired_request_uri_is_refused(stack: Stack, http: aiohttp.ClientSession) -> None:
    url = _url(stack, await _request_uri(stack, http))
    async with stack.engine.begin() as conn:
        await conn.execute(update(par_requests).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    status, location, _ = await _page(http, url)
    assert (status, location) == (400, "")
