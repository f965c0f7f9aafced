"""A closed-loop load generator: ``concurrency`` workers, each sending its next request as
soon as the previous answer has been read whole, until a request count or a time limit.

Latencies are wall-clock from sending the request to the last byte of the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

# One request: returns True if the answer was the expected one.
Call = Callable[[int], Awaitable[bool]]


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls only
    failures: int = 0
    elapsed: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.count,
            "failures": self.failures,
            "seconds": round(self.elapsed, 3),
            "per_second": round(self.per_second, 1),
            "p50_ms": round(self.percentile_ms(50), 3),
            "p95_ms": round(self.percentile_ms(95), 3),
            "p99_ms": round(self.percentile_ms(99), 3),
        }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def closed_loop(call: Call, *, concurrency: int, requests: int, seconds: float) -> Run:
    """Run ``call`` ``requests`` times (or until ``seconds`` pass) with ``concurrency``
    calls in flight; ``call`` gets the index of its request."""
    run = Run()
    next_index = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal next_index
        while next_index < requests and time.perf_counter() < deadline:
            index, next_index = next_index, next_index + 1
            started = time.perf_counter()
            ok = await call(index)
            if ok:
                run.latencies.append(time.perf_counter() - started)
            else:
                run.failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.elapsed = time.perf_counter() - started
    return run
