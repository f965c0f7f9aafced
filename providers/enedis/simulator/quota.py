"""Enedis's call quotas: 5 calls per second per client (Q3), and an hourly quota per API (Q4).

Sliding windows over accepted calls only: a refused call does not consume quota, so a
client that backs off for ``Retry-After`` seconds is served again.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable

from providers.enedis.simulator.errors import QuotaExceeded


class SlidingWindow:
    """At most ``limit`` events per ``seconds`` for each key."""

    def __init__(self, *, limit: int, seconds: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._seconds = seconds
        self._clock = clock
        self._events: dict[Hashable, deque[float]] = {}

    def wait_needed(self, key: Hashable) -> float:
        """Seconds until ``key`` may call again; 0 when it may call now."""
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self._seconds:
            events.popleft()
        if len(events) < self._limit:
            return 0.0
        return events[0] + self._seconds - now

    def record(self, key: Hashable) -> None:
        self._events.setdefault(key, deque()).append(self._clock())


class Quotas:
    def __init__(self, *, per_second: int, per_hour: int, clock: Callable[[], float]) -> None:
        self._second = SlidingWindow(limit=per_second, seconds=1.0, clock=clock)
        self._hour = SlidingWindow(limit=per_hour, seconds=3600.0, clock=clock)

    def consume(self, client_id: str, api: str) -> None:
        """Count one call, or raise QuotaExceeded with the Retry-After to announce."""
        for quota, window, key in (
            ("Q3", self._second, client_id),
            ("Q4", self._hour, (client_id, api)),
        ):
            wait = window.wait_needed(key)
            if wait > 0:
                raise QuotaExceeded(quota, retry_after=max(1, math.ceil(wait)))
        self._second.record(client_id)
        self._hour.record((client_id, api))
