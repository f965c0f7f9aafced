"""RFC 9457 problem details, the error format of every non-OAuth JSON endpoint."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.http.jsonbody import dumps

PROBLEM_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class Problem(Exception):
    """Raise anywhere in a JSON handler; the error middleware renders it."""

    def __init__(
        self,
        status: int,
        reason: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.title = title or reason.replace("_", " ").capitalize()
        self.headers = headers or {}
        self.extra = extra


def problem_response(issuer: str, problem: Problem) -> web.Response:
    body: dict[str, Any] = {
        "type": f"{issuer}/problems/{problem.reason}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "reason": problem.reason,
        **problem.extra,
    }
    return web.Response(
        status=problem.status,
        text=dumps(body),
        content_type=PROBLEM_TYPE,
        headers=problem.headers,
    )


def status_title(status: int) -> str:
    return _TITLES.get(status, "Error")
