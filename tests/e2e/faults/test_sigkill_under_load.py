"""The broker is killed (SIGKILL) under load — authorizations, transfers and revocations in
flight — and restarted on the same database: the ledger chain verifies, every consent
exists once with exactly one ``consent.requested`` entry, and each consent's state is the
one its last ledger entry says. Then a new authorization goes through."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import aiohttp
from sqlalchemy import select

from broker.storage.tables import consents, ledger
from tests.e2e.data.support import Grant, fetch_data
from tests.e2e.faults.process import broker_process, wait_ready
from tests.support.flow import coach_auth, connect
from tests.support.stack import REPO, Stack

WORKERS = 6
DONE_BEFORE_KILL = 4  # full grant → transfer → revoke cycles completed before the kill
# The state each ledger entry leaves the consent in; revocations name theirs.
_STATE_AFTER = {
    "consent.requested": "requested",
    "consent.granted": "awaiting_holder",
    "holder.linked": "active",
    "consent.narrowed": "active",
    "consent.refused": "refused",
    "holder.link_failed": "failed",
    "consent.expired": "expired",
}


async def _cycle(stack: Stack, done: list[int]) -> None:
    """One service's life, again and again: authorize, fetch, end the grant."""
    while True:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            body = await connect(stack, http)
            await fetch_data(stack, http, Grant(body["access_token"], body["grant_id"]))
            async with http.post(
                f"{stack.broker_url}/oauth/revoke",
                data={"token": body["refresh_token"]},
                headers=coach_auth(stack),
            ) as response:
                await response.read()
        done.append(1)


async def _load_then_kill(stack: Stack, process: subprocess.Popen[bytes]) -> None:
    done: list[int] = []
    workers = [asyncio.create_task(_cycle(stack, done)) for _ in range(WORKERS)]
    try:
        while len(done) < DONE_BEFORE_KILL:
            assert not any(w.done() for w in workers), [w.exception() for w in workers]
            await asyncio.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # mid-flight: other cycles are half-way
        process.wait(timeout=30)
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _check_consistency(stack: Stack) -> int:
    async with stack.engine.connect() as conn:
        states = dict((await conn.execute(select(consents.c.id, consents.c.state))).all())
        entries = (
            await conn.execute(
                select(ledger.c.consent_id, ledger.c.kind, ledger.c.details).order_by(ledger.c.seq)
            )
        ).all()
    requested = [e.consent_id for e in entries if e.kind == "consent.requested"]
    assert sorted(requested) == sorted(states), "a consent without its request, or twice"
    last: dict[str, str] = {}
    for entry in entries:
        if entry.kind == "consent.revoked":
            last[entry.consent_id] = str(entry.details["state"])
        elif entry.kind in _STATE_AFTER:
            last[entry.consent_id] = _STATE_AFTER[entry.kind]
    assert last == states
    return len(states)


async def test_a_broker_killed_under_load_loses_and_duplicates_nothing(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    in_process = stack.runners.pop()  # the broker; the simulator stays up
    await in_process.cleanup()
    with broker_process(stack.settings) as process:
        await wait_ready(stack.broker_url)
        await _load_then_kill(stack, process)
    with broker_process(stack.settings):
        await wait_ready(stack.broker_url)
        verify = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "broker.cli", "ledger", "verify"],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
            env={**os.environ, "AIGUILLAGE_DATABASE_URL": stack.settings.database_url},
        )  # fmt: skip
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert await _check_consistency(stack) >= DONE_BEFORE_KILL
        body = await connect(stack, http)  # and the restarted broker serves
        assert body["token_type"] == "Bearer"
