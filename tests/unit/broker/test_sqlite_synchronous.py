"""``AIGUILLAGE_SQLITE_SYNCHRONOUS``: ``full`` unless the operator chooses ``normal``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from broker.settings import Settings
from broker.storage.engine import make_engine


async def _pragma(url: str, **kwargs: str) -> int:
    engine = make_engine(url, **kwargs)  # type: ignore[arg-type]
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("PRAGMA synchronous")) or -1)
    finally:
        await engine.dispose()


async def test_full_by_default_and_normal_on_request(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite3'}"
    assert await _pragma(url) == 2  # FULL
    assert await _pragma(url, synchronous="normal") == 1  # NORMAL


def test_the_setting_defaults_to_full_and_refuses_anything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().sqlite_synchronous == "full"
    monkeypatch.setenv("AIGUILLAGE_SQLITE_SYNCHRONOUS", "normal")
    assert Settings().sqlite_synchronous == "normal"
    monkeypatch.setenv("AIGUILLAGE_SQLITE_SYNCHRONOUS", "off")
    with pytest.raises(ValueError, match="sqlite_synchronous"):
        Settings()
