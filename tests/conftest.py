"""Shared fixtures. ``stack`` starts the broker and the Enedis simulator on loopback over a
fresh SQLite database for one test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher

from broker.storage import passwords
from tests.support.stack import Stack, running_stack


@pytest.fixture(autouse=True, scope="session")
def _argon2_at_its_lowest_cost() -> Iterator[None]:
    """The suite's own password hashes at Argon2id's lowest cost. Every stack seeds a
    resident and most tests log in: at the production cost (about 80 ms of CPU per hash
    or check on the development machine, twice that on slower ones) that was a third of
    the suite's CPU. The hashes stay real Argon2id, made and checked by the same code, and
    a hash carries its parameters, so a broker started as a process checks them at their
    own cost; the production parameters are checked where a real process makes a hash
    (``tests/e2e/test_cli.py``)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    patch.undo()


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client with its own cookie jar (a browser stand-in that keeps cookies,
    including those of 127.0.0.1, which aiohttp's default jar refuses)."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        yield session


@pytest.fixture
async def coach_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """The stack plus the example carbon coach, a real service built only on the SDK."""
    async with running_stack(tmp_path, with_coach=True) as running:
        yield running
