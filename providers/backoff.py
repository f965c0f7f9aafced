"""Honouring a holder's 429: wait what it asked (``Retry-After``) and try again, a few times.

Only short waits are spent inside a request: a holder asking for more than ``max_wait``
seconds gets its 429 passed up to the service (with the same ``Retry-After``), because
holding the service's connection open for a minute helps nobody.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from providers.base import HolderError

T = TypeVar("T")

ATTEMPTS = 3
MAX_WAIT_S = 3.0


async def with_backoff(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = ATTEMPTS,
    max_wait: float = MAX_WAIT_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except HolderError as error:
            if error.status != 429 or attempt == attempts:
                raise
            # No Retry-After: exponential steps, 0.5 s then 1 s.
            wait = error.retry_after if error.retry_after is not None else 0.5 * 2 ** (attempt - 1)
            if wait > max_wait:
                raise
            await sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
