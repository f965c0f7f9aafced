"""The code exchange on SQLite reads and checks the code before it takes the writer
(``broker.oauth.code_exchange``): what a service sees must not depend on it, above all
when the grant is revoked between that read and the write."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from broker.oauth import code_exchange
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
