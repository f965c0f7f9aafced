"""Holder-side revocation: the resident withdraws at the holder, the holder calls the
broker's signed webhook, the consent ends as REVOKED_BY_HOLDER. Replays and bad
signatures are refused."""

from __future__ import annotations

import time

import aiohttp

from providers.notices import sign_notice
from tests.e2e.data.support import days_ago, ledger_of
from tests.support.holders import (
    WATER_SUBJECT,
    WEBHOOK_SECRET,
    Holders,
    connect_to,
    details_for,
)
from tests.support.stack import Stack

JWT = {"Content-Type": "application/jwt"}


def _webhook(stack: Stack, holder: str = "eau") -> str:
    return f"{stack.broker_url}/v1/holders/{holder}/revocations"


def _notice(stack: Stack, **overrides: object) -> str:
    claims: dict[str, object] = {
        "holder": "eau",
        "audience": _webhook(stack),
        "subject": WATER_SUBJECT,
        "now": time.time(),
    }
    secret = str(overrides.pop("secret", WEBHOOK_SECRET))
    claims.update(overrides)
    return sign_notice(secret, **claims)  # type: ignore[arg-type]


async def _water_grant(stack: Stack, http: aiohttp.ClientSession) -> dict[str, object]:
    return await connect_to(stack, http, details_for("eau", ["daily_water"], "energy_coaching"))


async def _read(stack: Stack, http: aiohttp.ClientSession, token: dict[str, object]) -> int:
    async with http.get(
        f"{stack.broker_url}/v1/data/eau/daily_water",
        params={"start": days_ago(3), "end": days_ago(1)},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    ) as response:
        await response.read()
        return response.status


async def test_a_withdrawal_at_the_holder_ends_the_consent_through_the_webhook(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    token = await _water_grant(stack, http)
    assert await _read(stack, http, token) == 200
    async with http.post(
        f"{holders.urls['eau']}/_simulator/withdraw", data={"subject": WATER_SUBJECT}
    ) as response:
        assert (await response.json())["notified"] == 200
    assert await _read(stack, http, token) == 403
    revoked = [
        e for e in await ledger_of(stack, str(token["grant_id"])) if e.kind == "consent.revoked"
    ]
    assert revoked[0].actor == "holder:eau"
    assert revoked[0].details["state"] == "revoked_by_holder"
    assert revoked[0].details["reason"] == "withdrawn_at_holder"


async def test_a_replayed_notice_is_refused(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    await _water_grant(stack, http)
    notice = _notice(stack)
    async with http.post(_webhook(stack), data=notice, headers=JWT) as response:
        assert response.status == 200
        assert (await response.json())["revoked"] == 1
    async with http.post(_webhook(stack), data=notice, headers=JWT) as response:
        assert response.status == 409
        assert (await response.json(content_type=None))["reason"] == "replayed_notice"


async def test_notices_with_bad_signatures_or_claims_change_nothing(
    stack: Stack, holders: Holders, http: aiohttp.ClientSession
) -> None:
    token = await _water_grant(stack, http)
    now = time.time()
    forged = [
        _notice(stack, secret="another-secret-that-is-long-enough-0123456789"),
        _notice(stack, audience=_webhook(stack, "mobilite")),
        _notice(stack, holder="mobilite"),
        _notice(stack, now=now - 1000),
        _notice(stack, now=now, lifetime=3600),
        _notice(stack)[:-4] + "AAAA",
        "not.a.jws",
    ]
    for body in forged:
        async with http.post(_webhook(stack), data=body, headers=JWT) as response:
            assert response.status == 401, body
            assert (await response.json(content_type=None))["reason"] == "invalid_notice"
    async with http.post(_webhook(stack), data=_notice(stack), headers={}) as response:
        assert response.status == 415
    async with http.post(_webhook(stack), data="x" * 20_000, headers=JWT) as response:
        assert response.status == 413
    async with http.post(_webhook(stack, "nobody"), data=_notice(stack), headers=JWT) as r:
        assert r.status == 404
    assert await _read(stack, http, token) == 200
