"""Pooled PostgreSQL connections are checked before use (broker.storage.pg_liveness), on a
real server: one the server closed is replaced without a round trip; one that died
silently is found by the ping once idle; one handed back a moment ago is used as is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.settings import Settings
from broker.storage import pg_liveness
from broker.storage.engine import make_engine
from tests.support.databases import PG_ADMIN_DSN, fresh_database


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with fresh_database("postgresql", tmp_path) as url:
        engine = make_engine(url)
        yield engine
        await engine.dispose()


async def _backend(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")))


async def _kill(pid: int) -> None:
    """Terminate a server process and wait until it is gone: pg_terminate_backend only
    signals it, and a connection checked out meanwhile would still be alive."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        for _ in range(200):
            if not await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid
            ):
                break
            await asyncio.sleep(0.01)
    finally:
        await admin.close()
    await asyncio.sleep(0.05)  # and our end of the socket has read its close


async def _pings(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    original = asyncpg.Connection.fetchrow

    async def counting(self: asyncpg.Connection, query: str, *args: object) -> object:
        sent.append(query)
        return await original(self, query, *args)

    monkeypatch.setattr(asyncpg.Connection, "fetchrow", counting)
    return sent


def _silent_deaths(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the server became unreachable without closing the sockets (a partition):
    asyncpg does not know its connections are dead."""
    monkeypatch.setattr(pg_liveness, "_known_closed", lambda _driver: False)


async def test_a_connection_the_server_closed_is_replaced_without_a_round_trip(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(engine)
    await _kill(first)
    pings = await _pings(engine, monkeypatch)
    second = await _backend(engine)  # no error, no ping: asyncpg saw the socket close
    assert second != first
    assert pings == []


async def test_an_idle_dead_connection_is_replaced_before_use(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(engine)
    await _kill(first)
    _silent_deaths(monkeypatch)
    monkeypatch.setattr(pg_liveness, "ALIVE_WINDOW", 0.0)  # as if it had sat idle
    pings = await _pings(engine, monkeypatch)
    second = await _backend(engine)  # no error: the ping found it dead, the pool reconnected
    assert second != first
    # The dead connection's ping, then the new one's (with a window of 0 every checkout pings).
    assert pings == [";", ";"]


async def test_a_connection_just_handed_back_is_not_pinged(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _backend(engine)
    pings = await _pings(engine, monkeypatch)
    assert await _backend(engine) == first
    assert pings == []


async def test_a_silent_death_inside_the_window_fails_one_use_then_the_pool_recovers(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _kill(await _backend(engine))
    _silent_deaths(monkeypatch)
    with pytest.raises(DBAPIError):  # the documented trade: one failed statement (a 503)
        await _backend(engine)
    assert await _backend(engine) > 0


async def test_a_window_of_zero_pings_at_every_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``AIGUILLAGE_PG_ALIVE_WINDOW=0`` (behind PgBouncer): even a connection handed back a
    moment ago is pinged."""
    async with fresh_database("postgresql", tmp_path) as url:
        engine = make_engine(url, alive_window=0.0)
        try:
            first = await _backend(engine)
            pings = await _pings(engine, monkeypatch)
            assert await _backend(engine) == first
            assert pings == [";"]
        finally:
            await engine.dispose()


def test_the_setting_defaults_to_a_second_and_refuses_a_negative_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().pg_alive_window == 1.0
    monkeypatch.setenv("AIGUILLAGE_PG_ALIVE_WINDOW", "0")
    assert Settings().pg_alive_window == 0.0
    monkeypatch.setenv("AIGUILLAGE_PG_ALIVE_WINDOW", "-1")
    with pytest.raises(ValueError, match="pg_alive_window"):
        Settings()
