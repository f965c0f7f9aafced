"""The body of a data-plane answer, streamed as it arrives from the holder.

The broker streams the holder's body through without buffering it (ARCHITECTURE.md); this
wrapper keeps that property on our side: ``iter_chunks`` never holds more than one chunk.
``json()`` and ``read()`` are conveniences for bodies known to be small.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from clients.sdk.errors import TransportError

__all__ = ["DataStream"]

GRANT_HEADER = "Aiguillage-Grant-Id"


class DataStream:
    """A successful ``GET /v1/data/{holder}/{resource}``, open until its context exits."""

    def __init__(self, response: aiohttp.ClientResponse, max_json_bytes: int = 32 * 1024 * 1024):
        self._response = response
        self._max_json_bytes = max_json_bytes

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def content_type(self) -> str:
        return self._response.content_type

    @property
    def grant_id(self) -> str | None:
        return self._response.headers.get(GRANT_HEADER)

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._response.headers)

    async def iter_chunks(self, size: int = 64 * 1024) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(size):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"data stream interrupted: {type(exc).__name__}") from exc

    async def read(self) -> bytes:
        """The whole body; refuses bodies past ``max_json_bytes`` rather than exhaust memory."""
        parts: list[bytes] = []
        total = 0
        async for chunk in self.iter_chunks():
            total += len(chunk)
            if total > self._max_json_bytes:
                raise TransportError("data body larger than the configured maximum", self.status)
            parts.append(chunk)
        return b"".join(parts)

    async def json(self) -> Any:
        body = await self.read()
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise TransportError("data body is not JSON", self.status) from None
