"""JSON bodies for the answers every client waits on (OAuth, problems), with orjson.

``json.dumps`` cost about 8 % of an introspection's CPU; orjson writes the same JSON
(compact, UTF-8, keys in insertion order) several times faster. Bodies whose values are
not plain JSON types (datetimes and such) are converted by their builders first, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web


def dumps(body: Any) -> str:
    return orjson.dumps(body).decode()


def json_answer(
    body: Any,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> web.Response:
    """``web.json_response`` with orjson (same ``Content-Type``, charset included): the
    body as UTF-8 bytes, no re-encoding."""
    return web.Response(
        body=orjson.dumps(body),
        status=status,
        headers=headers,
        content_type=content_type,
        charset="utf-8",
    )
