"""Helpers shared by the data-plane and dashboard e2e tests: a live grant (the real
authorization over HTTP, ``tests/support/flow.py``), direct calls to the simulator, the
resident's login, and looks into what the broker stored.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import select, update

from broker.holder_cache import holder_cache, invalidate_holder
from broker.storage.tables import holders, ledger, open_transfers
from consent.ledger import LedgerEntry
from tests.support.flow import connect, field_value
from tests.support.stack import (
    HOLDER_CLIENT_ID,
    HOLDER_CLIENT_SECRET,
    Stack,
    transfers_recorded,
)


@dataclass(frozen=True)
class Grant:
    access_token: str
    grant_id: str
    refresh_token: str | None = None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def grant(stack: Stack, http: aiohttp.ClientSession, **kw: Any) -> Grant:
    """A live grant, obtained as a service would: the whole authorization over HTTP."""
    body = await connect(stack, http, **kw)
    return Grant(body["access_token"], body["grant_id"], body.get("refresh_token"))


def days_ago(n: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=n)).isoformat()


def data_url(stack: Stack, resource: str = "daily_consumption", holder: str = "enedis") -> str:
    return f"{stack.broker_url}/v1/data/{holder}/{resource}"


async def simulator_token(stack: Stack, http: aiohttp.ClientSession) -> str:
    pair = base64.b64encode(f"{HOLDER_CLIENT_ID}:{HOLDER_CLIENT_SECRET}".encode()).decode()
    async with http.post(
        f"{stack.simulator_url}/oauth2/v3/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {pair}"},
    ) as response:
        assert response.status == 200, await response.text()
        body = await response.json()
    return str(body["access_token"])


async def openings(stack: Stack) -> list[str]:
    """The grants of the transfers open right now (``broker.data.open_transfers``)."""
    async with stack.engine.connect() as conn:
        return list((await conn.execute(select(open_transfers.c.consent_id))).scalars())


async def kinds_now(stack: Stack, grant_id: str) -> list[str]:
    """The kinds of the grant's ledger entries as they stand, without waiting for the open
    transfers to be recorded (``ledger_of`` waits)."""
    async with stack.engine.connect() as conn:
        rows = await conn.execute(select(ledger.c.kind).where(ledger.c.consent_id == grant_id))
        return list(rows.scalars())


async def ledger_of(stack: Stack, grant_id: str) -> list[LedgerEntry]:
    await transfers_recorded(stack)
    async with stack.engine.connect() as conn:
        rows = await conn.execute(
            select(ledger).where(ledger.c.consent_id == grant_id).order_by(ledger.c.seq)
        )
        return [LedgerEntry.model_validate(r._asdict()) for r in rows]


async def change_contract(stack: Stack, holder_id: str = "enedis", **terms: Any) -> None:
    """The operator amends the holder's contract terms, straight in the database."""
    async with stack.engine.begin() as conn:
        manifest = (
            await conn.execute(select(holders.c.manifest).where(holders.c.id == holder_id))
        ).scalar_one()
        manifest = {**manifest, "contract": {**manifest["contract"], **terms}}
        await conn.execute(
            update(holders).where(holders.c.id == holder_id).values(manifest=manifest)
        )
        await invalidate_holder(conn, holder_id)  # NOTIFY: broker processes on PostgreSQL
    forget_holder(stack, holder_id)


def forget_holder(stack: Stack, holder_id: str) -> None:
    """A change made on the test's own engine: drop the in-process broker's cached copy
    (broker processes learn it through PostgreSQL NOTIFY, see ``invalidate_holder``)."""
    if stack.broker_app is not None:
        holder_cache(stack.broker_app).invalidate(holder_id)


def today() -> date:
    return datetime.now(UTC).date()


async def log_in(
    stack: Stack, http: aiohttp.ClientSession, login: str | None = None, password: str | None = None
) -> None:
    async with http.get(f"{stack.broker_url}/login", allow_redirects=False) as response:
        if response.status == 303:
            return  # already logged in (the authorization flow logs the resident in)
        page = await response.text()
    form = {
        "csrf_token": field_value(page, "csrf_token"),
        "next": "/",
        "login": login or stack.resident_login,
        "password": password or stack.resident_password,
    }
    async with http.post(f"{stack.broker_url}/login", data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()


async def revoke_on_dashboard(stack: Stack, http: aiohttp.ClientSession, grant_id: str) -> None:
    """The resident logs in and revokes the consent from its dashboard page (one click)."""
    await log_in(stack, http)
    detail = f"{stack.broker_url}/consents/{grant_id}"
    async with http.get(detail) as page:
        csrf = field_value(await page.text(), "csrf_token")
    async with http.post(
        f"{detail}/revoke", data={"csrf_token": csrf}, allow_redirects=False
    ) as revoked:
        assert revoked.status == 303, await revoked.text()


async def fetch_data(stack: Stack, http: aiohttp.ClientSession, live: Grant) -> int:
    async with http.get(
        data_url(stack), params={"start": days_ago(3), "end": days_ago(1)}, headers=live.auth
    ) as response:
        await response.read()
    await transfers_recorded(stack)
    return response.status
