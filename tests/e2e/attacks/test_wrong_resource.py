"""A token used where it was not issued for (RFC 9700 §4.10, audience restriction).

A resource outside the consent is in ``tests/e2e/data/test_denials.py``; here: another
holder's data with this grant's token, a token where a client credential is expected, and
a refresh token as an access token at every JSON endpoint that takes a bearer."""

from __future__ import annotations

import json

import aiohttp
from sqlalchemy import insert, select

from broker.storage.tables import holders
from tests.e2e.data.support import data_url, days_ago, grant
from tests.support.flow import DEFAULT_DETAILS, par_form, pkce_pair
from tests.support.stack import Stack


async def _clone_holder(stack: Stack, new_id: str) -> None:
    """A second registered holder with the same resources (another operator's copy)."""
    async with stack.engine.begin() as conn:
        row = (await conn.execute(select(holders).where(holders.c.id == "enedis"))).one()
        values = row._asdict() | {"id": new_id, "manifest": row.manifest | {"id": new_id}}
        await conn.execute(insert(holders).values(values))


async def test_a_token_for_one_holder_is_refused_at_another(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await _clone_holder(stack, "enedis-bis")
    live = await grant(stack, http)
    url = data_url(stack, holder="enedis-bis")
    async with http.get(
        url, params={"start": days_ago(3), "end": days_ago(1)}, headers=live.auth
    ) as response:
        body = await response.json(content_type=None)
    assert (response.status, body["reason"]) == (403, "holder_mismatch")


async def test_an_access_token_is_not_a_client_credential(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    async with http.get(
        f"{stack.broker_url}/oauth/grants/{live.grant_id}", headers=live.auth
    ) as response:
        body = await response.json(content_type=None)
    assert (response.status, body["error"]) == (401, "invalid_client")
    _, challenge = pkce_pair()
    form = par_form(stack, challenge, "s", DEFAULT_DETAILS) | {
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": live.access_token,
    }
    async with http.post(f"{stack.broker_url}/oauth/par", data=form) as response:
        body = json.loads(await response.text())
    assert (response.status, body["error"]) == (401, "invalid_client")
