"""A client id that collides with a resident's subject (RFC 9700 §4.15): the resident id
namespace is reserved, so no service can be registered under it, whoever registers it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select

from broker.operator import register_service
from broker.storage.tables import residents, services
from tests.e2e.attacks.support import service_payload
from tests.support.stack import REPO, Stack


async def _resident_id(stack: Stack) -> str:
    async with stack.engine.connect() as conn:
        return str((await conn.execute(select(residents.c.id))).scalars().first())


async def test_a_service_named_after_a_resident_is_refused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    subject = await _resident_id(stack)
    for client_id in (subject, subject.upper(), "res_" + "0" * 16):
        with pytest.raises(ValidationError, match="may not start with 'res_'"):
            await register_service(
                stack.engine, service_payload(client_id, "https://x.example/cb", "s" * 32)
            )
    async with stack.engine.connect() as conn:
        ids = (await conn.execute(select(services.c.client_id))).scalars().all()
    assert [i for i in ids if i.lower().startswith("res_")] == []


async def test_the_cli_refuses_it_too(stack: Stack, tmp_path: Path) -> None:
    subject = await _resident_id(stack)
    path = tmp_path / "service.json"
    path.write_text(json.dumps(service_payload(subject, "https://x.example/cb", "s" * 32)))
    env = {**os.environ, "AIGUILLAGE_DATABASE_URL": stack.settings.database_url}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "broker.cli", "services", "add", str(path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "may not start with 'res_'" in done.stderr


async def test_the_admin_api_refuses_it_as_invalid(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    stack.settings.operator_token = SecretStr("operator-token-for-this-test-0123456789")
    subject = await _resident_id(stack)
    async with http.post(
        f"{stack.broker_url}/v1/services",
        json=service_payload(subject, "https://x.example/cb", "s" * 32),
        headers={"Authorization": "Bearer operator-token-for-this-test-0123456789"},
    ) as response:
        body = await response.json(content_type=None)
    assert (response.status, response.content_type) == (422, "application/problem+json")
    assert "may not start with 'res_'" in json.dumps(body)
