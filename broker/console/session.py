"""The holder console's own session: cookie ``aiguillage_console`` scoped to ``/console``,
HttpOnly, SameSite=Strict (no cross-site navigation ever needs it), Secure outside
loopback demos; a new random id at each login, only its hash in the database."""

from __future__ import annotations

from aiohttp import web

from broker.keys import SETTINGS
from broker.storage.holder_staff import SqlHolderStaff, Staff
from broker.unit import unit_of_work

CONSOLE_COOKIE = "aiguillage_console"
CONSOLE_PATH = "/console"
STAFF = web.RequestKey("holder_staff", Staff)


async def current_staff(request: web.Request) -> Staff | None:
    if STAFF in request:
        return request[STAFF]
    session_id = request.cookies.get(CONSOLE_COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    async with unit_of_work(request.app) as uow:
        staff = await SqlHolderStaff(uow.conn).session_staff(session_id, uow.now)
    if staff is not None:
        request[STAFF] = staff
    return staff


async def require_staff(request: web.Request) -> Staff:
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther(f"{CONSOLE_PATH}/login")
    return staff


def set_console_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        CONSOLE_COOKIE,
        session_id,
        httponly=True,
        samesite="Strict",
        secure=settings.cookie_secure,
        max_age=settings.session_ttl,
        path=CONSOLE_PATH,
    )
