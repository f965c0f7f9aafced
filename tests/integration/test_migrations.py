"""The Alembic migrations produce exactly the schema that ``broker/storage/tables.py``
describes, on both stores; the migrated copies the other tests get
(``tests/support/databases.py``) are that schema, at Alembic's heads, each its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from broker.storage.engine import make_engine
from broker.storage.migrate import alembic_config, upgrade_async
from broker.storage.tables import ledger_head, metadata
from tests.support.databases import fresh_database

STORES = ["sqlite", "postgresql"]


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def _schema(url: str) -> tuple[list[Any], set[str]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff), await conn.run_sync(_revisions)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("kind", STORES)
async def test_migrated_schema_matches_the_tables(kind: str, tmp_path: Path) -> None:
    async with fresh_database(kind, tmp_path) as url:
        await upgrade_async(url)
        diff, _ = await _schema(url)
    assert diff == []


@pytest.mark.parametrize("kind", STORES)
async def test_the_tests_migrated_copies_are_the_schema_at_the_heads(
    kind: str, tmp_path: Path
) -> None:
    heads = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    async with (
        fresh_database(kind, tmp_path / "one", migrated=True) as one,
        fresh_database(kind, tmp_path / "two", migrated=True) as two,
    ):
        assert one != two
        diff, revisions = await _schema(one)
        assert diff == []
        assert revisions == heads
        # Each copy is its own database: a write to one is not in the other.
        engine = make_engine(one)
        try:
            async with engine.begin() as conn:
                await conn.execute(insert(ledger_head).values(id=2, seq=7, hash="f" * 64))
        finally:
            await engine.dispose()
        engine = make_engine(two)
        try:
            async with engine.connect() as conn:
                ids = (await conn.execute(select(ledger_head.c.id))).scalars().all()
        finally:
            await engine.dispose()
        assert ids == [1]
