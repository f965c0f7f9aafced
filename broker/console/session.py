"""The holder console's own session: cookie ``aiguillage_console`` scoped to ``/console``,
HttpOnly, SameSite=Strict (no cross-site navigation ever needs it), Secure outside
loopback demos; a new random id at each login, only its hash in the database."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from broker.storage.holder_staff import SqlHolderStaff, Staff
from broker.storage.uow import SqlUnitOfWork
from broker.web.session import SessionCookie

CONSOLE_COOKIE = "aiguillage_console"
CONSOLE_PATH = "/console"
STAFF = web.RequestKey("holder_staff", Staff)


async def _staff_of(uow: SqlUnitOfWork, session_id: str, now: datetime) -> Staff | None:
    return await SqlHolderStaff(uow.conn).session_staff(session_id, now)


CONSOLE_SESSION = SessionCookie(CONSOLE_COOKIE, CONSOLE_PATH, "Strict", STAFF, _staff_of)


async def current_staff(request: web.Request) -> Staff | None:
    return await CONSOLE_SESSION.current(request)


async def require_staff(request: web.Request) -> Staff:
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther(f"{CONSOLE_PATH}/login")
    return staff


def set_console_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    CONSOLE_SESSION.set(request, response, session_id)
