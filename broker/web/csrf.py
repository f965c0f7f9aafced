"""CSRF protection for every form: a double-submit token plus an Origin check.

Each visitor gets a random token in an HttpOnly, SameSite=Strict cookie; every form carries
the same value in a hidden field; a POST whose field does not match the cookie, or whose
Origin names another site, is refused before its handler runs. The refusal page still
knows who is logged in (its header keeps "Mes partages / Se déconnecter"): the session is
only read, nothing of the refused request is acted on.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from typing import NoReturn
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDict
from sqlalchemy.exc import SQLAlchemyError

from broker.keys import SETTINGS
from broker.web.session import current_resident

CSRF_COOKIE = "aiguillage_csrf"
CSRF_FIELD = "csrf_token"
_REQUEST_TOKEN = web.RequestKey("csrf_token", str)


class CsrfFailure(Exception):
    pass


def csrf_token(request: web.Request) -> str:
    """The visitor's token, minted on first use; ``set_csrf_cookie`` sends it back."""
    existing = request.get(_REQUEST_TOKEN) or request.cookies.get(CSRF_COOKIE)
    if not existing or len(existing) < 32:
        existing = secrets.token_urlsafe(32)
    request[_REQUEST_TOKEN] = existing
    return existing


def set_csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    token = request.get(_REQUEST_TOKEN)
    if token and token != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=request.app[SETTINGS].cookie_secure,
            path="/",
        )


async def check_csrf(request: web.Request) -> MultiDict[str]:
    """Read the posted form and check it came from our own page; return its text fields
    (repeated fields such as checkbox groups kept: ``form.getall(name, [])``)."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        issuer = urlsplit(request.app[SETTINGS].issuer)
        seen = urlsplit(origin)
        if (seen.scheme, seen.netloc) != (issuer.scheme, issuer.netloc):
            await _refuse(request, "cross-origin form post")
    posted = await request.post()
    form: MultiDict[str] = MultiDict((k, v) for k, v in posted.items() if isinstance(v, str))
    sent = form.get(CSRF_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not sent or not cookie or not hmac.compare_digest(sent, cookie):
        await _refuse(request, "missing or wrong CSRF token")
    return form


async def _refuse(request: web.Request, reason: str) -> NoReturn:
    """Raise ``CsrfFailure`` once the resident's session has been read (read only), so
    that the error page's header still shows the logged-in resident. A failed lookup
    (database down) only leaves the header bare: the answer stays the 403."""
    with contextlib.suppress(SQLAlchemyError, OSError):
        await current_resident(request)
    raise CsrfFailure(reason)
