"""Figure 2: authorization-code exchanges, refreshes and introspections per second.

Codes come from the browser flow in real life, where the resident's clicks dominate; to
time the token endpoint alone, the bench writes ready codes for one real grant straight
into the store (hashed, as the broker writes them) and exchanges them over HTTP. Refresh
chains run side by side, each rotated by one worker at a time as a client must.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench import lean
from bench.flow import Party, code_form, pkce_pair
from bench.lean import cpu_seconds, post_form
from bench.load import closed_loop
from bench.stack import Stack, cookie_session
from broker.crypto import hash_token
from broker.storage.engine import make_engine
from broker.storage.oauth_codes import CodeRecord, SqlAuthCodes


@dataclass(frozen=True)
class Plan:
    concurrency: int
    exchanges: int
    refreshes: int
    introspections: int
    seconds: float


QUICK = Plan(concurrency=8, exchanges=300, refreshes=300, introspections=1500, seconds=4.0)
FULL = Plan(concurrency=16, exchanges=3000, refreshes=3000, introspections=20000, seconds=10.0)


async def _seed_codes(stack: Stack, grant_id: str, count: int) -> tuple[list[str], str]:
    verifier, challenge = pkce_pair()
    codes = [secrets.token_urlsafe(32) for _ in range(count)]
    expires = datetime.now(UTC) + timedelta(hours=1)
    engine = make_engine(stack.database_url)
    try:
        async with engine.begin() as conn:
            store = SqlAuthCodes(conn)
            for code in codes:
                await store.add(
                    CodeRecord(
                        code_hash=hash_token(code),
                        client_id=stack.party.client_id,
                        consent_id=grant_id,
                        redirect_uri=stack.party.redirect_uri,
                        code_challenge=challenge,
                        expires_at=expires,
                        used_at=None,
                    )
                )
    finally:
        await engine.dispose()
    return codes, verifier


async def _post(
    http: aiohttp.ClientSession, party: Party, path: str, form: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    async with http.post(party.broker_url + path, data=form, headers=party.basic_auth()) as r:
        return r.status, await r.json(content_type=None)


async def measure(stack: Stack, plan: Plan) -> dict[str, Any]:
    party = stack.party
    async with cookie_session(limit=plan.concurrency * 2) as http:
        grant = await stack.grant(http)
        codes, verifier = await _seed_codes(
            stack, grant["grant_id"], plan.exchanges + plan.concurrency
        )

        async def exchange(index: int) -> bool:
            form = code_form(party, codes[index], verifier)
            status, _ = await _post(http, party, "/oauth/token", form)
            return status == 200

        exchanges = await closed_loop(
            exchange, concurrency=plan.concurrency, requests=plan.exchanges, seconds=plan.seconds
        )
        # Fresh chains from the codes the exchange pass left over.
        chains: asyncio.Queue[str] = asyncio.Queue()
        for code in codes[plan.exchanges :]:
            status, body = await _post(
                http, party, "/oauth/token", code_form(party, code, verifier)
            )
            if status == 200:
                chains.put_nowait(body["refresh_token"])

        async def refresh(_index: int) -> bool:
            presented = await chains.get()
            form = {"grant_type": "refresh_token", "refresh_token": presented}
            status, body = await _post(http, party, "/oauth/token", form)
            chains.put_nowait(body["refresh_token"] if status == 200 else presented)
            return status == 200

        refreshes = await closed_loop(
            refresh, concurrency=chains.qsize(), requests=plan.refreshes, seconds=plan.seconds
        )
        introspections = await _introspections(stack, grant["access_token"], plan)
    return {
        "concurrency": plan.concurrency,
        "code_exchanges": exchanges.summary(),
        "refreshes": refreshes.summary(),
        "introspections": introspections,
        "token_responses_per_second": round(
            (exchanges.count + refreshes.count) / (exchanges.elapsed + refreshes.elapsed), 1
        ),
    }


async def _introspections(stack: Stack, access: str, plan: Plan) -> dict[str, Any]:
    """Introspections driven by the lean client (``bench.lean``), with the broker's CPU
    time over the loop: per second of wall time, and per second of the broker's CPU (its
    process, all threads), which is the target's "per core"."""
    party = stack.party
    url = party.broker_url + "/oauth/introspect"
    request = post_form(url, urlencode({"token": access}).encode(), party.basic_auth())

    def active(status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body).get("active") is True

    await lean.closed_loop(url, request, active, concurrency=2, requests=200, seconds=2.0)
    cpu_before = cpu_seconds(stack.broker.pid)
    run = await lean.closed_loop(
        url,
        request,
        active,
        concurrency=plan.concurrency,
        requests=plan.introspections,
        seconds=plan.seconds,
    )
    cpu = cpu_seconds(stack.broker.pid) - cpu_before
    return {
        **run.summary(),
        "client": "bench.lean (prepared keep-alive requests)",
        "broker_cpu_seconds": round(cpu, 3),
        "broker_cpu_us_per_request": round(cpu / run.count * 1e6, 1) if run.count else None,
        "per_broker_cpu_second": round(run.count / cpu, 1) if cpu > 0 else None,
    }
