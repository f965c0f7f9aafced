"""Enedis's error catalogue, and the one middleware that renders every error as JSON.

Exceptions raised by the handlers::

    EnedisError (status, code, description, headers)
     ├── InvalidRequest        400 invalid_request
     ├── UnsupportedGrantType  400 unsupported_grant_type
     ├── InvalidClient         401 invalid_client
     ├── InvalidToken          401 invalid_token
     ├── NoConsent             403 ADAM-DC-0008
     ├── PeriodTooLong         400 ADAM-DC-0015
     ├── BeforeActivation      400 ADAM-ERR0123
     ├── BeforeHistoryHorizon  400 ADAM-DC-0016
     └── QuotaExceeded         429 Quota Q3 / Quota Q4

Every answer that is not a success is ``{"error", "error_description"}``, as at Enedis.
Bad input must never surface as a 500: the middleware turns aiohttp's own HTTP errors
(404, 405, 413...) into the same JSON, and only a bug reaches ADAM-DC-0500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler

logger = logging.getLogger(__name__)


class EnedisError(Exception):
    status: int = 400
    code: str = "invalid_request"

    def __init__(self, description: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = dict(headers or {})


class InvalidRequest(EnedisError):
    status, code = 400, "invalid_request"


class UnsupportedGrantType(EnedisError):
    status, code = 400, "unsupported_grant_type"


class InvalidClient(EnedisError):
    status, code = 401, "invalid_client"


class InvalidToken(EnedisError):
    status, code = 401, "invalid_token"


class NoConsent(EnedisError):
    status, code = 403, "ADAM-DC-0008"


class PeriodTooLong(EnedisError):
    status, code = 400, "ADAM-DC-0015"


class BeforeActivation(EnedisError):
    status, code = 400, "ADAM-ERR0123"


class BeforeHistoryHorizon(EnedisError):
    status, code = 400, "ADAM-DC-0016"


class QuotaExceeded(EnedisError):
    status = 429

    def __init__(self, quota: str, retry_after: int) -> None:
        super().__init__(
            f"Quota {quota} exceeded, retry after {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.code = f"Quota {quota}"


def error_response(
    status: int, code: str, description: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": code, "error_description": description}, status=status, headers=headers
    )


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except EnedisError as exc:
        return error_response(exc.status, exc.code, exc.description, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects are answers, not errors
        code = "not_found" if exc.status == 404 else "invalid_request"
        kept = {name: exc.headers[name] for name in ("Allow",) if name in exc.headers}
        return error_response(exc.status, code, exc.reason, kept)
    except Exception:
        logger.exception("simulator bug while serving %s", request.path)
        return error_response(500, "ADAM-DC-0500", "Technical exception, retry later")
