"""Figure 4: the broker's memory while it streams a very large holder answer to a reader
slower than the holder.

If the broker buffered the answer, its memory would grow with the gap between the two;
streamed with backpressure, it stays flat. The broker's RSS is sampled from
``/proc/<pid>/status`` while the transfer runs, and its peak (``VmHWM``, reset first) is
read at the end, so a spike between two samples is not missed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from bench.processes import memory_kb, reset_peak
from bench.stack import BIG_RESOURCE, HOLDER, Stack, cookie_session, data_range

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Plan:
    size_mb: int
    reader_mb_per_s: float


QUICK = Plan(size_mb=50, reader_mb_per_s=50.0)
FULL = Plan(size_mb=500, reader_mb_per_s=50.0)


async def _sample(pid: int, peak: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], memory_kb(pid)["VmRSS"])
        await asyncio.sleep(0.02)


async def measure(stack: Stack, plan: Plan) -> dict[str, Any]:
    pid = stack.broker.pid
    async with cookie_session() as http:
        grant = await stack.grant(http)
        headers = {"Authorization": f"Bearer {grant['access_token']}"}
        base = f"{stack.broker.url}/v1/data/{HOLDER}/"
        # One ordinary transfer first, so that code paths and pools are warm.
        async with http.get(
            base + "daily_consumption", params=data_range("daily_consumption"), headers=headers
        ) as response:
            await response.read()
        baseline = memory_kb(pid)["VmRSS"]
        peak_reset = reset_peak(pid)
        peak = [baseline]
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample(pid, peak, stop))
        received, started = 0, time.perf_counter()
        pace = CHUNK / (plan.reader_mb_per_s * 1024 * 1024)  # seconds per chunk
        async with http.get(
            base + BIG_RESOURCE, params=data_range("consumption_load_curve"), headers=headers
        ) as response:
            status = response.status
            async for chunk in response.content.iter_chunked(CHUNK):
                received += len(chunk)
                # Sleep off whatever this reader is ahead of its pace.
                ahead = started + (received / CHUNK) * pace - time.perf_counter()
                if ahead > 0:
                    await asyncio.sleep(ahead)
        elapsed = time.perf_counter() - started
        stop.set()
        await sampler
        hwm = memory_kb(pid)["VmHWM"]
    return {
        "status": status,
        "size_mb": plan.size_mb,
        "received_mb": round(received / 1024 / 1024, 1),
        "seconds": round(elapsed, 2),
        "reader_mb_per_s": round(received / 1024 / 1024 / elapsed, 1) if elapsed else 0.0,
        "baseline_rss_mb": round(baseline / 1024, 1),
        "peak_rss_mb": round(peak[0] / 1024, 1),
        "growth_mb": round((peak[0] - baseline) / 1024, 1),
        "hwm_growth_mb": round((hwm - baseline) / 1024, 1) if peak_reset else None,
    }
