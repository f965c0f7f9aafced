"""The broker's own Enedis access token (OAuth 2 client credentials, RFC 6749 §4.4).

Enedis Data Connect does not issue a token per consent: one client-credentials token lets
the broker call every usage point whose customer consented. So one cached token serves all
fetches, refreshed ~60 s before it expires, and an asyncio.Lock makes sure that concurrent
fetches that find it stale cause a single token call between them.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from providers.base import HolderUnavailable
from providers.holder_http import raise_for_error_status, read_json_object

# Refresh this long before the announced expiry, so a token never dies in flight.
_EXPIRY_MARGIN_S = 60.0


@dataclass(frozen=True)
class _Token:
    value: str
    fresh_until: float


class ClientCredentialsToken:
    """A cached client-credentials token, fetched lazily and refreshed under a lock."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        token_url: str,
        client_id: str,
        client_secret: str,
        timeout: aiohttp.ClientTimeout,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._token_url = token_url
        self._authorization = aiohttp.encode_basic_auth(client_id, client_secret)
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: _Token | None = None

    async def get(self) -> str:
        """The current token, fetching a new one if there is none or it is about to expire."""
        token = self._token
        if token is not None and self._clock() < token.fresh_until:
            return token.value
        async with self._lock:
            # Another task may have refreshed it while we waited for the lock.
            token = self._token
            if token is not None and self._clock() < token.fresh_until:
                return token.value
            return await self._fetch()

    async def refresh(self, rejected: str) -> str:
        """A new token after the holder refused ``rejected`` (revoked or expired early)."""
        async with self._lock:
            token = self._token
            if token is not None and token.value != rejected:
                return token.value  # somebody already replaced it
            return await self._fetch()

    async def _fetch(self) -> str:
        try:
            async with self._session.post(
                self._token_url,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": self._authorization, "Accept": "application/json"},
                timeout=self._timeout,
            ) as response:
                await raise_for_error_status(response)
                body = await read_json_object(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HolderUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from exc
        value = body.get("access_token")
        lifetime = _seconds(body.get("expires_in"))
        if not isinstance(value, str) or not value or lifetime is None:
            raise HolderUnavailable("token endpoint answered without a usable token")
        self._token = _Token(value, self._clock() + max(0.0, lifetime - _EXPIRY_MARGIN_S))
        return value


def _seconds(raw: object) -> float | None:
    # RFC 6749 §5.1 makes expires_in a number; Enedis's Swagger types it as a string.
    if isinstance(raw, bool):
        return None
    value: float | None = None
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            return None
    # "nan", "inf" or 1e400 from a holder would cache its token forever (#7, fuzzing).
    return value if value is not None and math.isfinite(value) else None
