"""Helpers for the resident-control e2e tests: a stand-in service notification endpoint
on the coach's port (where the stack registers the coach's ``notification_endpoint``),
verification of what it received with the SDK, and looks into the broker's store."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from sqlalchemy import select

from broker.storage.tables import consents, jobs, tokens
from clients.sdk.notices import Notice, parse_notice
from tests.support.stack import REPO, Stack


@dataclass
class Receiver:
    """Records every notice POSTed; answers ``fail_first`` of them with a 503."""

    fail_first: int = 0
    bodies: list[str] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.content_types.append(request.content_type)
        self.bodies.append(await request.text())
        if len(self.bodies) <= self.fail_first:
            return web.Response(status=503)
        return web.Response(status=202)


@asynccontextmanager
async def receiver(stack: Stack, fail_first: int = 0) -> AsyncIterator[Receiver]:
    recorder = Receiver(fail_first=fail_first)
    app = web.Application()
    app.router.add_post("/notifications", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = urlsplit(stack.coach_redirect_uri).port
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield recorder
    finally:
        await runner.cleanup()


async def jwks(stack: Stack) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{stack.broker_url}/jwks.json") as r:
        body: dict[str, Any] = await r.json()
        return body


async def notices(stack: Stack, recorder: Receiver) -> list[Notice]:
    keys = await jwks(stack)
    return [
        parse_notice(b, keys, issuer=stack.broker_url, client_id=stack.coach_id)
        for b in recorder.bodies
    ]


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the condition did not hold in time")


async def notice_for(
    stack: Stack, recorder: Receiver, grant_id: str, event: str, within: float = 20.0
) -> Notice:
    found: list[Notice] = []

    async def arrived() -> bool:
        found[:] = [
            n for n in await notices(stack, recorder) if (n.grant_id, n.event) == (grant_id, event)
        ]
        return bool(found)

    await eventually(arrived, within)
    return found[0]


async def run_cli(stack: Stack, *args: str) -> tuple[int, str]:
    """``python -m broker.cli ARGS`` on the stack's database, without blocking the event
    loop: the in-process broker must keep serving (and release its SQLite locks) meanwhile."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}
    env["AIGUILLAGE_DATABASE_URL"] = stack.settings.database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "broker.cli",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return int(process.returncode or 0), out.decode(errors="replace")


async def consent_state(stack: Stack, grant_id: str) -> str | None:
    async with stack.engine.connect() as conn:
        state = await conn.scalar(select(consents.c.state).where(consents.c.id == grant_id))
    return None if state is None else str(state)


async def live_tokens(stack: Stack, grant_id: str) -> int:
    async with stack.engine.connect() as conn:
        rows = await conn.execute(
            select(tokens.c.token_hash).where(
                tokens.c.grant_id == grant_id, tokens.c.revoked_at.is_(None)
            )
        )
        return len(rows.all())


async def jobs_for(stack: Stack, grant_id: str) -> list[dict[str, Any]]:
    async with stack.engine.connect() as conn:
        rows = await conn.execute(select(jobs))
        return [r._asdict() for r in rows if r.payload.get("grant_id") == grant_id]
