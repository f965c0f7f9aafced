"""The resident's side: CSRF on every form, framing, cookies, session fixation, login
brute force and open redirects after login.

The POST routes are read from the running app's router, so a form added later is covered
by the CSRF sweep without anyone remembering to add it here.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import aiohttp
import pytest
from sqlalchemy import select

from broker.http.middlewares import surface
from broker.storage.tables import consents
from broker.web.csrf import CSRF_COOKIE
from broker.web.session import SESSION_COOKIE
from tests.e2e.data.support import grant, log_in
from tests.support.flow import field_value
from tests.support.stack import Stack


def _page_posts(stack: Stack) -> list[str]:
    assert stack.broker_app is not None
    paths = set()
    for route in stack.broker_app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = str(info.get("path") or info.get("formatter") or "")
        if route.method == "POST" and path and surface(path) == "page":
            paths.add(path)
    return sorted(paths)


async def _states(stack: Stack) -> list[str]:
    async with stack.engine.connect() as conn:
        return list((await conn.execute(select(consents.c.state))).scalars())


@pytest.mark.parametrize("attack", ["no-token", "wrong-token", "foreign-origin"])
async def test_every_form_refuses_a_forged_post(
    stack: Stack, http: aiohttp.ClientSession, attack: str
) -> None:
    live = await grant(stack, http)
    token = next(c.value for c in http.cookie_jar if c.key == CSRF_COOKIE)
    forms = {
        "no-token": ({}, {}),
        "wrong-token": ({"csrf_token": "x" * 43}, {}),
        "foreign-origin": ({"csrf_token": token}, {"Origin": "https://evil.example"}),
    }
    fields, headers = forms[attack]
    posts = _page_posts(stack)
    assert {"/login", "/logout", "/oauth/authorize/decision"} <= set(posts)
    before = await _states(stack)
    for path in posts:
        url = stack.broker_url + re.sub(r"\{[^}]+\}", live.grant_id, path)
        data = fields | {"decision": "refuse", "login": "a", "password": "b", "next": "/"}
        async with http.post(url, data=data, headers=headers, allow_redirects=False) as response:
            if response.status == 303:
                # Another realm (the holder console): not logged in there, sent to its login.
                assert "login" in response.headers["Location"], path
                continue
            assert response.status == 403, path
            assert response.content_type == "text/html"
    assert await _states(stack) == before == ["active"]


@pytest.mark.parametrize("attack", ["wrong-token", "foreign-origin"])
async def test_a_refused_form_still_shows_who_is_logged_in(
    stack: Stack, http: aiohttp.ClientSession, attack: str
) -> None:
    live = await grant(stack, http)
    token = next(c.value for c in http.cookie_jar if c.key == CSRF_COOKIE)
    data, headers = {"csrf_token": "x" * 43}, {}
    if attack == "foreign-origin":
        data, headers = {"csrf_token": token}, {"Origin": "https://evil.example"}
    url = f"{stack.broker_url}/consents/{live.grant_id}/revoke"
    async with http.post(url, data=data, headers=headers, allow_redirects=False) as response:
        assert response.status == 403
        assert response.content_type == "text/html"
        page = await response.text()
    # A readable refusal, with the header of a logged-in resident...
    assert "Une erreur est survenue" in page and "Le formulaire a expiré" in page
    assert "Mes partages" in page and "Se déconnecter" in page
    assert 'action="/logout"' in page
    # ...and nothing of the refused form acted on.
    assert await _states(stack) == ["active"]
    # The logout form of that page works (the login page shows only once logged out).
    logout = {"csrf_token": field_value(page, "csrf_token")}
    async with http.post(f"{stack.broker_url}/logout", data=logout) as response:
        assert (response.status, response.url.path) == (200, "/login")


async def test_pages_cannot_be_framed_and_run_only_our_scripts(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    for path in ("/login", "/", "/oauth/authorize?client_id=x&request_uri=y"):
        async with http.get(stack.broker_url + path, allow_redirects=False) as response:
            policy = response.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy
            assert response.headers["X-Frame-Options"] == "DENY"


async def _login_response(
    stack: Stack, http: aiohttp.ClientSession, password: str, next_path: str = "/"
) -> aiohttp.ClientResponse:
    async with http.get(f"{stack.broker_url}/login") as response:
        page = await response.text()
    form = {
        "csrf_token": field_value(page, "csrf_token"),
        "next": next_path,
        "login": stack.resident_login,
        "password": password,
    }
    async with http.post(f"{stack.broker_url}/login", data=form, allow_redirects=False) as answer:
        await answer.read()
        return answer


async def test_cookies_are_httponly_samesite_and_secure(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.broker_url}/login") as response:
        page = await response.text()
    # As in production from here on (the app reads this very object). A client would not
    # send a Secure cookie over plain HTTP, hence the switch after the login page.
    stack.settings.cookie_secure = True
    form = {
        "csrf_token": field_value(page, "csrf_token"),
        "next": "/",
        "login": stack.resident_login,
        "password": stack.resident_password,
    }
    async with http.post(f"{stack.broker_url}/login", data=form, allow_redirects=False) as answer:
        assert answer.status == 303
    jar: SimpleCookie = SimpleCookie()
    for header in answer.headers.getall("Set-Cookie"):
        jar.load(header)
    session = jar[SESSION_COOKIE]
    assert (session["httponly"], session["secure"], session["samesite"]) == (True, True, "Lax")
    async with (
        aiohttp.ClientSession() as fresh,
        fresh.get(f"{stack.broker_url}/login") as login_page,
    ):
        csrf = SimpleCookie(login_page.headers["Set-Cookie"])[CSRF_COOKIE]
    assert (csrf["httponly"], csrf["secure"], csrf["samesite"]) == (True, True, "Strict")


async def test_a_planted_session_id_is_replaced_at_login(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    planted = "attacker-chosen-session-id-0123456789"
    http.cookie_jar.update_cookies({SESSION_COOKIE: planted})
    answer = await _login_response(stack, http, stack.resident_password)
    issued = answer.cookies[SESSION_COOKIE].value
    assert issued != planted and len(issued) >= 43
    # The planted id opens nothing: it never became a session.
    async with (
        aiohttp.ClientSession(cookies={SESSION_COOKIE: planted}) as attacker,
        attacker.get(f"{stack.broker_url}/", allow_redirects=False) as response,
    ):
        assert response.status == 303
        assert response.headers["Location"].startswith("/login?next=")


async def test_login_is_throttled_even_for_the_right_password(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    statuses = [(await _login_response(stack, http, f"guess-{n}")).status for n in range(5)]
    assert statuses == [401] * 5
    assert (await _login_response(stack, http, "guess-6")).status == 429
    answer = await _login_response(stack, http, stack.resident_password)
    assert answer.status == 429
    assert SESSION_COOKIE not in answer.cookies


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\tevil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/%0d%0aLocation:%20https://evil.example",
    ],
)
async def test_no_open_redirect_after_login(
    stack: Stack, http: aiohttp.ClientSession, target: str
) -> None:
    answer = await _login_response(stack, http, stack.resident_password, next_path=target)
    assert answer.status == 303
    location = answer.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "evil.example" not in location or location.startswith("/%")
    await log_in(stack, http)  # still one session, nothing broken
