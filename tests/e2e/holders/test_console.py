"""The holder console: its own login and session, who reads what, transfers and quota use,
and the blacklist form (CSRF-checked)."""

from __future__ import annotations

import aiohttp

from broker.storage.holder_staff import SqlHolderStaff
from broker.storage.uow import SqlUnitOfWork
from tests.e2e.data.support import fetch_data, grant
from tests.support.flow import field_value
from tests.support.stack import Stack

STAFF_LOGIN = "console@enedis.example.fr"
STAFF_PASSWORD = "correct horse battery staple"  # a test account's password


async def _staff(stack: Stack) -> None:
    async with SqlUnitOfWork(stack.engine) as uow:
        await SqlHolderStaff(uow.conn).add(
            holder="enedis", login=STAFF_LOGIN, password=STAFF_PASSWORD, now=uow.now
        )
        await uow.commit()


async def _log_in(stack: Stack, http: aiohttp.ClientSession, password: str) -> int:
    async with http.get(f"{stack.broker_url}/console/login") as response:
        page = await response.text()
    form = {
        "csrf_token": field_value(page, "csrf_token"),
        "login": STAFF_LOGIN,
        "password": password,
    }
    async with http.post(
        f"{stack.broker_url}/console/login", data=form, allow_redirects=False
    ) as response:
        return response.status


async def test_staff_see_who_reads_what_and_can_blacklist_a_service(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await _staff(stack)
    live = await grant(stack, http)  # the resident is logged in on the broker now
    assert await fetch_data(stack, http, live) == 200
    async with http.get(f"{stack.broker_url}/console/", allow_redirects=False) as response:
        assert response.status == 303  # a resident's session does not open the console
        assert response.headers["Location"] == "/console/login"
    assert await _log_in(stack, http, "wrong password") == 401
    assert await _log_in(stack, http, STAFF_PASSWORD) == 303
    async with http.get(f"{stack.broker_url}/console/") as response:
        assert response.status == 200
        page = await response.text()
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert "carbon-coach" in page and "daily_consumption" in page
    assert "1 / 5" in page or "/ 5</td>" in page  # requests this second, against the contract
    form = {"service": stack.coach_id, "reason": "jetons exposés"}
    async with http.post(f"{stack.broker_url}/console/blacklist", data=form) as response:
        assert response.status == 403  # no CSRF token: refused, as a page
        assert response.content_type == "text/html"
    form["csrf_token"] = field_value(page, "csrf_token")
    async with http.post(
        f"{stack.broker_url}/console/blacklist", data=form, allow_redirects=False
    ) as response:
        assert response.status == 303
    assert await fetch_data(stack, http, live) == 403
    async with http.get(f"{stack.broker_url}/console/") as response:
        page = await response.text()
    assert "jetons exposés" in page and "Lever le blocage" in page


async def test_console_forms_refuse_bad_input_with_a_page(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await _staff(stack)
    assert await _log_in(stack, http, STAFF_PASSWORD) == 303
    async with http.get(f"{stack.broker_url}/console/") as response:
        token = field_value(await response.text(), "csrf_token")
    for form in ({"service": "nobody", "reason": "r"}, {"service": "carbon-coach", "reason": ""}):
        async with http.post(
            f"{stack.broker_url}/console/blacklist", data={**form, "csrf_token": token}
        ) as response:
            assert response.status == 400
            assert response.content_type == "text/html"
