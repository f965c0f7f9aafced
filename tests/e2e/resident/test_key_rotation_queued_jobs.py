"""Key rotation reaches the jobs still queued: a consent ended while its holder is down
leaves a ``holder.revoke`` job carrying the sealed holder credential; ``aiguillage keys
rotate`` re-seals it with the rest, so once the old key is retired and the holder is back,
the job ends the access right at the holder instead of failing until it gives up."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import update

from broker.crypto import SecretBox
from broker.storage.tables import jobs
from providers.grdf.simulator.app import ACTIVE, GRDF_STATE, REVOKED
from tests.e2e.resident.support import eventually, jobs_for
from tests.support.flow import coach_auth
from tests.support.holders import connect_to, details_for, running_holders
from tests.support.stack import REPO, Stack, restart_broker


async def _rotate(stack: Stack, new: str, old: str) -> tuple[int, str]:
    """``aiguillage keys rotate`` in its own process (the broker keeps serving)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    env |= {
        "AIGUILLAGE_DATABASE_URL": stack.settings.database_url,
        "AIGUILLAGE_SIGNING_KEY_PATH": str(stack.settings.signing_key_path),
        "AIGUILLAGE_ENCRYPTION_KEY": new,
        "AIGUILLAGE_OLD_ENCRYPTION_KEYS": json.dumps([old]),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "broker.cli", "keys", "rotate",
        cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode(errors="replace")


async def test_a_queued_holder_revocation_survives_a_key_rotation(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert stack.broker_app is not None
    async with running_holders(stack) as holders:
        token = await connect_to(
            stack, http, details_for("grdf", ["daily_consumption"], "energy_coaching")
        )
        grant_id = str(token["grant_id"])
        rights = holders.apps["grdf"][GRDF_STATE].rights
        assert [r.state for r in rights.values()] == [ACTIVE]

        # GRDF goes down (no listening socket, no open connection); the service ends the
        # consent.
        [runner] = [r for r in holders.runners if r.app is holders.apps["grdf"]]
        [site] = list(runner.sites)
        port = int(holders.urls["grdf"].rsplit(":", 1)[1])
        await site.stop()
        assert runner.server is not None
        # And drop the connections kept alive (a timeout of 0 means no timeout at all: it
        # would wait until the broker's client closes them, 15 s later).
        await runner.server.shutdown(0.1)
        async with http.delete(
            f"{stack.broker_url}/oauth/grants/{grant_id}", headers=coach_auth(stack)
        ) as response:
            assert response.status == 204, await response.text()

        async def tried_and_pending() -> bool:
            [job] = [j for j in await jobs_for(stack, grant_id) if j["kind"] == "holder.revoke"]
            return job["attempts"] >= 1 and job["last_error"] is not None and not job["done_at"]

        await eventually(tried_and_pending)

        # Rotate: the job's sealed credential is re-sealed with the holders and consents.
        old = stack.settings.encryption_key.get_secret_value()
        new = base64.urlsafe_b64encode(os.urandom(32)).decode()
        code, output = await _rotate(stack, new, old)
        assert code == 0, output
        assert "jobs.payload: 1 re-sealed" in output
        assert old not in output and new not in output
        new_only = SecretBox(SecretBox.decode_key(new))
        [job] = [j for j in await jobs_for(stack, grant_id) if j["kind"] == "holder.revoke"]
        assert job["done_at"] is None and not new_only.needs_rotation(job["payload"]["credential"])

        # The broker restarts on the new key alone (the old one retired); GRDF comes
        # back; the retry is due now (no waiting out the backoff).
        await restart_broker(stack, encryption_key=SecretStr(new), old_encryption_keys=[])
        await web.TCPSite(runner, "127.0.0.1", port).start()
        async with stack.engine.begin() as conn:
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == job["id"])
                .values(run_after=datetime.now(UTC), claimed_until=None)
            )

        async def ended_at_grdf() -> bool:
            [job] = [j for j in await jobs_for(stack, grant_id) if j["kind"] == "holder.revoke"]
            states = [(r.state, r.revoked_by) for r in rights.values()]
            return states == [(REVOKED, "TIERS")] and job["done_at"] is not None

        await eventually(ended_at_grdf)
        [job] = [j for j in await jobs_for(stack, grant_id) if j["kind"] == "holder.revoke"]
        assert job["failed_at"] is None and "credential" not in job["payload"]
