"""Failed-login keys: a name of any length is counted (the column holds 254 characters and
PostgreSQL, unlike SQLite, enforces it), and the resident and console namespaces stay
apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.attempt_keys import KEY_LENGTH, attempt_key
from broker.storage.holder_staff import SqlHolderStaff
from broker.web.throttle import resident_key

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


async def test_a_very_long_console_login_is_counted_not_refused_by_the_column(
    engine: AsyncEngine,
) -> None:
    long_login = "x" * 400
    async with engine.connect() as conn:
        staff = SqlHolderStaff(conn)
        for _ in range(3):
            await staff.record_failure(long_login, NOW)
        await conn.commit()
        assert await staff.recent_failures(long_login, NOW - timedelta(minutes=1)) == 3
        assert await staff.recent_failures("x" * 399, NOW - timedelta(minutes=1)) == 0


def test_keys_fit_the_column_and_namespaces_never_meet() -> None:
    for name in ("camille", "console:ops", "x" * 1000):
        assert len(resident_key(name)) <= KEY_LENGTH
        assert len(attempt_key("console:", name)) <= KEY_LENGTH
        assert resident_key(name).startswith("resident:")
        assert resident_key("console:ops") != attempt_key("console:", "ops")
