"""Housekeeping deletes expired short-lived rows past the grace, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.purge import purge_expired
from tests.support.housekeeping import GRACE, KEPT, remaining, write_rows

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


async def test_the_purge_keeps_live_rows_and_deletes_those_expired_past_the_grace(
    engine: AsyncEngine,
) -> None:
    await write_rows(engine, NOW)
    async with engine.begin() as conn:
        removed = await purge_expired(conn, NOW, GRACE)
    assert await remaining(engine) == KEPT
    assert removed["par_requests"] == 1  # the stale PAR of a live authorization stays
    assert removed["transfer_counters"] == 2
    async with engine.begin() as conn:
        assert sum((await purge_expired(conn, NOW, GRACE)).values()) == 0
