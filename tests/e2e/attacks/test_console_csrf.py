"""CSRF on the holder console, as logged-in staff: every form of the console posted without a
token, with a wrong one, with another visitor's token, or from another origin is refused
with a readable 403 page, and nothing changes (blacklist, session)."""

from __future__ import annotations

from typing import Any

import aiohttp

from broker.storage.holder_staff import SqlHolderStaff
from broker.storage.uow import SqlUnitOfWork
from tests.support.flow import field_value
from tests.support.stack import OPERATOR_TOKEN, Stack

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
STAFF_LOGIN = "securite@enedis.example.fr"
STAFF_PASSWORD = "a long console password"  # a test account's password

# Every POST route of the console and a form that would otherwise do something.
FORMS: dict[str, dict[str, str]] = {
    "/console/blacklist": {"service": "carbon-coach", "reason": "jetons exposés"},
    "/console/blacklist/lift": {"service": "carbon-coach"},
    "/console/logout": {},
    "/console/login": {"login": STAFF_LOGIN, "password": STAFF_PASSWORD},
}


async def _blacklist(stack: Stack, http: aiohttp.ClientSession) -> list[Any]:
    async with http.get(
        f"{stack.broker_url}/v1/holders/enedis/blacklist", headers=OPERATOR
    ) as response:
        assert response.status == 200
        return [(e["service"], e["reason"]) for e in (await response.json())["blacklist"]]


async def _staff_session(stack: Stack, http: aiohttp.ClientSession) -> str:
    """Log in as staff; the CSRF token of the console page."""
    async with http.get(f"{stack.broker_url}/console/login") as response:
        token = field_value(await response.text(), "csrf_token")
    form = {"csrf_token": token, "login": STAFF_LOGIN, "password": STAFF_PASSWORD}
    async with http.post(
        f"{stack.broker_url}/console/login", data=form, allow_redirects=False
    ) as response:
        assert response.status == 303
    async with http.get(f"{stack.broker_url}/console/", allow_redirects=False) as response:
        assert response.status == 200
        return field_value(await response.text(), "csrf_token")


async def test_every_console_form_refuses_a_missing_wrong_or_foreign_csrf_token(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with SqlUnitOfWork(stack.engine) as uow:
        await SqlHolderStaff(uow.conn).add(
            holder="enedis", login=STAFF_LOGIN, password=STAFF_PASSWORD, now=uow.now
        )
        await uow.commit()
    # Something to lift, so that a forged lift would show.
    entry = {"service": "carbon-coach", "reason": "audit en cours"}
    async with http.post(
        f"{stack.broker_url}/v1/holders/enedis/blacklist", json=entry, headers=OPERATOR
    ) as response:
        assert response.status == 200
    before = await _blacklist(stack, http)
    own_token = await _staff_session(stack, http)

    # Another visitor (the attacker's own browser) has a valid token of its own.
    jar = aiohttp.CookieJar(unsafe=True)
    async with (
        aiohttp.ClientSession(cookie_jar=jar) as other,
        other.get(f"{stack.broker_url}/console/login") as response,
    ):
        foreign = field_value(await response.text(), "csrf_token")
    assert foreign != own_token

    attempts: list[tuple[str, dict[str, str]]] = [
        ("no token", {}),
        ("empty token", {"csrf_token": ""}),
        ("wrong token", {"csrf_token": "x" * 43}),
        ("another session's token", {"csrf_token": foreign}),
    ]
    for path, fields in FORMS.items():
        for what, extra in attempts:
            async with http.post(
                f"{stack.broker_url}{path}", data=fields | extra, allow_redirects=False
            ) as response:
                assert response.status == 403, (path, what)
                assert response.content_type == "text/html", (path, what)
                page = await response.text()
                assert "ne vient pas de ce site" in page, (path, what)
        # The right token from another site's page is refused too (Origin check).
        async with http.post(
            f"{stack.broker_url}{path}",
            data=fields | {"csrf_token": own_token},
            headers={"Origin": "https://evil.example"},
            allow_redirects=False,
        ) as response:
            assert response.status == 403, path
            assert response.content_type == "text/html"

    # Nothing happened: the blacklist is as it was and the staff session is still open.
    assert await _blacklist(stack, http) == before
    async with http.get(f"{stack.broker_url}/console/", allow_redirects=False) as response:
        assert response.status == 200
        assert "audit en cours" in await response.text()
    # And the same forms with the right token do work (the refusals were the token's doing).
    async with http.post(
        f"{stack.broker_url}/console/blacklist/lift",
        data={"service": "carbon-coach", "csrf_token": own_token},
        allow_redirects=False,
    ) as response:
        assert response.status == 303
    assert await _blacklist(stack, http) == []
