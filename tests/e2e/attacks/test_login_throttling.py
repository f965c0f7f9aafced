"""Password spraying: many login names tried from one address are throttled per address,
at the resident login and the holder console login alike. The address is the TCP peer;
``X-Forwarded-For`` counts only when a trusted proxy sends it. Attempts sent at once are
counted as if sent in turn, and a password being checked stalls nothing else."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from broker.console.routes import MAX_FAILURES as CONSOLE_MAX_FAILURES
from broker.storage import passwords
from broker.storage.holder_staff import SqlHolderStaff
from broker.storage.uow import SqlUnitOfWork
from broker.web.login import MAX_FAILURES
from tests.e2e.data.support import fetch_data, grant
from tests.support.flow import field_value
from tests.support.stack import Stack

LIMIT = 3
STAFF_LOGIN = "guichet@enedis.example.fr"
STAFF_PASSWORD = "a long console password"  # a test account's password


@asynccontextmanager
async def _client(source: str = "127.0.0.1") -> AsyncIterator[aiohttp.ClientSession]:
    """A browser stand-in whose connections come from ``source`` (127.0.0.0/8 is all ours)."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as session:
        yield session


async def _login(
    stack: Stack,
    http: aiohttp.ClientSession,
    login: str,
    password: str,
    *,
    console: bool = False,
    headers: dict[str, str] | None = None,
) -> int:
    path = "/console/login" if console else "/login"
    async with http.get(f"{stack.broker_url}{path}", allow_redirects=False) as response:
        page = await response.text()
    form = {"csrf_token": field_value(page, "csrf_token"), "login": login, "password": password}
    async with http.post(
        f"{stack.broker_url}{path}", data=form, headers=headers or {}, allow_redirects=False
    ) as response:
        if response.status == 429:
            assert response.content_type == "text/html"
            text = await response.text()
            assert "Trop de tentatives" in text
        return response.status


async def _spray(stack: Stack, http: aiohttp.ClientSession, *, console: bool = False) -> None:
    """One wrong password on each of LIMIT different names: no name reaches its own limit."""
    for n in range(LIMIT):
        status = await _login(stack, http, f"victim{n}@example.fr", "password1", console=console)
        assert status == 401


async def test_spraying_the_resident_login_from_one_address_is_throttled(
    stack: Stack,
) -> None:
    stack.settings.login_failures_per_address = LIMIT
    async with _client() as attacker:
        await _spray(stack, attacker)
        assert await _login(stack, attacker, "victim9@example.fr", "password1") == 429
        # Throttled means throttled: a right password from that address waits too, and a
        # forged X-Forwarded-For does not make the attacker someone else.
        assert await _login(stack, attacker, stack.resident_login, stack.resident_password) == 429
        spoofed = {"X-Forwarded-For": "198.51.100.7"}
        assert await _login(stack, attacker, "x@example.fr", "p", headers=spoofed) == 429
    # The resident, from another address, is not locked out by someone else's spraying.
    async with _client("127.0.0.2") as resident:
        assert await _login(stack, resident, stack.resident_login, stack.resident_password) == 303


async def test_a_good_login_does_not_reset_the_address_count(stack: Stack) -> None:
    stack.settings.login_failures_per_address = LIMIT
    async with _client() as attacker:
        for n in range(LIMIT - 1):
            assert await _login(stack, attacker, f"victim{n}@example.fr", "password1") == 401
        assert await _login(stack, attacker, stack.resident_login, stack.resident_password) == 303
    async with _client() as attacker:
        assert await _login(stack, attacker, "victim8@example.fr", "password1") == 401
        assert await _login(stack, attacker, "victim9@example.fr", "password1") == 429


async def test_spraying_the_console_login_from_one_address_is_throttled(stack: Stack) -> None:
    stack.settings.login_failures_per_address = LIMIT
    async with SqlUnitOfWork(stack.engine) as uow:
        await SqlHolderStaff(uow.conn).add(
            holder="enedis", login=STAFF_LOGIN, password=STAFF_PASSWORD, now=uow.now
        )
        await uow.commit()
    async with _client() as attacker:
        await _spray(stack, attacker, console=True)
        assert await _login(stack, attacker, STAFF_LOGIN, STAFF_PASSWORD, console=True) == 429
        # The console and the resident login count apart.
        assert await _login(stack, attacker, stack.resident_login, stack.resident_password) == 303
    async with _client("127.0.0.2") as staff:
        assert await _login(stack, staff, STAFF_LOGIN, STAFF_PASSWORD, console=True) == 303


