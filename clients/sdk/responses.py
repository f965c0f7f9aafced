"""Turning the broker's error bodies into the SDK's exceptions.

OAuth endpoints answer RFC 6749 §5.2 JSON; the data plane answers RFC 9457 problem JSON
(docs/wire.md). Anything else (an HTML page from a proxy, a truncated body) is a
TransportError: the caller cannot act on it beyond retrying later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from clients.sdk.errors import (
    AiguillageError,
    DataAccessDenied,
    InvalidToken,
    TransportError,
    oauth_error,
)
from clients.sdk.models import Problem

__all__ = ["decode_json_object", "oauth_failure", "parse_problem", "problem_failure"]

PROBLEM_JSON = "application/problem+json"


def decode_json_object(body: bytes, status: int) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TransportError("the broker answered something that is not JSON", status) from None
    if not isinstance(value, dict):
        raise TransportError("the broker answered JSON that is not an object", status)
    return value


def oauth_failure(status: int, body: bytes) -> AiguillageError:
    """The exception for a non-2xx answer from an OAuth endpoint."""
    try:
        payload = decode_json_object(body, status)
    except TransportError as exc:
        return exc
    error = payload.get("error")
    if not isinstance(error, str):
        return TransportError("OAuth error without an error code", status)
    description = payload.get("error_description")
    return oauth_error(error, description if isinstance(description, str) else None, status)


def parse_problem(status: int, body: bytes) -> Problem | None:
    """The problem in ``body``, or None when the body is not a problem document."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    payload.setdefault("status", status)
    # reason repeats the last segment of type; recover it if a proxy or older broker drops it.
    problem_type = payload.get("type")
    if "reason" not in payload and isinstance(problem_type, str) and "/problems/" in problem_type:
        payload["reason"] = problem_type.rsplit("/", 1)[-1]
    try:
        return Problem.model_validate(payload)
    except ValidationError:
        return None


def problem_failure(
    status: int, content_type: str, body: bytes, headers: Mapping[str, str]
) -> AiguillageError:
    """The exception for a non-2xx answer from the data plane."""
    problem = parse_problem(status, body) if _is_json(content_type) else None
    bearer_says_invalid = 'error="invalid_token"' in headers.get("WWW-Authenticate", "")
    problem_says_invalid = problem is None or problem.reason == "invalid_token"
    if status == 401 and (bearer_says_invalid or problem_says_invalid):
        return InvalidToken(problem)
    if problem is None:
        return TransportError("the data plane answered outside the contract", status)
    return DataAccessDenied(problem, retry_after=_retry_after(headers))


def _is_json(content_type: str) -> bool:
    return content_type == PROBLEM_JSON or content_type == "application/json"


def _retry_after(headers: Mapping[str, str]) -> int | None:
    value = headers.get("Retry-After", "")
    # Only the delay-seconds form is used by the broker; an HTTP date is left to the caller.
    return int(value) if value.isdigit() else None
