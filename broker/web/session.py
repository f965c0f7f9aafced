"""Resident sessions: an opaque random id in a cookie, its hash in the database.

A new id is issued at every login (no session fixation); the cookie is HttpOnly,
SameSite=Lax (so the redirect back from a holder still carries it) and Secure outside
loopback demos. Expiry is enforced by the database row, not the cookie.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from broker.keys import SETTINGS
from broker.storage.residents import Resident
from broker.unit import unit_of_work

SESSION_COOKIE = "aiguillage_session"
RESIDENT = web.RequestKey("resident", Resident)


async def current_resident(request: web.Request) -> Resident | None:
    if RESIDENT in request:
        return request[RESIDENT]
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id or len(session_id) > 128:
        return None
    async with unit_of_work(request.app) as uow:
        resident = await uow.residents.session_resident(session_id, uow.now)
    if resident is not None:
        request[RESIDENT] = resident
    return resident


async def require_resident(request: web.Request) -> Resident:
    """The logged-in resident, or a redirect to the login page that comes back here."""
    resident = await current_resident(request)
    if resident is None:
        raise web.HTTPSeeOther(f"/login?next={_quote(request.path_qs)}")
    return resident


def set_session_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    settings = request.app[SETTINGS]
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="Lax",
        secure=settings.cookie_secure,
        max_age=settings.session_ttl,
        path="/",
    )


def _quote(value: str) -> str:
    return quote(value, safe="")


def safe_next(value: str | None) -> str:
    """Only same-site paths: no scheme, no host, no ``//`` or backslash tricks."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in ("\\", "\r", "\n", "\t")):
        return "/"
    return value
