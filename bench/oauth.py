"""Figure 2: authorization-code exchanges, refreshes and introspections per second.

Codes come from the browser flow in real life, where the resident's clicks dominate; to
time the token endpoint alone, the bench writes ready codes for one real grant straight
into the store (hashed, as the broker writes them) and exchanges them over HTTP. Refresh
chains run side by side, each rotated by one worker at a time as a client must.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench import lean
from bench.flow import Party, code_form, pkce_pair
from bench.lean import cpu_seconds, post_form
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
        # Fresh refresh chains, one per connection, from codes the exchange pass won't use.
        chains = []
        for code in codes[plan.exchanges :]:
            status, body = await _post(
                http, party, "/oauth/token", code_form(party, code, verifier)
            )
            if status == 200:
                chains.append(str(body["refresh_token"]))
    url = party.broker_url + "/oauth/token"
    unused = iter(codes[: plan.exchanges])
    cpu_before = cpu_seconds(stack.broker.pid)
    exchanges = await lean.closed_loop(
        url,
        lambda: _Exchange(party, unused, verifier),
        concurrency=plan.concurrency,
        requests=plan.exchanges,
        seconds=plan.seconds,
    )
    cpu_between = cpu_seconds(stack.broker.pid)
    refreshes = await lean.closed_loop(
        url,
        lambda: _Refresh(party, chains.pop()),
        concurrency=len(chains),
        requests=plan.refreshes,
        seconds=plan.seconds,
    )
    cpu = cpu_seconds(stack.broker.pid) - cpu_before
    introspections = await _introspections(stack, grant["access_token"], plan)
    responses = exchanges.count + refreshes.count
    return {
        "concurrency": plan.concurrency,
        "client": "bench.lean (keep-alive requests written as bytes)",
        "code_exchanges": exchanges.summary(),
        "refreshes": refreshes.summary(),
        "introspections": introspections,
        "token_responses_per_second": round(responses / (exchanges.elapsed + refreshes.elapsed), 1),
        "token_broker_cpu_us_per_response": round(cpu / responses * 1e6, 1) if responses else None,
        "exchange_broker_cpu_us": round((cpu_between - cpu_before) / exchanges.count * 1e6, 1)
        if exchanges.count
        else None,
    }


def _token_form(party: Party, form: dict[str, str]) -> bytes:
    url = party.broker_url + "/oauth/token"
    return post_form(url, urlencode(form).encode(), party.basic_auth())


def _issued(status: int, body: bytes) -> dict[str, Any] | None:
    """The token response, if this answer is one."""
    if status != 200:
        return None
    document = json.loads(body)
    return document if isinstance(document, dict) and "access_token" in document else None


class _Exchange:
    """Exchanges the next unused code of the shared supply."""

    def __init__(self, party: Party, codes: Iterator[str], verifier: str) -> None:
        self._party, self._codes, self._verifier = party, codes, verifier

    def next_request(self) -> bytes:
        return _token_form(self._party, code_form(self._party, next(self._codes), self._verifier))

    def answered(self, status: int, body: bytes) -> bool:
        return _issued(status, body) is not None


class _Refresh:
    """One rotating chain: each answer's refresh token is the next request's."""

    def __init__(self, party: Party, refresh_token: str) -> None:
        self._party, self._presented = party, refresh_token

    def next_request(self) -> bytes:
        form = {"grant_type": "refresh_token", "refresh_token": self._presented}
        return _token_form(self._party, form)

    def answered(self, status: int, body: bytes) -> bool:
        issued = _issued(status, body)
        if issued is None:
            return False
        self._presented = str(issued["refresh_token"])
        return True


async def _introspections(stack: Stack, access: str, plan: Plan) -> dict[str, Any]:
    """Introspections driven by the lean client (``bench.lean``), with the broker's CPU
    time over the loop: per second of wall time, and per second of the broker's CPU (its
    process, all threads), which is the target's "per core"."""
    party = stack.party
    url = party.broker_url + "/oauth/introspect"
    request = post_form(url, urlencode({"token": access}).encode(), party.basic_auth())

    def active(status: int, body: bytes) -> bool:
        return status == 200 and json.loads(body).get("active") is True

    def repeating() -> lean.Conversation:
        return lean.Repeating(request, active)

    await lean.closed_loop(url, repeating, concurrency=2, requests=200, seconds=2.0)
    cpu_before = cpu_seconds(stack.broker.pid)
    run = await lean.closed_loop(
        url,
        repeating,
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
