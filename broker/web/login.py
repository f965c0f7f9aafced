"""``/login`` and ``/logout``. Failed logins are throttled per login name and per client
address (``throttle.py``)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from aiohttp import web

from broker.keys import SETTINGS
from broker.storage.passwords import verified
from broker.unit import read_only_unit_of_work, unit_of_work
from broker.web.csrf import check_csrf
from broker.web.render import render
from broker.web.session import (
    RESIDENT,
    SESSION_COOKIE,
    current_resident,
    safe_next,
    set_session_cookie,
)
from broker.web.throttle import (
    LOGINS,
    address_key,
    address_throttled,
    client_address,
    record_address_failure,
    resident_key,
)

log = structlog.get_logger(__name__)

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


async def login_page(request: web.Request) -> web.StreamResponse:
    next_path = safe_next(request.query.get("next"))
    if await current_resident(request) is not None:
        raise web.HTTPSeeOther(next_path)
    return render(request, "login.html", next_path=next_path, error_key=None, login="")


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await check_csrf(request)
    login = (form.get("login") or "").strip().lower()[:254]
    password = (form.get("password") or "")[:1024]
    next_path = safe_next(form.get("next"))
    settings = request.app[SETTINGS]
    address = address_key("resident", client_address(request))
    name_key = resident_key(login)  # never a console or address key (``throttle.py``)
    async with request.app[LOGINS]:  # one at a time: see broker/web/throttle.py
        async with read_only_unit_of_work(request.app) as uow:
            now = uow.now
            throttled = (
                await address_throttled(request, uow.conn, address, now)
                or await uow.residents.recent_failures(name_key, now - FAILURE_WINDOW)
                >= MAX_FAILURES
            )
            account = await uow.residents.account(login) if login and not throttled else None
        if throttled:
            log.info("login.throttled")
            return render(
                request,
                "login.html",
                status=429,
                next_path=next_path,
                error_key="login.throttled",
                login=login,
            )
        # Argon2, in a worker thread and outside any unit of work (passwords.py).
        resident = await verified(account, password) if login else None
        async with unit_of_work(request.app) as uow:
            now = uow.now
            if resident is None:
                await uow.residents.record_failure(name_key, now)
                await record_address_failure(uow.conn, address, now)
                await uow.commit()
                log.info("login.failed")
                return render(
                    request,
                    "login.html",
                    status=401,
                    next_path=next_path,
                    error_key="login.failed",
                    login=login,
                )
            await uow.residents.clear_failures(name_key)
            session_id = await uow.residents.open_session(resident.id, now, settings.session_ttl)
            await uow.commit()
    log.info("login.ok", resident=resident.id)
    request[RESIDENT] = resident
    response = web.HTTPSeeOther(next_path)
    set_session_cookie(request, response, session_id)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    await check_csrf(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        async with unit_of_work(request.app) as uow:
            await uow.residents.close_session(session_id)
            await uow.commit()
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def setup(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
