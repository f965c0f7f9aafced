"""The ``stack`` fixture on both stores, for the e2e modules whose paths differ between
SQLite and PostgreSQL (the OAuth endpoints read and write through asyncpg directly on
PostgreSQL). A module takes it with ``from tests.support.stores import stack_on_both_stores``;
its tests then run once per store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.databases import fresh_database
from tests.support.stack import Stack, running_stack


@pytest.fixture(name="stack", params=["sqlite", "postgresql"])
async def stack_on_both_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Stack]:
    async with (
        fresh_database(request.param, tmp_path, migrated=True) as url,
        running_stack(tmp_path, database_url=url, migrated=True) as running,
    ):
        yield running
