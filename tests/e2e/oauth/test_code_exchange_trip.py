"""On SQLite the token endpoint reads and checks a code or a refresh token before it
takes the writer, then writes in one trip (``broker.oauth.code_exchange``,
``broker.oauth.refresh.refresh_in_one_trip``): what a service sees must not depend on it,
above all when the grant is revoked between that read and the write."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from broker.oauth import code_exchange, refresh
from broker.storage.engine import SharedReaders
from broker.storage.oauth_codes import PeekedCode, peek_unused
from broker.storage.tables import auth_codes, tokens
from broker.storage.uow import SqlUnitOfWork
from consent import usecases
from consent.model import Actor
from tests.support.flow import authorize, coach_auth, token_request
from tests.support.stack import Stack


async def _active(stack: Stack, http: aiohttp.ClientSession, token: str) -> bool:
    async with http.post(
        f"{stack.broker_url}/oauth/introspect", data={"token": token}, headers=coach_auth(stack)
    ) as response:
        assert response.status == 200
        return bool((await response.json())["active"])


def _form(stack: Stack, code: str | None, verifier: str) -> dict[str, str]:
    assert code is not None
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": stack.coach_redirect_uri,
        "code_verifier": verifier,
    }


async def test_a_code_exchange_is_written_in_one_trip_and_its_tokens_work(
    stack: Stack, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[bool] = []
    real = code_exchange.burn_and_add_tokens

    async def counted(*args: Any, **kwargs: Any) -> bool:
        written.append(await real(*args, **kwargs))
        return written[-1]

    monkeypatch.setattr(code_exchange, "burn_and_add_tokens", counted)
    result = await authorize(stack, http)
    status, body = await token_request(stack, http, _form(stack, result.code, result.verifier))
    assert status == 200 and written == [True]
    assert await _active(stack, http, body["access_token"])
    # A replay finds the code used: the long way refuses it and revokes what it bought.
    again, refused = await token_request(stack, http, _form(stack, result.code, result.verifier))
    assert (again, refused["error"]) == (400, "invalid_grant")
    assert written == [True]
    assert not await _active(stack, http, body["access_token"])


async def test_a_grant_revoked_while_its_code_is_exchanged_buys_no_token(
    stack: Stack, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resident revokes just after the exchange read the code and its live grant, and
    before it took the writer: no token may come out, and the code is burnt."""

    async def then_revoked(reads: SharedReaders, code_hash: str, client_id: str) -> PeekedCode:
        peeked = await peek_unused(reads, code_hash, client_id)
        assert peeked is not None and peeked.grant is not None and peeked.grant.state.is_live
        async with SqlUnitOfWork(stack.engine) as uow:
            await usecases.revoke(
                uow,
                consent_id=peeked.record.consent_id,
                actor=Actor(kind="resident", id=peeked.grant.subject),
                reason="resident_request",
                now=uow.now,
            )
        return peeked

    monkeypatch.setattr(code_exchange, "peek_unused", then_revoked)
    result = await authorize(stack, http)
    status, body = await token_request(stack, http, _form(stack, result.code, result.verifier))
    assert (status, body["error"]) == (400, "invalid_grant")
    async with stack.engine.connect() as conn:
        issued = (await conn.execute(select(tokens.c.token_hash))).all()
        used = (await conn.execute(select(auth_codes.c.used_at))).scalars().all()
    assert issued == []
    assert len(used) == 1 and used[0] is not None


async def test_a_grant_revoked_while_its_token_is_refreshed_buys_no_token(
    stack: Stack, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same race for a refresh: checked on the readers, revoked before the write."""
    result = await authorize(stack, http)
    status, issued = await token_request(stack, http, _form(stack, result.code, result.verifier))
    assert status == 200
    real = refresh.rotate_and_add_tokens

    async def revoked_first(
        engine: Any, token_hash: str, now: Any, grant_id: str, *rest: Any
    ) -> bool:
        async with SqlUnitOfWork(stack.engine) as uow:
            grant = await uow.consents.get(grant_id)
            assert grant is not None
            actor = Actor(kind="resident", id=grant.subject)
            await usecases.revoke(
                uow, consent_id=grant_id, actor=actor, reason="resident_request", now=uow.now
            )
        return await real(engine, token_hash, now, grant_id, *rest)

    monkeypatch.setattr(refresh, "rotate_and_add_tokens", revoked_first)
    form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    status, body = await token_request(stack, http, form)
    assert (status, body["error"]) == (400, "invalid_grant")
    async with stack.engine.connect() as conn:
        count = (await conn.execute(select(func.count()).select_from(tokens))).scalar()
    assert count == 2  # the exchange's pair, no more
    assert not await _active(stack, http, issued["access_token"])


async def test_a_refresh_is_written_in_one_trip_and_its_tokens_work(
    stack: Stack, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[bool] = []
    real = refresh.rotate_and_add_tokens

    async def counted(*args: Any) -> bool:
        written.append(await real(*args))
        return written[-1]

    monkeypatch.setattr(refresh, "rotate_and_add_tokens", counted)
    result = await authorize(stack, http)
    _, issued = await token_request(stack, http, _form(stack, result.code, result.verifier))
    form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
    status, renewed = await token_request(stack, http, form)
    assert status == 200 and written == [True]
    assert await _active(stack, http, renewed["access_token"])
    # The retired token seen again: the long way detects the reuse and revokes the grant.
    again, refused = await token_request(stack, http, form)
    assert (again, refused["error"]) == (400, "invalid_grant")
    assert written == [True]
    assert not await _active(stack, http, renewed["access_token"])
