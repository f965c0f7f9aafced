"""Key compromise and rotation: ``aiguillage keys rotate`` re-seals every holder credential
under a new encryption key (the old one can then be dropped), and ``keys rotate-signing``
publishes the new signing key next to the previous one, so what was signed before still
verifies from ``/jwks.json`` until the operator retires it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys

import aiohttp
from joserfc import jws
from joserfc.jwk import KeySet
from pydantic import SecretStr
from sqlalchemy import select

from broker.crypto import SecretBox, Signer
from broker.storage.tables import consents, holders
from tests.e2e.data.support import fetch_data, grant
from tests.e2e.faults.process import broker_process, wait_ready
from tests.support.stack import REPO, Stack, free_port, restart_broker


async def _cli(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process, off the event loop that serves the broker."""
    return await asyncio.to_thread(_run_cli, stack, *args, **env)


def _run_cli(stack: Stack, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    settings = stack.settings
    base = {
        **os.environ,
        "AIGUILLAGE_DATABASE_URL": settings.database_url,
        "AIGUILLAGE_SIGNING_KEY_PATH": str(settings.signing_key_path),
        "AIGUILLAGE_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
    }
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", *args],
        cwd=REPO, env=base | env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def _sealed(stack: Stack) -> list[str]:
    async with stack.engine.connect() as conn:
        found = list((await conn.execute(select(holders.c.client_secret_enc))).scalars())
        found += [
            v
            for v in (await conn.execute(select(consents.c.holder_credential_enc))).scalars()
            if v is not None
        ]
    return found


async def test_rotating_the_encryption_key_reseals_everything(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    old = stack.settings.encryption_key.get_secret_value()
    new = base64.urlsafe_b64encode(os.urandom(32)).decode()
    before = await _sealed(stack)
    done = await _cli(
        stack,
        "keys",
        "rotate",
        AIGUILLAGE_ENCRYPTION_KEY=new,
        AIGUILLAGE_OLD_ENCRYPTION_KEYS=json.dumps([old]),
    )
    assert done.returncode == 0, done.stderr
    assert "holders.client_secret_enc: 1 re-sealed" in done.stdout
    assert "consents.holder_credential_enc: 1 re-sealed" in done.stdout
    assert old not in done.stdout + done.stderr and new not in done.stdout + done.stderr
    after = await _sealed(stack)
    new_only = SecretBox(SecretBox.decode_key(new))
    assert len(after) == len(before) == 2
    assert not any(new_only.needs_rotation(value) for value in after)
    # The broker restarted on the new key alone serves the grant: the old one can be
    # destroyed.
    await restart_broker(stack, encryption_key=SecretStr(new), old_encryption_keys=[])
    assert await fetch_data(stack, http, live) == 200
    # Running it again finds nothing left to do (a crash midway is finished this way).
    again = await _cli(stack, "keys", "rotate", AIGUILLAGE_ENCRYPTION_KEY=new)
    assert "holders.client_secret_enc: 0 re-sealed" in again.stdout


async def _jwks_of_a_fresh_broker(stack: Stack) -> dict[str, object]:
    """A broker process started after the rotation (each instance reads the ring at start)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = stack.settings.model_copy(update={"port": port, "issuer": url})
    with broker_process(settings):
        await wait_ready(url)
        async with aiohttp.ClientSession() as client, client.get(f"{url}/jwks.json") as response:
            return dict(await response.json())


async def test_signing_keys_rotate_with_an_overlap(stack: Stack) -> None:
    before = Signer.load_or_create(stack.settings.signing_key_path)
    receipt = before.sign({"consent": "grant_x", "seq": 1}, "receipt+jws")
    done = await _cli(stack, "keys", "rotate-signing")
    assert done.returncode == 0, done.stderr
    jwks = await _jwks_of_a_fresh_broker(stack)
    kids = [key["kid"] for key in jwks["keys"]]  # type: ignore[attr-defined]
    assert len(kids) == 2 and before.kid in kids
    # What the old key signed still verifies against the published set.
    verified = jws.deserialize_compact(receipt, KeySet.import_key_set(jwks))  # type: ignore[arg-type]
    assert json.loads(verified.payload) == {"consent": "grant_x", "seq": 1}
    after = Signer.load_or_create(stack.settings.signing_key_path)
    assert after.kid != before.kid and after.verify(receipt)["seq"] == 1
    assert (
        await _cli(stack, "keys", "retire-signing", "--", after.kid)
    ).returncode == 1  # not the current
    assert (await _cli(stack, "keys", "retire-signing", "--", before.kid)).returncode == 0
    jwks = await _jwks_of_a_fresh_broker(stack)
    assert [key["kid"] for key in jwks["keys"]] == [after.kid]  # type: ignore[attr-defined]
