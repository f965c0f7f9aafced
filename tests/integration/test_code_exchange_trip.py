"""The token endpoint's writes in one trip on SQLite: a code exchange (``peek_unused``,
``burn_and_add_tokens``) and a refresh (``rotate_and_add_tokens``). What was checked is
read without the writer, then confirmed under it in the same transaction as the tokens are
added. Anything that changed in between (the code burnt or the token rotated by another
request, the token or grant revoked) leaves nothing written, for the long way to decide."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.storage.engine import checked_writes, make_engine, shared_readers
from broker.storage.oauth_codes import SqlAuthCodes, burn_and_add_tokens, peek_unused
from broker.storage.tokens import rotate_and_add_tokens
from consent import usecases
from consent.model import Actor
from tests.integration.test_oauth_statements import LATER, _code, _token
from tests.integration.test_repositories import NOW, active_consent, uow
from tests.support.databases import fresh_database

CLIENT = "carbon-coach"


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with fresh_database("sqlite", tmp_path, migrated=True) as url:
        engine = make_engine(url)
        yield engine
        await engine.dispose()


async def _with_code(engine: AsyncEngine, code_hash: str = "c1") -> None:
    await active_consent(engine)
    async with uow(engine) as u:
        await SqlAuthCodes(u.conn).add(_code(code_hash))
        await u.commit()


async def _state(engine: AsyncEngine, code_hash: str = "c1") -> tuple[bool, bool]:
    """Whether the code is burnt, and whether the tokens were added."""
    async with uow(engine) as u:
        code = await SqlAuthCodes(u.conn).get(code_hash)
        added = await u.tokens.find("at") is not None or await u.tokens.find("rt") is not None
    assert code is not None
    return code.used_at is not None, added


def _tokens() -> list[dict[str, object]]:
    return [_token("at", "access"), _token("rt")]


async def test_a_code_read_then_burnt_with_its_tokens_in_one_trip(
    sqlite_engine: AsyncEngine,
) -> None:
    await _with_code(sqlite_engine)
    reads = shared_readers(sqlite_engine)
    assert reads is not None
    assert await peek_unused(reads, "c1", "another-client") is None
    assert await peek_unused(reads, "unknown", CLIENT) is None
    peeked = await peek_unused(reads, "c1", CLIENT)
    assert peeked is not None
    assert peeked.record == _code("c1")
    assert peeked.grant is not None and peeked.grant.id == "grant-1"
    assert await burn_and_add_tokens(sqlite_engine, peeked, LATER, _tokens())
    assert await _state(sqlite_engine) == (True, True)
    async with uow(sqlite_engine) as u:
        burnt = await SqlAuthCodes(u.conn).get("c1")
    assert burnt is not None and burnt.used_at == LATER
    # Used now: nothing more to peek, and the same peek cannot burn it twice.
    assert await peek_unused(reads, "c1", CLIENT) is None
    assert not await burn_and_add_tokens(sqlite_engine, peeked, LATER, [_token("other")])


async def test_a_code_burnt_by_another_exchange_meanwhile_writes_nothing(
    sqlite_engine: AsyncEngine,
) -> None:
    await _with_code(sqlite_engine)
    reads = shared_readers(sqlite_engine)
    assert reads is not None
    peeked = await peek_unused(reads, "c1", CLIENT)
    assert peeked is not None
    async with uow(sqlite_engine) as u:
        assert await SqlAuthCodes(u.conn).burn("c1", CLIENT, NOW) is not None
        await u.commit()
    assert not await burn_and_add_tokens(sqlite_engine, peeked, LATER, _tokens())
    async with uow(sqlite_engine) as u:
        code = await SqlAuthCodes(u.conn).get("c1")
        assert await u.tokens.find("at") is None and await u.tokens.find("rt") is None
    assert code is not None and code.used_at == NOW  # the other exchange's burn stands


async def test_a_grant_revoked_between_the_read_and_the_burn_gets_no_tokens(
    sqlite_engine: AsyncEngine,
) -> None:
    """The race a check-then-write invites: the grant was live when its code was read and
    checked, and is revoked before the writer is taken. The burn sees the grant's new
    text and the whole trip is rolled back: no tokens, and the code left for the long way
    (which burns it and refuses the exchange)."""
    await _with_code(sqlite_engine)
    reads = shared_readers(sqlite_engine)
    assert reads is not None
    peeked = await peek_unused(reads, "c1", CLIENT)
    assert peeked is not None and peeked.grant is not None and peeked.grant.state.is_live
    async with uow(sqlite_engine) as u:
        await usecases.revoke(
            u,
            consent_id="grant-1",
            actor=Actor(kind="resident", id="res_1"),
            reason="resident_request",
            now=NOW,
        )
    assert not await burn_and_add_tokens(sqlite_engine, peeked, LATER, _tokens())
    assert await _state(sqlite_engine) == (False, False)


async def test_a_failure_in_the_trip_rolls_the_burn_back(sqlite_engine: AsyncEngine) -> None:
    await _with_code(sqlite_engine)
    async with uow(sqlite_engine) as u:
        await u.tokens.add_many([_token("rt")])  # the second token's hash is taken
        await u.commit()
    reads = shared_readers(sqlite_engine)
    assert reads is not None
    peeked = await peek_unused(reads, "c1", CLIENT)
    assert peeked is not None
    with pytest.raises(sqlite3.IntegrityError):
        await burn_and_add_tokens(sqlite_engine, peeked, LATER, _tokens())
    async with uow(sqlite_engine) as u:
        code = await SqlAuthCodes(u.conn).get("c1")
        assert await u.tokens.find("at") is None
    assert code is not None and code.used_at is None
    # The writer connection came back clean: the next trip works.
    assert await burn_and_add_tokens(sqlite_engine, peeked, LATER, [_token("at", "access")])


# The stored JSON as stored (SQLAlchemy's JSON type would parse it).
_GRANT_TEXT = "SELECT data FROM consents WHERE id = 'grant-1'"


async def _grant_text(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        text = (
            await conn.exec_driver_sql("SELECT data FROM consents WHERE id = 'grant-1'")
        ).scalar()
    assert isinstance(text, str)
    return text


async def _with_refresh_token(engine: AsyncEngine) -> str:
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token("old")])
        await u.commit()
    return await _grant_text(engine)


async def test_a_refresh_token_retired_and_replaced_in_one_trip(
    sqlite_engine: AsyncEngine,
) -> None:
    grant = await _with_refresh_token(sqlite_engine)
    assert await rotate_and_add_tokens(sqlite_engine, "old", LATER, "grant-1", grant, _tokens())
    async with uow(sqlite_engine) as u:
        old, new = await u.tokens.find("old"), await u.tokens.find("rt")
    assert old is not None and old.rotated_at == LATER and new is not None
    # Retired: the same token cannot be rotated again.
    assert not await rotate_and_add_tokens(
        sqlite_engine, "old", LATER, "grant-1", grant, [_token("other")]
    )
    async with uow(sqlite_engine) as u:
        assert await u.tokens.find("other") is None


@pytest.mark.parametrize("meanwhile", ["rotated", "revoked", "grant_narrowed", "grant_revoked"])
async def test_a_refresh_token_or_grant_changed_meanwhile_writes_nothing(
    sqlite_engine: AsyncEngine, meanwhile: str
) -> None:
    grant = await _with_refresh_token(sqlite_engine)
    async with uow(sqlite_engine) as u:
        if meanwhile == "rotated":
            assert await u.tokens.mark_rotated("old", NOW)
            await u.commit()
        elif meanwhile == "revoked":
            await u.tokens.revoke("old", NOW)
            await u.commit()
        elif meanwhile == "grant_narrowed":  # the grant changes, its tokens stay usable
            await usecases.narrow(
                u, consent_id="grant-1", subject="res_1", now=NOW, resources=["daily_consumption"]
            )
        else:
            actor = Actor(kind="resident", id="res_1")
            await usecases.revoke(
                u, consent_id="grant-1", actor=actor, reason="resident_request", now=NOW
            )
    before = await _grant_text(sqlite_engine)
    assert (before == grant) == (not meanwhile.startswith("grant_"))
    assert not await rotate_and_add_tokens(sqlite_engine, "old", LATER, "grant-1", grant, _tokens())
    async with uow(sqlite_engine) as u:
        old = await u.tokens.find("old")
        assert await u.tokens.find("at") is None and await u.tokens.find("rt") is None
    assert old is not None and old.rotated_at != LATER  # not retired by this trip


async def _refresh_tokens(engine: AsyncEngine, count: int) -> str:
    await active_consent(engine)
    async with uow(engine) as u:
        await u.tokens.add_many([_token(f"old{n}") for n in range(count)])
        await u.commit()
    return await _grant_text(engine)


async def test_checked_writes_queued_together_are_committed_together(
    sqlite_engine: AsyncEngine,
) -> None:
    """While the writer is busy, the token responses that arrive make up one batch: one
    transaction and one commit, each write still judged alone."""
    grant = await _refresh_tokens(sqlite_engine, 20)
    writes = checked_writes(sqlite_engine)
    held = await sqlite_engine.raw_connection()  # the writer, busy with something else
    pending = [
        asyncio.ensure_future(
            rotate_and_add_tokens(
                sqlite_engine, f"old{n}", LATER, "grant-1", grant, [_token(f"new{n}")]
            )
        )
        for n in range(20)
    ]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in pending)  # nothing answered before its commit
    before = writes.batches
    held.close()
    assert await asyncio.gather(*pending) == [True] * 20
    assert writes.batches - before == 1
    async with uow(sqlite_engine) as u:
        for n in range(20):
            old, new = await u.tokens.find(f"old{n}"), await u.tokens.find(f"new{n}")
            assert old is not None and old.rotated_at == LATER and new is not None


async def test_in_one_batch_a_write_that_differs_or_fails_is_undone_alone(
    sqlite_engine: AsyncEngine,
) -> None:
    grant = await _refresh_tokens(sqlite_engine, 3)
    async with uow(sqlite_engine) as u:
        await u.tokens.add_many([_token("taken")])
        await u.commit()
    held = await sqlite_engine.raw_connection()
    writes = [
        # old0 twice: applied in order, so the second finds it retired (a reuse).
        rotate_and_add_tokens(sqlite_engine, "old0", LATER, "grant-1", grant, [_token("a")]),
        rotate_and_add_tokens(sqlite_engine, "old0", LATER, "grant-1", grant, [_token("b")]),
        # old1 with a token hash already stored: its insert fails, its rotation is undone.
        rotate_and_add_tokens(sqlite_engine, "old1", LATER, "grant-1", grant, [_token("taken")]),
        rotate_and_add_tokens(sqlite_engine, "old2", LATER, "grant-1", grant, [_token("c")]),
    ]
    pending = [asyncio.ensure_future(write) for write in writes]
    await asyncio.sleep(0.05)
    held.close()
    outcomes = await asyncio.gather(*pending, return_exceptions=True)
    assert outcomes[0] is True and outcomes[1] is False and outcomes[3] is True
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    async with uow(sqlite_engine) as u:
        old1 = await u.tokens.find("old1")
        assert await u.tokens.find("a") is not None and await u.tokens.find("b") is None
        assert await u.tokens.find("c") is not None
    assert old1 is not None and old1.rotated_at is None
