"""The broker as operators run it: ``python -m broker.cli serve`` in its own process,
configured only through ``AIGUILLAGE_*``, so that it can be killed and restarted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import aiohttp

from broker.settings import Settings
from tests.support.stack import REPO


@contextmanager
def broker_process(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "AIGUILLAGE_ISSUER": settings.issuer,
        "AIGUILLAGE_PORT": str(settings.port),
        "AIGUILLAGE_DATABASE_URL": settings.database_url,
        "AIGUILLAGE_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
        "AIGUILLAGE_SIGNING_KEY_PATH": str(settings.signing_key_path),
        "AIGUILLAGE_COOKIE_SECURE": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "serve"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def wait_ready(base_url: str) -> None:
    """Until the process answers (a start takes a second or two; 30 s is a broken start)."""
    async with aiohttp.ClientSession() as client:
        for _ in range(300):
            with suppress(aiohttp.ClientError):
                async with client.get(f"{base_url}/jwks.json") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("the broker process did not start")
