"""The example service learns of a revocation by the signed notice alone: the carbon coach
drops the grant's tokens and shows « accès retiré » before it ever fetches again."""

from __future__ import annotations

import aiohttp

from tests.e2e.resident.support import eventually
from tests.support.flow import coach_connects, field_value
from tests.support.stack import Stack


async def test_the_coach_drops_its_tokens_on_the_notice_before_its_next_fetch(
    coach_stack: Stack,
) -> None:
    stack = coach_stack
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        callback = await coach_connects(stack, browser)
        async with browser.get(callback) as landed:
            assert landed.status == 200
        async with browser.get(f"{stack.coach_url}/api/status") as status:
            grant_id = (await status.json())["grant_id"]
        detail_url = f"{stack.broker_url}/consents/{grant_id}"
        async with browser.get(detail_url) as detail:
            csrf = field_value(await detail.text(), "csrf_token")
        async with browser.post(f"{detail_url}/revoke", data={"csrf_token": csrf}) as done:
            assert done.status == 200

        async def coach_knows() -> bool:
            async with browser.get(f"{stack.coach_url}/api/status") as status:
                body = await status.json()
            return body["connected"] is False and body["last_error_reason"] == "consent_revoked"

        await eventually(coach_knows)  # no /bilan in between: the notice did it
        async with browser.get(stack.coach_url) as home:
            assert "retiré" in await home.text()


async def test_the_coach_refuses_a_forged_notice_and_keeps_the_grant(
    coach_stack: Stack, http: aiohttp.ClientSession
) -> None:
    stack = coach_stack
    forged = "eyJhbGciOiJFUzI1NiIsInR5cCI6InNlY2V2ZW50K2p3dCJ9.e30.AAAA"
    async with http.post(
        f"{stack.coach_url}/notifications",
        data=forged,
        headers={"Content-Type": "application/secevent+jwt"},
    ) as answer:
        assert answer.status == 400
        assert (await answer.json())["err"] == "invalid_key"
    async with http.post(f"{stack.coach_url}/notifications", data="x") as wrong_type:
        assert wrong_type.status == 415
