"""A fresh PostgreSQL database per run, dropped afterwards (figures 3 and 5).

The server is the test one on 127.0.0.1:5432 (user ``postgres``, trust authentication);
the bench connects to its ``test`` database only to create and drop its own.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def sqlalchemy_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def raw_dsn(name: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


@asynccontextmanager
async def fresh_database(prefix: str = "aiguillage_bench") -> AsyncIterator[str]:
    """Create ``<prefix>_<random>``; yield its name; drop it, connections and all."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
