"""Response headers that every coach page carries, and the session cookie middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from clients.carbon_coach.config import CoachConfig
from clients.carbon_coach.sessions import COOKIE_NAME, CoachSession, SessionStore

__all__ = ["SESSION_KEY", "current_session", "security_headers", "session_middleware"]

SESSION_KEY = web.RequestKey("coach.session", CoachSession)
MACHINE_PATHS = frozenset({"/notifications"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OnPrepare = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def security_headers(config: CoachConfig) -> OnPrepare:
    # form-action must list the broker: the "connect" form answers with a redirect there,
    # and browsers apply form-action to the redirect too.
    csp = (
        "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
        f"form-action 'self' {config.issuer_origin}; frame-ancestors 'none'"
    )

    async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Content-Security-Policy"] = csp
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.path.startswith("/static/"):
            # Pages carry the resident's consumption: no shared or browser cache.
            response.headers["Cache-Control"] = "no-store"

    return on_prepare


def session_middleware(store: SessionStore, secure: bool) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in MACHINE_PATHS:
            # The broker's pushes carry no cookie: a session per push would evict residents'.
            return await handler(request)
        session = store.get(request.cookies.get(COOKIE_NAME))
        fresh = session is None
        if session is None:
            session = store.create()
        request[SESSION_KEY] = session
        response = await handler(request)
        if fresh:
            # Lax, not Strict: the broker's redirect to /callback is a cross-site top-level
            # navigation, and the session must come with it.
            response.set_cookie(
                COOKIE_NAME, session.id, httponly=True, samesite="Lax", secure=secure, path="/"
            )
        return response

    return middleware


def current_session(request: web.Request) -> CoachSession:
    return request[SESSION_KEY]
