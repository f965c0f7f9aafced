"""The database becomes unreachable under a running broker (PostgreSQL refuses every
connection and the open ones are cut): each surface answers 503 in its own format, and
nothing is half-written — once the database is back, the grant is exactly as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from sqlalchemy import func, select

from broker.ledger_check import check_ledger
from broker.storage.tables import ledger, tokens
from tests.e2e.data.support import data_url, days_ago
from tests.support.databases import PG_ADMIN_DSN, fresh_database
from tests.support.flow import connect, refresh, token_request
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def pg_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with (
        fresh_database("postgresql", tmp_path, migrated=True) as url,
        running_stack(tmp_path, database_url=url, migrated=True) as running,
    ):
        yield running


async def _cut(database: str, *, allow: bool) -> None:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allow).lower()}')
        if not allow:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
    finally:
        await admin.close()


async def _counts(stack: Stack) -> tuple[int, int]:
    async with stack.engine.connect() as conn:
        return (
            int(await conn.scalar(select(func.count()).select_from(tokens)) or 0),
            int(await conn.scalar(select(func.count()).select_from(ledger)) or 0),
        )


async def test_an_unreachable_database_is_503_and_leaves_nothing_half_written(
    pg_stack: Stack, http: aiohttp.ClientSession
) -> None:
    stack = pg_stack
    issued = await connect(stack, http)
    before = await _counts(stack)
    database = stack.settings.database_url.rsplit("/", 1)[1]
    await _cut(database, allow=False)
    try:
        form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
        status, body = await token_request(stack, http, form)
        assert (status, body["error"]) == (503, "server_error")
        auth = {"Authorization": f"Bearer {issued['access_token']}"}
        params = {"start": days_ago(3), "end": days_ago(1)}
        async with http.get(data_url(stack), params=params, headers=auth) as response:
            problem = await response.json(content_type=None)
            assert (response.status, response.content_type) == (503, "application/problem+json")
            assert problem["reason"] == "unavailable"
        async with http.get(f"{stack.broker_url}/", allow_redirects=False) as response:
            assert (response.status, response.content_type) == (503, "text/html")
    finally:
        await _cut(database, allow=True)
    # Back: nothing was written during the outage, and the refresh token was not burnt.
    assert await _counts(stack) == before
    assert (await refresh(stack, http, issued["refresh_token"]))["grant_id"] == issued["grant_id"]
    assert (await check_ledger(stack.engine)).ok
