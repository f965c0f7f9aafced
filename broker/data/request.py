"""Reading a data request: the bearer token (RFC 6750 §2.1) and the date range.

Nothing here touches the database; these are the checks that need no one's records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from aiohttp import web

from broker.http.problems import Problem
from consent.errors import InvalidRange

# Two dates and a little room: anything longer is not a request this API understands.
MAX_QUERY_LENGTH = 256
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9\-._~+/]+=*)$", re.ASCII)
_MAX_TOKEN = 512


def invalid_token(detail: str) -> Problem:
    return Problem(
        401,
        "invalid_token",
        detail,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    match = _BEARER.match(header) if len(header) <= _MAX_TOKEN + 7 else None
    if match is None:
        raise invalid_token("an access token is required: Authorization: Bearer <token>")
    return match.group(1)


def check_query_size(request: web.Request) -> None:
    if len(request.query_string) > MAX_QUERY_LENGTH:
        raise Problem(400, "invalid_request", "the query string is too long")


@dataclass(frozen=True)
class DateRange:
    start: date | None
    end: date | None


def parse_range(request: web.Request, dated: bool) -> DateRange:
    """``[start; end[`` for a dated resource; no range for one that takes none.

    Raises the domain's ``InvalidRange`` so that the caller records it like any denial.
    """
    if not dated:
        return DateRange(None, None)
    start = _date(request.query.get("start"), "start")
    end = _date(request.query.get("end"), "end")
    if start >= end:
        raise InvalidRange("start must be before end")
    return DateRange(start, end)


def _date(raw: str | None, name: str) -> date:
    if not raw:
        raise InvalidRange(f"{name} is required (YYYY-MM-DD)")
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRange(f"{name} must be a date written YYYY-MM-DD") from None
