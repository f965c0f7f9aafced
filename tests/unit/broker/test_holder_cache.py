"""The per-app holder cache (``broker/holder_cache.py``): what it remembers and when it
forgets. The database is replaced by a counter of loads."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import broker.holder_cache as module
from broker.holder_cache import CachedHolder, HolderCache


class _Loads:
    def __init__(self) -> None:
        self.count = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, _conn: Any, holder_id: str) -> CachedHolder | None:
        self.count += 1
        if self.gate is not None:
            await self.gate.wait()
        if holder_id == "unknown":
            return None
        return CachedHolder(record=object(), blocked=(str(self.count),))  # type: ignore[arg-type]


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> _Loads:
    fake = _Loads()
    monkeypatch.setattr(module, "load_holder", fake)
    return fake


async def test_a_holder_is_read_once_then_served_from_memory(loads: _Loads) -> None:
    cache = HolderCache(enabled=True)
    first = await cache.get(None, "enedis")  # type: ignore[arg-type]
    assert await cache.get(None, "enedis") is first  # type: ignore[arg-type]
    assert loads.count == 1
    assert await cache.get(None, "unknown") is None  # type: ignore[arg-type]
    assert await cache.get(None, "unknown") is None  # type: ignore[arg-type]
    assert loads.count == 3  # an unknown holder is not remembered


async def test_invalidation_drops_one_holder_or_all(loads: _Loads) -> None:
    cache = HolderCache(enabled=True)
    dropped: list[str | None] = []
    cache.on_invalidate.append(dropped.append)
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    await cache.get(None, "grdf")  # type: ignore[arg-type]
    cache.invalidate("enedis")
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    await cache.get(None, "grdf")  # type: ignore[arg-type]
    assert loads.count == 3
    cache.invalidate("*")
    await cache.get(None, "grdf")  # type: ignore[arg-type]
    assert loads.count == 4
    assert dropped == ["enedis", None]


async def test_a_read_overtaken_by_an_invalidation_is_not_kept(loads: _Loads) -> None:
    cache = HolderCache(enabled=True)
    loads.gate = asyncio.Event()
    reading = asyncio.create_task(cache.get(None, "enedis"))  # type: ignore[arg-type]
    await asyncio.sleep(0)
    cache.invalidate("enedis")  # the change commits while the old row is being read
    loads.gate.set()
    await reading
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    assert loads.count == 2


async def test_entries_age_out_and_a_disabled_cache_always_reads(loads: _Loads) -> None:
    now = [0.0]
    cache = HolderCache(enabled=True, max_age=5, clock=lambda: now[0])
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    now[0] = 4.9
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    now[0] = 5.0
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    assert loads.count == 2
    cache.set_enabled(False)  # e.g. the NOTIFY listener is down
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    await cache.get(None, "enedis")  # type: ignore[arg-type]
    assert loads.count == 4