async def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(stack: Stack) -> None:
    stack.settings.login_failures_per_address = LIMIT
    stack.settings.trusted_proxies = ["127.0.0.1/32"]
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    resident = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}  # the proxy appends the peer
    async with _client() as proxy:
        for n in range(LIMIT):
            assert await _login(stack, proxy, f"v{n}@example.fr", "p", headers=attacker) == 401
        assert await _login(stack, proxy, "v9@example.fr", "p", headers=attacker) == 429
        # A client-supplied first hop is not believed: the last untrusted hop is the client.
        assert await _login(stack, proxy, "v9@example.fr", "p", headers=resident) == 429
        other = {"X-Forwarded-For": "198.51.100.7"}
        login, password = stack.resident_login, stack.resident_password
        assert await _login(stack, proxy, login, password, headers=other) == 303


async def _add_staff(stack: Stack) -> None:
    async with SqlUnitOfWork(stack.engine) as uow:
        await SqlHolderStaff(uow.conn).add(
            holder="enedis", login=STAFF_LOGIN, password=STAFF_PASSWORD, now=uow.now
        )
        await uow.commit()


async def test_a_resident_login_name_cannot_reach_a_staff_accounts_failure_count(
    stack: Stack,
) -> None:
    """Both forms count failures per name in one table; the console's keys are
    ``console:<login>``. Typing that very string as a resident login name must neither
    lock the staff account out nor tell whether it is locked."""
    await _add_staff(stack)
    disguised = f"console:{STAFF_LOGIN}"
    async with _client("127.0.0.3") as attacker:
        statuses = [await _login(stack, attacker, disguised, "wrong") for _ in range(7)]
    assert statuses == [401] * 5 + [429] * 2  # only the resident name is throttled
    async with _client("127.0.0.4") as staff:
        assert await _login(stack, staff, STAFF_LOGIN, STAFF_PASSWORD, console=True) == 303


async def test_a_locked_staff_account_shows_nothing_on_the_resident_form(stack: Stack) -> None:
    await _add_staff(stack)
    async with _client("127.0.0.5") as attacker:
        for _ in range(5):
            assert await _login(stack, attacker, STAFF_LOGIN, "wrong", console=True) == 401
        assert await _login(stack, attacker, STAFF_LOGIN, STAFF_PASSWORD, console=True) == 429
    async with _client("127.0.0.6") as prober:
        # The staff key's exact string, typed as a resident name: a plain failure.
        assert await _login(stack, prober, f"console:{STAFF_LOGIN}", "wrong") == 401


@pytest.mark.parametrize("console", [False, True], ids=["resident", "console"])
async def test_a_successful_login_clears_its_names_failure_count(
    stack: Stack, console: bool
) -> None:
    """Mistakes short of the limit, then the right password: the name's count starts
    afresh, at the resident form and the console alike (the address's count does not: see
    ``test_a_good_login_does_not_reset_the_address_count``)."""
    if console:
        await _add_staff(stack)
        login, password, limit = STAFF_LOGIN, STAFF_PASSWORD, CONSOLE_MAX_FAILURES
    else:
        login, password, limit = stack.resident_login, stack.resident_password, MAX_FAILURES
    for _ in range(2):
        async with _client("127.0.0.7") as person:  # a new browser: logged out again
            for _ in range(limit - 1):
                assert await _login(stack, person, login, "wrong", console=console) == 401
            assert await _login(stack, person, login, password, console=console) == 303


async def test_a_burst_of_attempts_on_one_login_is_counted_as_if_sent_in_turn(
    stack: Stack,
) -> None:
    """Passwords are checked off the event loop, so attempts could overlap; the login lock
    keeps the count exact: of eight wrong passwords sent at once, five are checked."""
    bursts = 8
    async with _client() as attacker:
        statuses = await asyncio.gather(
            *(_login(stack, attacker, stack.resident_login, "wrong") for _ in range(bursts))
        )
    assert sorted(statuses) == [401] * MAX_FAILURES + [429] * (bursts - MAX_FAILURES)


class _HeldHasher:
    """The real hasher, except that a check waits until the test lets it finish."""

    def __init__(self) -> None:
        self.real = passwords._hasher
        self.entered = threading.Event()
        self.release = threading.Event()

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self.entered.set()
        self.release.wait(60)  # a safety net: the test sets it long before
        return bool(self.real.verify(stored, password))


async def test_the_broker_serves_and_writes_while_a_password_is_checked(
    stack: Stack, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A login's Argon2 check holds neither the event loop nor the database: a transfer
    (admission, the holder, the ledger's write) completes while the check is under way."""
    live = await grant(stack, http)
    held = _HeldHasher()
    monkeypatch.setattr(passwords, "_hasher", held)
    async with _client("127.0.0.3") as resident:
        login = asyncio.create_task(
            _login(stack, resident, stack.resident_login, stack.resident_password)
        )
        try:
            assert await asyncio.to_thread(held.entered.wait, 30)
            assert await asyncio.wait_for(fetch_data(stack, http, live), 30) == 200
            assert not login.done()  # the login was still being checked meanwhile
        finally:
            held.release.set()
        assert await login == 303
