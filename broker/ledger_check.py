"""``aiguillage ledger verify``: replay the whole chain from storage and check that the
recorded head names its last entry (a chain alone cannot reveal a cut-off tail).

The ledger is cut into seq ranges, checked in worker processes when there are several
(``broker.storage.ledger_read.check_range``: each reads its own range with the raw driver
and checks every hash in it); the parent checks the joints between ranges
(``consent.ledger.join_ranges``) and the stored head. The answer is the one a single
in-order pass gives, to the first bad seq.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.ledger import read_head
from broker.storage.ledger_read import LedgerSource, check_range, ledger_source, seq_bounds
from consent.ledger import RangePart, join_ranges

# Entries per range, at most. A ledger of one range is checked in one pass in this process:
# starting worker processes (spawned: ~0.6 s on the development machine) would cost more
# than it saves; above, ranges of equal size, one worker process per core.
RANGE = 250_000


@dataclass(frozen=True)
class LedgerReport:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        if self.ok:
            return f"ledger ok: {self.count} entries, head {self.head_seq} {self.head_hash}"
        return f"ledger BROKEN at entry {self.first_bad_seq}: {self.problem}"


def plan_ranges(max_seq: int, size: int) -> list[tuple[int | None, int | None]]:
    """``(lo, hi]`` ranges of at most ``size`` seqs and of equal sizes, covering every seq:
    the first open below, the last open above, so that an entry with an out-of-place seq
    still falls in exactly one."""
    count = max(1, -(-max_seq // size)) if size > 0 else 1
    step = -(-max_seq // count)
    bounds: list[int | None] = [None, *(step * i for i in range(1, count)), None]
    return list(itertools.pairwise(bounds))


async def check_ledger(
    engine: AsyncEngine, *, workers: int | None = None, range_size: int = RANGE
) -> LedgerReport:
    """Verify the chain and the head; ``workers`` processes (default: one per core)."""
    started = time.perf_counter()
    bounds = await seq_bounds(engine)
    parts: list[RangePart] = []
    if bounds is not None:
        ranges = plan_ranges(bounds[1], range_size)
        workers = min(workers or os.cpu_count() or 1, len(ranges))
        parts = await _check_ranges(ledger_source(engine), ranges, workers)
    chain = join_ranges(parts)
    head_seq, head_hash = await read_head(engine)
    seconds = time.perf_counter() - started
    if chain.ok and (head_seq, head_hash) != (chain.head_seq, chain.head_hash):
        return LedgerReport(
            ok=False,
            count=chain.count,
            head_seq=chain.head_seq,
            head_hash=chain.head_hash,
            first_bad_seq=chain.head_seq + 1,
            problem=f"the recorded head is entry {head_seq}; entries after "
            f"{chain.head_seq} are missing or altered",
            seconds=seconds,
        )
    return LedgerReport(
        ok=chain.ok,
        count=chain.count,
        head_seq=chain.head_seq,
        head_hash=chain.head_hash,
        first_bad_seq=chain.first_bad_seq,
        problem=chain.problem,
        seconds=seconds,
    )


async def _check_ranges(
    source: LedgerSource, ranges: list[tuple[int | None, int | None]], workers: int
) -> list[RangePart]:
    loop = asyncio.get_running_loop()
    if workers <= 1:
        # One pass, one cursor, in a thread (the event loop stays free).
        return [await loop.run_in_executor(None, check_range, source, None, None)]
    # Spawned, not forked: the parent runs an event loop and driver threads.
    context = multiprocessing.get_context("spawn")
    pool: Executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures = [loop.run_in_executor(pool, check_range, source, lo, hi) for lo, hi in ranges]
        return list(await asyncio.gather(*futures))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
