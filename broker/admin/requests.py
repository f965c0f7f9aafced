"""Reading admin API requests: the operator's bearer token and JSON bodies, and turning a
pydantic ValidationError into problem JSON that points at the faulty field."""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from broker.http.problems import Problem
from broker.keys import SETTINGS

MAX_ERRORS = 20


def require_operator(request: web.Request) -> None:
    """RFC 6750 bearer: ``AIGUILLAGE_OPERATOR_TOKEN``; without one set, the API is closed."""
    expected = request.app[SETTINGS].operator_token.get_secret_value()
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if (
        not expected
        or scheme != "Bearer"
        or not hmac.compare_digest(given.strip().encode(), expected.encode())
    ):
        raise Problem(
            401,
            "unauthorized",
            "the operator token is required (Authorization: Bearer …)",
            headers={"WWW-Authenticate": 'Bearer realm="aiguillage-operator"'},
        )


async def json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Problem(415, "unsupported_media_type", "send application/json")
    try:
        body = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise Problem(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Problem(400, "invalid_json", "the body must be a JSON object")
    return body


def invalid(error: ValidationError, reason: str) -> Problem:
    """422 naming every faulty field as a dotted path (``manifest.resources.0.path``)."""
    fields = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"])[:300]}
        for e in error.errors()[:MAX_ERRORS]
    ]
    first = fields[0]["field"] if fields else ""
    return Problem(
        422,
        reason,
        f"{first}: {fields[0]['message']}" if fields else "invalid",
        field=first,
        errors=fields,
    )
