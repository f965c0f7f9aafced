"""The holder console, ``/console/``: pages for a holder's staff, with their own login and
session (``session.py``), CSRF on every form (``broker.web.csrf``), errors as readable
pages. Staff see and act on their own holder only: the holder comes from the session,
never from the request."""

from __future__ import annotations

from datetime import timedelta

import structlog
from aiohttp import web
from multidict import MultiDict

from broker.admin.blacklist import UnknownParty, blacklist_service, lift_blacklist
from broker.console.session import (
    CONSOLE_COOKIE,
    CONSOLE_PATH,
    current_staff,
    require_staff,
    set_console_cookie,
)
from broker.console.views import overview
from broker.keys import SETTINGS
from broker.storage.holder_staff import SqlHolderStaff, Staff
from broker.storage.passwords import verified
from broker.unit import read_only_unit_of_work, unit_of_work
from broker.web.csrf import check_csrf
from broker.web.render import PageError, render
from broker.web.throttle import (
    LOGINS,
    address_key,
    address_throttled,
    client_address,
    record_address_failure,
)

log = structlog.get_logger(__name__)

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
NOTICES = ("blacklisted", "lifted")


async def login_page(request: web.Request) -> web.StreamResponse:
    if await current_staff(request) is not None:
        raise web.HTTPSeeOther(f"{CONSOLE_PATH}/")
    return render(request, "console/login.html", failed=False, throttled=False, login="")


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await check_csrf(request)
    login = (form.get("login") or "").strip().lower()[:254]
    password = (form.get("password") or "")[:1024]
    address = address_key("console", client_address(request))
    async with request.app[LOGINS]:  # one at a time: see broker/web/throttle.py
        async with read_only_unit_of_work(request.app) as uow:
            staff_repo, now = SqlHolderStaff(uow.conn), uow.now
            throttled = (
                await address_throttled(request, uow.conn, address, now)
                or await staff_repo.recent_failures(login, now - FAILURE_WINDOW) >= MAX_FAILURES
            )
            account = await staff_repo.account(login) if login and not throttled else None
        if throttled:
            log.info("console.login_throttled")
            return render(
                request, "console/login.html", status=429, failed=False, throttled=True, login=login
            )
        # Argon2, in a worker thread and outside any unit of work (passwords.py).
        staff = await verified(account, password) if login else None
        async with unit_of_work(request.app) as uow:
            staff_repo, now = SqlHolderStaff(uow.conn), uow.now
            if staff is None:
                await staff_repo.record_failure(login, now)
                await record_address_failure(uow.conn, address, now)
                await uow.commit()
                log.info("console.login_failed")
                return render(
                    request,
                    "console/login.html",
                    status=401,
                    failed=True,
                    throttled=False,
                    login=login,
                )
            await staff_repo.clear_failures(login)
            session_id = await staff_repo.open_session(
                staff.id, now, request.app[SETTINGS].session_ttl
            )
            await uow.commit()
    log.info("console.login_ok", staff=staff.id, holder=staff.holder)
    response = web.HTTPSeeOther(f"{CONSOLE_PATH}/")
    set_console_cookie(request, response, session_id)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    await check_csrf(request)
    session_id = request.cookies.get(CONSOLE_COOKIE)
    if session_id and len(session_id) <= 128:
        async with unit_of_work(request.app) as uow:
            await SqlHolderStaff(uow.conn).close_session(session_id)
            await uow.commit()
    response = web.HTTPSeeOther(f"{CONSOLE_PATH}/login")
    response.del_cookie(CONSOLE_COOKIE, path=CONSOLE_PATH)
    raise response


async def home(request: web.Request) -> web.StreamResponse:
    staff = await require_staff(request)
    async with unit_of_work(request.app) as uow:
        holder = await uow.holders.get(staff.holder)
        if holder is None:
            raise PageError(404, "error.not_found", "the staff's holder is gone")
        view = await overview(uow, holder.manifest)
    notice = request.query.get("done")
    return render(
        request,
        "console/overview.html",
        staff=staff,
        view=view,
        notice=notice if notice in NOTICES else None,
    )


def _actor(staff: Staff) -> str:
    return f"holder:{staff.holder}:staff:{staff.id}"


async def _posting_staff(request: web.Request) -> tuple[Staff, MultiDict[str]]:
    """A form post: CSRF first, then the session; a post never redirects to the login."""
    form = await check_csrf(request)
    staff = await current_staff(request)
    if staff is None:
        raise PageError(401, "login.intro", "no console session")
    return staff, form


async def blacklist(request: web.Request) -> web.StreamResponse:
    staff, form = await _posting_staff(request)
    service = (form.get("service") or "").strip()
    reason = (form.get("reason") or "").strip()
    if not service or len(service) > 64 or not 0 < len(reason) <= 300:
        raise PageError(400, "error.bad_request", "service and a reason are required")
    try:
        await blacklist_service(
            request.app, holder_id=staff.holder, service=service, reason=reason, actor=_actor(staff)
        )
    except UnknownParty:
        raise PageError(400, "error.bad_request", "unknown service") from None
    raise web.HTTPSeeOther(f"{CONSOLE_PATH}/?done=blacklisted")


async def lift(request: web.Request) -> web.StreamResponse:
    staff, form = await _posting_staff(request)
    service = (form.get("service") or "").strip()[:64]
    if not await lift_blacklist(
        request.app, holder_id=staff.holder, service=service, actor=_actor(staff)
    ):
        raise PageError(400, "error.bad_request", "this service is not blacklisted")
    raise web.HTTPSeeOther(f"{CONSOLE_PATH}/?done=lifted")


async def to_home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(f"{CONSOLE_PATH}/")


def setup(app: web.Application) -> None:
    router = app.router
    router.add_get(CONSOLE_PATH, to_home)
    router.add_get(f"{CONSOLE_PATH}/", home)
    router.add_get(f"{CONSOLE_PATH}/login", login_page)
    router.add_post(f"{CONSOLE_PATH}/login", login_submit)
    router.add_post(f"{CONSOLE_PATH}/logout", logout)
    router.add_post(f"{CONSOLE_PATH}/blacklist", blacklist)
    router.add_post(f"{CONSOLE_PATH}/blacklist/lift", lift)
