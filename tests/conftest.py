"""Shared fixtures. ``stack`` starts the broker and the Enedis simulator on loopback over a
fresh SQLite database for one test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.stack import Stack, running_stack


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
