"""Fresh databases for tests: a SQLite file, or a new PostgreSQL database on the local
server (127.0.0.1:5432, trust auth; ``make test`` starts it), dropped afterwards.

``migrated=True`` hands out a database already at the current schema. Running Alembic for
every test cost a quarter to a third of a second each (hundreds of stacks: over a minute
of the suite), so the migrations run once, into a template, and each test gets a copy:
SQLite copies the file, PostgreSQL creates the database ``TEMPLATE`` it. The template is
made by the same ``upgrade`` and ``tests/integration/test_migrations.py`` still runs the
migrations themselves.
"""

from __future__ import annotations

import atexit
import hashlib
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.engine import make_engine
from broker.storage.migrate import MIGRATIONS, upgrade_async

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
TEMPLATE_PREFIX = "aiguillage_tpl_"
# Any constant: the advisory lock under which one pytest worker builds the template while
# the others wait for it.
_TEMPLATE_LOCK = 0x6169_6775


def _migrations_digest() -> str:
    """Names the template after the migrations' text, so a changed migration builds a new
    one and a template of other migrations is never handed out."""
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS.rglob("*.py")):
        digest.update(path.relative_to(MIGRATIONS).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


_sqlite_template: Path | None = None
_pg_template: str | None = None


async def _sqlite_copy(target: Path) -> None:
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="aiguillage-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = folder / "template.sqlite3"
        # Alembic's engine leaves a closed file in rollback-journal mode: the file is the
        # whole database (the broker's engine turns WAL on when it connects).
        await upgrade_async(f"sqlite+aiosqlite:///{path}")
        _sqlite_template = path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_sqlite_template, target)


async def _pg_template_name() -> str:
    """The PostgreSQL template of the current migrations, built if no run has built it."""
    global _pg_template
    if _pg_template is not None:
        return _pg_template
    name = TEMPLATE_PREFIX + _migrations_digest()
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute("SELECT pg_advisory_lock($1)", _TEMPLATE_LOCK)
        try:
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await _build_pg_template(admin, name)
            # CREATE DATABASE … TEMPLATE fails while anyone is connected to the template;
            # closed to connections, not even autovacuum's workers come in.
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        finally:
            await admin.execute("SELECT pg_advisory_unlock($1)", _TEMPLATE_LOCK)
    finally:
        await admin.close()
    _pg_template = name
    return name


async def _build_pg_template(admin: asyncpg.Connection, name: str) -> None:
    # Templates of older migrations are of no further use to anyone.
    stale = await admin.fetch(
        "SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2",
        TEMPLATE_PREFIX + "%",
        name,
    )
    for row in stale:
        await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    # Built under another name and renamed once complete: a run killed halfway leaves a
    # database nobody takes for a template (it is dropped as stale by the next build).
    building = f"{name}_{secrets.token_hex(4)}"
    await admin.execute(f'CREATE DATABASE "{building}"')
    try:
        await upgrade_async(PG_URL.format(name=building))
        await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    except BaseException:
        await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        raise


@asynccontextmanager
async def fresh_database(
    kind: str, tmp_path: Path, *, migrated: bool = False
) -> AsyncIterator[str]:
    """A new, empty database of ``kind`` ("sqlite" or "postgresql"), or one at the current
    schema with ``migrated``; PostgreSQL's is dropped afterwards."""
    if kind == "sqlite":
        path = tmp_path / "store.sqlite3"
        if migrated:
            await _sqlite_copy(path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = f' TEMPLATE "{await _pg_template_name()}"' if migrated else ""
    name = f"aiguillage_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await admin.close()
    try:
        yield PG_URL.format(name=name)
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def migrated_sqlite(path: Path) -> str:
    """The URL of a SQLite database at ``path``, at the current schema."""
    await _sqlite_copy(path)
    return f"sqlite+aiosqlite:///{path}"


@asynccontextmanager
async def migrated_engine(kind: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """``fresh_database`` at the current schema, with the broker's engine on it (disposed
    afterwards)."""
    async with fresh_database(kind, tmp_path, migrated=True) as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
