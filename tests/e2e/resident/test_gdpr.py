"""GDPR rights from the dashboard: the export (articles 15 and 20) as JSON and CSV, and the
erasure (article 17): every consent revoked first through the one path, the account gone,
the ledger still verifying but no longer linkable to the person."""

from __future__ import annotations

import csv
import io

import aiohttp
from sqlalchemy import func, select

from broker.storage.tables import (
    consents,
    jobs,
    ledger,
    resident_keys,
    residents,
    web_sessions,
)
from tests.e2e.data.support import fetch_data, grant, log_in
from tests.e2e.resident.support import eventually, jobs_for, notice_for, receiver, run_cli
from tests.support.flow import field_value
from tests.support.stack import Stack


async def _count(stack: Stack, table: object, *where: object) -> int:
    async with stack.engine.connect() as conn:
        query = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(await conn.scalar(query.where(*where)) or 0)  # type: ignore[arg-type]


async def test_the_export_holds_everything_as_json_and_the_transfers_as_csv(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    await log_in(stack, http)
    async with http.get(f"{stack.broker_url}/account") as page:
        text = await page.text()
    assert "Télécharger mes données" in text and "Supprimer mon compte" in text
    async with http.get(f"{stack.broker_url}/account/export.json") as response:
        assert response.headers["Content-Disposition"].startswith("attachment;")
        document = await response.json()
    assert document["resident"]["login"] == stack.resident_login
    [consent] = document["consents"]
    assert consent["id"] == live.grant_id and consent["state"] == "active"
    kinds = [e["kind"] for e in document["ledger"]]
    assert {"consent.requested", "consent.granted", "transfer.served"} <= set(kinds)
    assert stack.prm not in str(document)  # the meter number stays sealed
    async with http.get(f"{stack.broker_url}/account/transfers.csv") as response:
        assert response.content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [(r["grant_id"], r["resource"], r["outcome"]) for r in rows] == [
        (live.grant_id, "daily_consumption", "ok")
    ]


async def test_erasure_revokes_everything_then_forgets_the_resident(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        await log_in(stack, http)
        async with http.get(f"{stack.broker_url}/account") as page:
            csrf = field_value(await page.text(), "csrf_token")
        async with stack.engine.connect() as conn:
            resident_id = str(await conn.scalar(select(residents.c.id)))
        async with http.post(f"{stack.broker_url}/account/delete", data={"csrf_token": csrf}) as no:
            assert no.status == 400 and "Cochez la case" in await no.text()
        assert await fetch_data(stack, http, live) == 200  # nothing happened
        async with http.post(
            f"{stack.broker_url}/account/delete",
            data={"csrf_token": csrf, "confirm": "delete-everything"},
        ) as done:
            assert done.status == 200 and "Compte supprimé" in await done.text()

        # The grant and its tokens are gone altogether: the token is simply unknown now.
        assert await fetch_data(stack, http, live) == 401
        notice = await notice_for(stack, inbox, live.grant_id, "consent-revoked")
        assert notice.reason == "account_deleted"

        # The holder is still asked to revoke (the sealed credential went with that job,
        # the consent row being gone); once it ran, no job keeps the credential.
        async def holder_asked() -> bool:
            [job] = [
                j for j in await jobs_for(stack, live.grant_id) if j["kind"] == "holder.revoke"
            ]
            return job["done_at"] is not None

        await eventually(holder_asked)
        async with stack.engine.connect() as conn:
            payloads = [row.payload for row in await conn.execute(select(jobs.c.payload))]
        assert payloads and all("credential" not in p for p in payloads)
    for table, where in (
        (residents, residents.c.id == resident_id),
        (consents, consents.c.subject == resident_id),
        (web_sessions, web_sessions.c.resident_id == resident_id),
        (resident_keys, resident_keys.c.resident_id == resident_id),
    ):
        assert await _count(stack, table, where) == 0
    async with stack.engine.connect() as conn:
        entries = (await conn.execute(select(ledger))).all()
    assert entries and all(resident_id not in str(row._asdict()) for row in entries)
    assert "resident.erased" in [row.kind for row in entries]
    code, output = await run_cli(stack, "ledger", "verify")
    assert code == 0, output
    async with http.get(f"{stack.broker_url}/", allow_redirects=False) as after:
        assert after.status == 303  # logged out: the session is gone
