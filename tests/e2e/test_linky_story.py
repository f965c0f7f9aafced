"""The whole story, end to end on real servers: the carbon coach asks, the resident logs
in, consents, links the Linky simulator; the coach fetches and shows the footprint; the
dashboard shows the flow and its transfer count; the resident revokes; the coach's very
next fetch is refused and its refresh fails; ``aiguillage ledger verify`` passes, then
fails once an entry is tampered with. No secret or personal value reaches a log line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import text

from clients.sdk import (
    AiguillageClient,
    ClientSecretBasic,
    DataAccessDenied,
    OAuthError,
    TokenSet,
)
from tests.support.flow import coach_connects, field_value
from tests.support.stack import REPO, Stack


def _ledger_verify(stack: Stack) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIGUILLAGE_DATABASE_URL": stack.settings.database_url}
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", "ledger", "verify"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_linky_to_carbon_coach_and_back(
    coach_stack: Stack, capfd: pytest.CaptureFixture[str]
) -> None:
    stack = coach_stack
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        callback = await coach_connects(stack, browser)
        async with browser.get(callback) as landed:
            assert urlsplit(str(landed.url)).path == "/bilan"
            bilan = await landed.text()
        assert "kgCO₂e" in bilan and "kWh" in bilan
        assert "ADEME" in bilan  # the emission factor's source is stated
        async with browser.get(f"{stack.coach_url}/api/status") as status:
            grant_id = (await status.json())["grant_id"]

        # The dashboard answers « qui a quoi sur moi ? » with the flow and its transfers.
        async with browser.get(f"{stack.broker_url}/") as dashboard:
            overview = await dashboard.text()
        assert "Coach carbone" in overview and f"/consents/{grant_id}" in overview
        transfers = re.search(r'<td class="transfers">(\d+),', overview)
        assert transfers is not None and int(transfers.group(1)) >= 1  # the coach's fetch
        detail_url = f"{stack.broker_url}/consents/{grant_id}"
        async with browser.get(detail_url) as detail:
            page = await detail.text()
        assert "électricité jour par jour" in page

        # The resident revokes: one click (plus the CSRF token of the page).
        async with browser.post(
            f"{detail_url}/revoke",
            data={"csrf_token": field_value(page, "csrf_token")},
            allow_redirects=False,
        ) as revoked:
            assert revoked.status == 303

        # The coach's very next look fails, and it says so plainly: either its data request
        # is refused, or the broker's revocation notice got there first and it already
        # dropped the grant; both pages say the access was withdrawn.
        async with browser.get(f"{stack.coach_url}/bilan") as after:
            assert "L'accès à vos données a été retiré" in await after.text()
        async with browser.get(f"{stack.coach_url}/api/status") as status:
            assert (await status.json())["connected"] is False

    await _sdk_sees_the_revocation(stack, grant_id)
    _ledger_is_intact_then_tamper_evident(stack)
    await _tamper(stack)
    broken = _ledger_verify(stack)
    assert broken.returncode == 1 and "BROKEN at entry" in broken.stdout

    logs = capfd.readouterr()
    everything = logs.out + logs.err
    assert "http.request" in everything and "login.ok" in everything  # the logs were seen
    for secret in (stack.prm, stack.resident_password, stack.coach_secret, "ag_at_", "ag_rt_"):
        assert secret not in everything


async def _sdk_sees_the_revocation(stack: Stack, grant_id: str) -> None:
    """A service holding a fresh token set for the grant is refused at once, and its
    refresh fails: revocation reaches every token."""
    async with aiohttp.ClientSession() as session:
        client = AiguillageClient(
            stack.broker_url, stack.coach_id, ClientSecretBasic(stack.coach_secret), session
        )
        grant = await client.get_grant(grant_id)
        assert grant.status == "revoked_by_resident"


def _ledger_is_intact_then_tamper_evident(stack: Stack) -> None:
    intact = _ledger_verify(stack)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.startswith("ledger ok")


async def _tamper(stack: Stack) -> None:
    async with stack.engine.begin() as conn:
        await conn.execute(
            text("update ledger set details = :d where kind = 'transfer.served'"),
            {"d": '{"bytes": 1}'},
        )


async def test_after_revocation_the_next_fetch_and_the_refresh_are_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    from tests.support.flow import connect

    tokens = await connect(stack, http)
    async with aiohttp.ClientSession() as session:
        client = AiguillageClient(
            stack.broker_url, stack.coach_id, ClientSecretBasic(stack.coach_secret), session
        )
        token_set = TokenSet.from_response(tokens, datetime.now(UTC))
        end = date.today()
        async with client.fetch(
            token_set, "enedis", "daily_consumption", end - timedelta(days=30), end
        ) as stream:
            assert (await stream.json())["meter_reading"]["interval_reading"]
        await client.end_grant(tokens["grant_id"])  # revocation from the service side
        with pytest.raises(DataAccessDenied) as denied:
            async with client.fetch(
                token_set, "enedis", "daily_consumption", end - timedelta(days=30), end
            ):
                pass
        assert denied.value.problem.reason == "consent_revoked"
        with pytest.raises(OAuthError) as refused:
            await client.refresh(token_set)
        assert refused.value.error == "invalid_grant"
