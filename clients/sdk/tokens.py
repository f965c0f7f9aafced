"""``TokenManager``: one grant's tokens, refreshed once and only once when they expire.

Refresh tokens rotate, and presenting a rotated one revokes the whole grant (docs/wire.md).
Two coroutines refreshing with the same token would therefore end the resident's consent.
All refreshes go through one ``asyncio.Lock`` and happen only if the token set a caller saw
is still the current one; the others wait and reuse the new set.

A refresh whose answer is lost (network cut after the broker rotated) leaves us holding a
dead refresh token; nothing client-side can recover that, and the next refresh will fail
with InvalidGrant, which callers treat as "reconnect".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import UTC, date, datetime
from typing import Protocol

from clients.sdk.data import DataStream
from clients.sdk.errors import InvalidToken
from clients.sdk.models import TokenSet

__all__ = ["OnRotate", "TokenClient", "TokenManager"]

OnRotate = Callable[[TokenSet], Awaitable[None]]


class TokenClient(Protocol):
    """What the manager needs from ``AiguillageClient`` (a fake in unit tests)."""

    async def refresh(self, token_set: TokenSet) -> TokenSet: ...

    def fetch(
        self, token_set: TokenSet, holder: str, resource: str, start: date, end: date
    ) -> AbstractAsyncContextManager[DataStream]: ...


class TokenManager:
    def __init__(
        self,
        client: TokenClient,
        token_set: TokenSet,
        on_rotate: OnRotate | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._token_set = token_set
        self._on_rotate = on_rotate
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = asyncio.Lock()

    @property
    def token_set(self) -> TokenSet:
        return self._token_set

    async def current(self) -> TokenSet:
        """A token set whose access token is not about to expire, refreshing if needed."""
        seen = self._token_set
        if not seen.is_expired(self._clock()):
            return seen
        return await self.refresh_if_current(seen)

    async def refresh_if_current(self, seen: TokenSet) -> TokenSet:
        """Refresh unless someone already replaced ``seen``; return the current set.

        Raises InvalidGrant when the grant has ended (revoked, expired, reused token).
        """
        async with self._lock:
            if self._token_set.access_token == seen.access_token:
                rotated = await self._client.refresh(self._token_set)
                self._token_set = rotated
                if self._on_rotate is not None:
                    # Persist before anyone uses the new set: after a crash the stored refresh
                    # token must be the live one, the old one now revokes the grant.
                    await self._on_rotate(rotated)
            return self._token_set

    @asynccontextmanager
    async def fetch(
        self, holder: str, resource: str, start: date, end: date
    ) -> AsyncIterator[DataStream]:
        """``AiguillageClient.fetch`` with a fresh token, retried once after a 401.

        The retry covers clocks that disagree about expiry; a second 401 is raised as is.
        """
        token_set = await self.current()
        async with AsyncExitStack() as stack:
            try:
                stream = await stack.enter_async_context(
                    self._client.fetch(token_set, holder, resource, start, end)
                )
            except InvalidToken:
                token_set = await self.refresh_if_current(token_set)
                stream = await stack.enter_async_context(
                    self._client.fetch(token_set, holder, resource, start, end)
                )
            yield stream
