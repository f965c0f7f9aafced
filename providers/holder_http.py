"""Holder answers → HolderError / HolderUnavailable, for every protocol.

Error bodies are small JSON objects naming a code, ``{"error": "<code>",
"error_description": "<message>"}`` at Enedis and in OAuth 2 (RFC 6749 §5.2); holders that
name the members otherwise (GRDF: ``code``/``message``) say so through ``code_key`` and
``description_key``. A 4xx with such a body is the holder refusing on purpose, so its code
(``ADAM-DC-0008``, ``Quota Q3``...) travels up unchanged. Anything else that is not a
success (5xx, a proxy's HTML page, an empty or truncated body) tells us nothing about
the request itself: the holder is unavailable and a later retry may work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from providers.base import HolderError, HolderUnavailable

# Error and token bodies are a few hundred bytes; never buffer more than this of them.
_MAX_SMALL_BODY = 64 * 1024


async def raise_for_error_status(
    response: aiohttp.ClientResponse,
    *,
    code_key: str = "error",
    description_key: str = "error_description",
) -> None:
    """Return quietly on 2xx/3xx; otherwise raise the mapped exception."""
    status = response.status
    if status < 400:
        return
    if status >= 500:
        raise HolderUnavailable(f"holder answered {status}")
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    try:
        body = await read_json_object(response)
    except HolderUnavailable:
        if status == 429:
            # A quota answer stays a quota answer even without a readable body.
            raise HolderError(status=429, code="quota_exceeded", retry_after=retry_after) from None
        raise
    code = body.get(code_key)
    description = body.get(description_key, "")
    if not isinstance(code, str) or not code:
        raise HolderUnavailable(f"holder answered {status} without an error code")
    raise HolderError(
        status=status,
        code=code,
        description=description if isinstance(description, str) else "",
        retry_after=retry_after,
    )


async def read_json_object(response: aiohttp.ClientResponse) -> dict[str, Any]:
    """A small JSON object body, or HolderUnavailable if it is anything else."""
    try:
        raw = await response.content.read(_MAX_SMALL_BODY + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise HolderUnavailable(f"holder body unreadable: {type(exc).__name__}") from exc
    if len(raw) > _MAX_SMALL_BODY:
        raise HolderUnavailable("holder answered an oversized body where a small one was due")
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise HolderUnavailable(f"holder answered {response.status} with a non-JSON body") from None
    if not isinstance(parsed, dict):
        raise HolderUnavailable(f"holder answered {response.status} with a non-object body")
    return parsed


def retry_after_seconds(header: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delay = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delay)


def refuse_link_error(query: Mapping[str, str]) -> None:
    """Raise the holder's refusal when its consent page came back with ``error``."""
    error = query.get("error")
    if error is not None:
        raise HolderError(
            status=403 if error == "access_denied" else 400,
            code=error[:64],
            description=query.get("error_description", "")[:200],
        )
