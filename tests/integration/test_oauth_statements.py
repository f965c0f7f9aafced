"""The OAuth endpoints' one-statement reads and writes (``SqlTokens.find_with_grant``,
``find_locking_grant``, ``add_many``, ``mark_rotated``, ``SqlAuthCodes.burn``), on SQLite
(straight on the driver) and PostgreSQL (SQLAlchemy Core) alike: same values, same
transaction as the unit of work, and what SQLAlchemy writes they read and vice versa."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.engine import make_engine
from broker.storage.oauth_codes import CodeRecord, SqlAuthCodes
from tests.integration.test_repositories import NOW, active_consent, uow

LATER = NOW + timedelta(minutes=10, microseconds=7)


def _token(token_hash: str, kind: str = "refresh", grant: str = "grant-1") -> dict[str, object]:
    return {
        "token_hash": token_hash,
        "kind": kind,
        "client_id": "carbon-coach",
        "grant_id": grant,
        "issued_at": NOW,
        "expires_at": LATER if kind == "access" else None,
    }


async def test_tokens_added_together_read_back_with_their_grant(engine: AsyncEngine) -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token("at", "access"), _token("rt")])
        await u.commit()
    async with uow(engine) as u:
        found = await u.tokens.find_with_grant("at")
        locked = await u.tokens.find_locking_grant("rt")
        plain = await u.tokens.find("at")
    assert found is not None and locked is not None
    record, consent = found
    assert record == plain
    assert record.issued_at == NOW and record.expires_at == LATER and record.kind == "access"
    assert record.revoked_at is None and record.rotated_at is None
    assert consent is not None and consent.id == "grant-1" and consent.activated_at == NOW
    assert locked[0].kind == "refresh" and locked[1] == consent


async def test_a_token_whose_grant_is_gone_comes_back_alone(engine: AsyncEngine) -> None:
    async with uow(engine) as u:
        await u.tokens.add_many([_token("rt", grant="gone")])
        await u.commit()
    async with uow(engine) as u:
        assert await u.tokens.find_with_grant("nope") is None
        assert await u.tokens.find_locking_grant("nope") is None
        found = await u.tokens.find_with_grant("rt")
        locked = await u.tokens.find_locking_grant("rt")
    assert found is not None and found[1] is None and found[0].grant_id == "gone"
    assert locked == found


async def test_tokens_added_without_a_commit_are_gone(engine: AsyncEngine) -> None:
    async with uow(engine) as u:
        await u.tokens.add_many([_token("at", "access"), _token("rt")])
        assert await u.tokens.find("rt") is not None
    async with uow(engine) as u:
        assert await u.tokens.find("at") is None and await u.tokens.find("rt") is None


async def test_a_rotation_happens_once_and_rolls_back_with_its_unit_of_work(
    engine: AsyncEngine,
) -> None:
    async with uow(engine) as u:
        await u.tokens.add_many([_token("rt")])
        await u.commit()
    async with uow(engine) as u:
        assert await u.tokens.mark_rotated("rt", LATER)
        # no commit
    async with uow(engine) as u:
        assert await u.tokens.mark_rotated("rt", LATER)
        assert not await u.tokens.mark_rotated("rt", LATER)
        await u.commit()
    async with uow(engine) as u:
        record = await u.tokens.find("rt")
    assert record is not None and record.rotated_at == LATER


async def test_two_concurrent_refreshes_lock_the_grant_and_exactly_one_rotates(
    database_url: str, engine: AsyncEngine
) -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token("rt")])
        await u.commit()
    other = make_engine(database_url)

    async def refresh(e: AsyncEngine) -> bool:
        async with uow(e) as u:
            found = await u.tokens.find_locking_grant("rt")
            assert found is not None and found[1] is not None
            won = await u.tokens.mark_rotated("rt", LATER)
            await u.commit()
            return won

    try:
        results = await asyncio.gather(refresh(engine), refresh(other))
    finally:
        await other.dispose()
    assert sorted(results) == [False, True]


def _code(code_hash: str, consent_id: str = "grant-1") -> CodeRecord:
    return CodeRecord(
        code_hash=code_hash,
        client_id="carbon-coach",
        consent_id=consent_id,
        redirect_uri="http://127.0.0.1:9/cb",
        code_challenge="challenge",
        expires_at=LATER,
        used_at=None,
    )


async def test_a_code_burns_once_for_its_own_client_with_its_grant(engine: AsyncEngine) -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        codes = SqlAuthCodes(u.conn)
        await codes.add(_code("c1"))
        await codes.add(_code("c2", consent_id="gone"))
        await u.commit()
    async with uow(engine) as u:
        codes = SqlAuthCodes(u.conn)
        assert await codes.burn("c1", "another-client", NOW) is None
        assert await codes.burn("unknown", "carbon-coach", NOW) is None
        burnt = await codes.burn("c1", "carbon-coach", NOW)
        assert burnt is not None
        record, consent = burnt
        assert record == _code("c1")
        assert consent is not None and consent.id == "grant-1"
        assert await codes.burn("c1", "carbon-coach", NOW) is None
        orphan = await codes.burn("c2", "carbon-coach", NOW)
        assert orphan is not None and orphan[1] is None
        await u.commit()
    async with uow(engine) as u:
        used = await SqlAuthCodes(u.conn).get("c1")
    assert used is not None and used.used_at == NOW


async def test_a_burn_without_a_commit_leaves_the_code_usable(engine: AsyncEngine) -> None:
    async with uow(engine) as u:
        await SqlAuthCodes(u.conn).add(_code("c1"))
        await u.commit()
    async with uow(engine) as u:
        assert await SqlAuthCodes(u.conn).burn("c1", "carbon-coach", NOW) is not None
    async with uow(engine) as u:
        assert await SqlAuthCodes(u.conn).burn("c1", "carbon-coach", NOW) is not None


async def test_tokens_added_and_committed_in_one_trip_on_sqlite(engine: AsyncEngine) -> None:
    """``add_many_and_commit`` (the token endpoint's last step on SQLite) commits the
    tokens with what the transaction wrote before them; a failure rolls back both. On
    PostgreSQL it does nothing and says so, and the caller adds and commits as usual."""
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token("old")])
        await u.commit()
    async with uow(engine) as u:
        assert await u.tokens.mark_rotated("old", NOW)  # written before, same transaction
        done = await u.tokens.add_many_and_commit([_token("at", "access"), _token("rt")])
        if not done:
            assert engine.dialect.name == "postgresql"
            await u.tokens.add_many([_token("at", "access"), _token("rt")])
        await u.commit()
    async with uow(engine) as u:
        old, new = await u.tokens.find("old"), await u.tokens.find("rt")
        assert old is not None and old.rotated_at == NOW
        assert new is not None and await u.tokens.find("at") is not None
    if engine.dialect.name != "sqlite":
        return
    async with uow(engine) as u:
        assert await u.tokens.mark_rotated("rt", NOW)
        with pytest.raises(sqlite3.IntegrityError):  # "at" exists: the whole transaction goes
            await u.tokens.add_many_and_commit([_token("fresh"), _token("at", "access")])
    async with uow(engine) as u:
        rt, fresh = await u.tokens.find("rt"), await u.tokens.find("fresh")
    assert rt is not None and rt.rotated_at is None and fresh is None
