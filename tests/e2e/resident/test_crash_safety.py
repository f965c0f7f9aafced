"""A broker killed in the middle of revocations leaves, after restart, each consent either
as it was or fully revoked: tokens, consent state, ledger entry and queued notice always
agree (so does where the sealed holder credential is: on the consent, or moved to the
holder revocation job), and the ledger chain verifies.

The broker under test is a real process (``python -m broker.cli serve``) on the stack's
database; it is SIGKILLed while a burst of revocations is in flight, then started again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from sqlalchemy import select

from broker.storage.tables import consents
from tests.e2e.data.support import grant, ledger_of
from tests.e2e.resident.support import consent_state, jobs_for, live_tokens, run_cli
from tests.support.flow import coach_auth
from tests.support.stack import REPO, Stack, free_port

GRANTS = 8


def _spawn(stack: Stack, port: int, log: Path) -> subprocess.Popen[bytes]:
    settings = stack.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    env |= {
        "AIGUILLAGE_ISSUER": settings.issuer,
        "AIGUILLAGE_DATABASE_URL": settings.database_url,
        "AIGUILLAGE_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
        "AIGUILLAGE_SIGNING_KEY_PATH": str(settings.signing_key_path),
        "AIGUILLAGE_COOKIE_SECURE": "false",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "broker.cli", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def _ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the broker process exited"
            try:
                async with http.get(f"{url}/.well-known/oauth-authorization-server") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
    raise AssertionError("the broker process did not come up")


async def _end(url: str, auth: dict[str, str], grant_id: str) -> int | None:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.delete(f"{url}/oauth/grants/{grant_id}", headers=auth) as response,
        ):
            return response.status
    except (TimeoutError, aiohttp.ClientError):
        return None  # the process died under this request


async def _agrees(stack: Stack, grant_id: str) -> bool:
    """True if revoked, False if untouched; fails on any mix of the two."""
    state = await consent_state(stack, grant_id)
    tokens_alive = await live_tokens(stack, grant_id)
    revoked_entries = [e for e in await ledger_of(stack, grant_id) if e.kind == "consent.revoked"]
    queued = await jobs_for(stack, grant_id)
    notices = [j for j in queued if j["kind"] == "service.notify"]
    at_holder = [j for j in queued if j["kind"] == "holder.revoke"]
    async with stack.engine.connect() as conn:
        sealed = await conn.scalar(
            select(consents.c.holder_credential_enc).where(consents.c.id == grant_id)
        )
    if state == "active":
        assert tokens_alive > 0 and not revoked_entries and not notices, grant_id
        assert sealed is not None and not at_holder, grant_id
        return False
    assert state == "terminated_by_service", (grant_id, state)
    assert tokens_alive == 0 and len(revoked_entries) == 1 and len(notices) == 1, grant_id
    # The sealed credential moved from the consent to the holder revocation, whole.
    assert sealed is None and len(at_holder) == 1, grant_id
    return True


async def test_a_broker_killed_mid_revocation_leaves_old_or_new_state_never_a_mix(
    stack: Stack, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    grants = [await grant(stack, http) for _ in range(GRANTS)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "broker.log"
    process = _spawn(stack, port, log)
    try:
        await _ready(url, process)
        burst = [asyncio.create_task(_end(url, coach_auth(stack), g.grant_id)) for g in grants]
        await asyncio.wait(burst, return_when=asyncio.FIRST_COMPLETED)
        process.send_signal(signal.SIGKILL)  # mid-burst: the others are in flight
        process.wait(timeout=30)
        await asyncio.gather(*burst)

        process = _spawn(stack, port, log)  # the restart
        await _ready(url, process)
        outcomes = [await _agrees(stack, g.grant_id) for g in grants]
        assert any(outcomes)  # at least the first answered revocation is there

        # After the restart the broker finishes the job for whatever was left.
        for g, revoked in zip(grants, outcomes, strict=True):
            if not revoked:
                assert await _end(url, coach_auth(stack), g.grant_id) == 204
        assert all([await _agrees(stack, g.grant_id) for g in grants])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    code, output = await run_cli(stack, "ledger", "verify")
    assert code == 0, output
