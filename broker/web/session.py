"""Resident sessions: an opaque random id in a cookie, its hash in the database.

A new id is issued at every login (no session fixation); the cookie is HttpOnly,
SameSite=Lax (so the redirect back from a holder still carries it) and Secure outside
loopback demos. Expiry is enforced by the database row, not the cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, TypeVar
from urllib.parse import quote

from aiohttp import web

from broker.keys import SETTINGS
from broker.storage.residents import Resident
from broker.storage.uow import SqlUnitOfWork
from broker.unit import unit_of_work

T = TypeVar("T")

SESSION_COOKIE = "aiguillage_session"
RESIDENT = web.RequestKey("resident", Resident)


@dataclass(frozen=True)
class SessionCookie(Generic[T]):
    """One kind of session (residents here, holder staff in ``broker/console/session.py``):
    its cookie, and how a session id becomes its owner (read once per request)."""

    name: str
    path: str
    samesite: Literal["Lax", "Strict"]
    owner: web.RequestKey[T]
    lookup: Callable[[SqlUnitOfWork, str, datetime], Awaitable[T | None]]

    async def current(self, request: web.Request) -> T | None:
        if self.owner in request:
            return request[self.owner]
        session_id = request.cookies.get(self.name)
        if not session_id or len(session_id) > 128:
            return None
        async with unit_of_work(request.app) as uow:
            found = await self.lookup(uow, session_id, uow.now)
        if found is not None:
            request[self.owner] = found
        return found

    def set(self, request: web.Request, response: web.StreamResponse, session_id: str) -> None:
        settings = request.app[SETTINGS]
        response.set_cookie(
            self.name,
            session_id,
            httponly=True,
            samesite=self.samesite,
            secure=settings.cookie_secure,
            max_age=settings.session_ttl,
            path=self.path,
        )


async def _resident_of(uow: SqlUnitOfWork, session_id: str, now: datetime) -> Resident | None:
    return await uow.residents.session_resident(session_id, now)


# SameSite=Lax: the redirect back from a holder must still carry it.
RESIDENT_SESSION = SessionCookie(SESSION_COOKIE, "/", "Lax", RESIDENT, _resident_of)


async def current_resident(request: web.Request) -> Resident | None:
    return await RESIDENT_SESSION.current(request)


async def require_resident(request: web.Request) -> Resident:
    """The logged-in resident, or a redirect to the login page that comes back here."""
    resident = await current_resident(request)
    if resident is None:
        raise web.HTTPSeeOther(f"/login?next={_quote(request.path_qs)}")
    return resident


def set_session_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    RESIDENT_SESSION.set(request, response, session_id)


def _quote(value: str) -> str:
    return quote(value, safe="")


def safe_next(value: str | None) -> str:
    """Only same-site paths: no scheme, no host, no ``//`` or backslash tricks."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(c in value for c in ("\\", "\r", "\n", "\t")):
        return "/"
    return value
