"""The two middlewares every request goes through, outermost first:

1. ``request_context``: a request id (echoed as ``X-Request-Id``), bound to every log line;
   then, once the answer is shaped, the request counted and timed in the metrics
   (``broker.ops.metrics.count_request``) and one access-log line without query string
   (codes and tokens travel there).
2. ``errors``: the one place where exceptions become responses, in the format of the
   surface: RFC 6749 JSON under ``/oauth``, RFC 9457 problem JSON for the JSON APIs,
   a readable page elsewhere. Bad input never becomes a 500. Every response, and every
   HTTP exception passed on (redirects), then gets the strict hardening headers. A problem
   response carries its reason code under ``PROBLEM_REASON`` for the metrics to count
   denials by reason.

Two layers rather than four (context, metrics, headers, errors): each layer is a coroutine
and a handler wrapper on every request, and the access line and the metrics need the same
status and timing anyway (docs/performance.md, round five).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import CIMultiDict
from sqlalchemy.exc import DBAPIError, OperationalError

from broker.http.problems import Problem, problem_response, status_title
from broker.keys import SETTINGS
from broker.oauth.errors import InvalidRequest, OAuthError, ServerError
from broker.ops.metrics import PROBLEM_REASON, count_request
from broker.web.csrf import CsrfFailure
from broker.web.render import PageError, error_page
from consent.errors import ConsentError, TransferDenied

log = structlog.get_logger("aiguillage.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_JSON_PREFIXES = ("/v1/", "/admin/", "/problems/")
# OAuth endpoints answer RFC 6749 JSON; the authorize endpoint is a browser page.
_OAUTH_JSON = ("/oauth/par", "/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/grants")


# Every response's hardening headers, built once; a handler's own value wins (setdefault).
_HARDENING: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", _CSP),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)

# Request ids only correlate log lines (a client may send its own), so they need to be
# unique, not unpredictable: a generator seeded once from the OS instead of a system call
# (``secrets.token_hex``) per request.
_ids = random.Random(os.urandom(16))  # noqa: S311 (ids for correlation, not secrets)


def _new_request_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


def surface(path: str) -> str:
    if path.startswith(_OAUTH_JSON):
        return "oauth"
    if path.startswith(_JSON_PREFIXES) or path.endswith(".json"):
        return "problem"
    return "page"


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id", "")
    if not (0 < len(request_id) <= 64 and request_id.replace("-", "").isalnum()):
        request_id = _new_request_id()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status, reason = 500, None
    try:
        response = await handler(request)
        status, reason = response.status, response.get(PROBLEM_REASON)
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers["X-Request-Id"] = request_id
        raise
    finally:
        elapsed = time.perf_counter() - started
        count_request(request, status, reason, elapsed)
        log.info(
            "http.request",
            method=request.method,
            path=request.path,
            status=status,
            ms=round(elapsed * 1000, 2),
        )
        structlog.contextvars.unbind_contextvars("request_id")


def _harden(headers: CIMultiDict[str]) -> None:
    """The hardening headers, and ``Cache-Control: no-store`` unless the response chose
    its own (a problem response may; so may any other)."""
    for name, value in _HARDENING:
        headers.setdefault(name, value)
    headers.setdefault("Cache-Control", "no-store")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await _answer(request, handler)
    except web.HTTPException as exc:
        _harden(exc.headers)
        raise
    _harden(response.headers)
    return response


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The handler's answer, or the response its exception stands for."""
    kind = surface(request.path)
    issuer = request.app[SETTINGS].issuer
    try:
        return await handler(request)
    except OAuthError as exc:
        return exc.response()
    except Problem as exc:
        return _problem(issuer, exc)
    except PageError as exc:
        return error_page(request, exc.status, exc.message_key)
    except CsrfFailure:
        log.info("csrf.refused")
        if kind == "page":
            return error_page(request, 403, "error.csrf")
        return problem_response(issuer, Problem(403, "csrf_failed", "CSRF check failed"))
    except TransferDenied as exc:
        return _problem(issuer, Problem(exc.status_hint, exc.reason, exc.detail))
    except ConsentError as exc:
        return _client_error(request, kind, issuer, 400, exc.reason, exc.detail)
    except HttpProcessingError:
        # A body aiohttp could not parse (broken multipart, bad headers inside it).
        return _client_error(request, kind, issuer, 400, "bad_request", "malformed body")
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body:
            raise
        if exc.status >= 500:
            log.error("http.error", status=exc.status)
        return _client_error(request, kind, issuer, exc.status, _reason(exc.status), exc.reason)
    # asyncpg's InternalClientError: its protocol after the server ended the connection
    # under a statement SQLAlchemy sent (SQLAlchemy passes it through untranslated).
    except (
        OperationalError,
        DBAPIError,
        ConnectionRefusedError,
        TimeoutError,
        asyncpg.InternalClientError,
    ):
        log.exception("database.unavailable")
        return _client_error(request, kind, issuer, 503, "unavailable", "database unavailable")
    except Exception:
        log.exception("http.unhandled")
        if kind == "oauth":
            return ServerError("the server could not handle this request").response()
        return _client_error(request, kind, issuer, 500, "internal", "internal error")


def _problem(issuer: str, problem: Problem) -> web.Response:
    response = problem_response(issuer, problem)
    response[PROBLEM_REASON] = problem.reason
    return response


def _reason(status: int) -> str:
    return {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "too_large",
        415: "unsupported_media_type",
    }.get(status, "error")


_PAGE_MESSAGE = {
    400: "error.bad_request",
    403: "error.csrf",
    404: "error.not_found",
    405: "error.method",
    413: "error.too_large",
    500: "error.internal",
    503: "error.unavailable",
}


def _client_error(
    request: web.Request, kind: str, issuer: str, status: int, reason: str, detail: str
) -> web.Response:
    if kind == "oauth":
        error = InvalidRequest(detail)
        if status != 400:
            error.status = status
        response = error.response()
        if status in (500, 503):
            response.text = json.dumps({"error": "server_error", "error_description": detail})
        return response
    if kind == "problem":
        return _problem(issuer, Problem(status, reason, detail, title=status_title(status)))
    return error_page(request, status, _PAGE_MESSAGE.get(status, "error.bad_request"))
