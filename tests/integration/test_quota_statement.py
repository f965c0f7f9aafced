"""The contract quota's one-statement admission (``broker.quota.take_request``) on both
stores: it counts both request windows at once, names the limit a refusal hit (day, then
second, then hour) with its Retry-After, and a refused request leaves no count behind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.quota import ContractLimitReached, day_window, request_windows, take_request
from broker.storage.tables import transfer_counters
from consent.registry import ContractTerms

AT = datetime(2026, 3, 1, 9, 30, 15, 500_000, tzinfo=UTC)


async def _take(engine: AsyncEngine, terms: ContractTerms, at: datetime = AT) -> None:
    async with engine.begin() as conn:
        await take_request(conn, holder="enedis", service="coach", terms=terms, now=at)


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(transfer_counters.c.window, transfer_counters.c.count))
        return {str(window): int(count) for window, count in rows}


async def test_requests_count_in_both_windows_until_the_second_is_full(
    engine: AsyncEngine,
) -> None:
    terms = ContractTerms(requests_per_second=2, requests_per_hour=100)
    second, hour = request_windows(terms, AT)
    await _take(engine, terms)
    await _take(engine, terms)
    with pytest.raises(ContractLimitReached) as refused:
        await _take(engine, terms)
    assert refused.value.limit == "requests_per_second"
    assert refused.value.retry_after == 1
    assert await _counts(engine) == {second.key: 2, hour.key: 2}  # the refusal gave back


async def test_the_hour_limit_is_named_and_the_second_given_back(engine: AsyncEngine) -> None:
    terms = ContractTerms(requests_per_second=10, requests_per_hour=3)
    for _ in range(3):
        await _take(engine, terms)
    with pytest.raises(ContractLimitReached) as refused:
        await _take(engine, terms)
    assert refused.value.limit == "requests_per_hour"
    assert refused.value.retry_after == 30 * 60 - 15
    second, hour = request_windows(terms, AT)
    assert await _counts(engine) == {second.key: 3, hour.key: 3}


async def test_used_up_bytes_are_named_first_and_count_nothing(engine: AsyncEngine) -> None:
    terms = ContractTerms(requests_per_second=1, requests_per_hour=100, bytes_per_day=1000)
    await _take(engine, terms)  # the second window is now full as well
    day, _ = day_window(AT)
    async with engine.begin() as conn:  # the day's bytes, as the ledger batch counts them
        await conn.execute(
            insert(transfer_counters).values(
                holder="enedis", service="coach", window=day, count=1, bytes=1000
            )
        )
    with pytest.raises(ContractLimitReached) as refused:
        await _take(engine, terms)
    assert refused.value.limit == "bytes_per_day"
    second, hour = request_windows(terms, AT)
    assert await _counts(engine) == {second.key: 1, hour.key: 1, day: 1}
