"""Consents end at their date with no request needed, the service is told; before that,
the resident is warned and can ask for renewal, which the service is told too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy import select, update

from broker.storage.tables import consents
from broker.tasks import expire_once
from tests.e2e.data.support import fetch_data, grant, ledger_of, log_in
from tests.e2e.resident.support import consent_state, live_tokens, notice_for, receiver
from tests.support.flow import field_value
from tests.support.stack import Stack


async def _move_end(stack: Stack, grant_id: str, end: datetime) -> None:
    """As if the consent had been given long ago: its end date comes closer."""
    async with stack.engine.begin() as conn:
        data = (
            await conn.execute(select(consents.c.data).where(consents.c.id == grant_id))
        ).scalar_one()
        data = {**data, "expires_at": end.isoformat()}
        await conn.execute(
            update(consents).where(consents.c.id == grant_id).values(data=data, expires_at=end)
        )


async def test_the_expiry_task_ends_a_due_consent_and_tells_the_service(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    assert stack.broker_app is not None
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        await _move_end(stack, live.grant_id, datetime.now(UTC) - timedelta(seconds=1))
        assert await expire_once(stack.broker_app) == 1  # what the background loop runs
        assert await consent_state(stack, live.grant_id) == "expired"
        assert await live_tokens(stack, live.grant_id) == 0
        assert await fetch_data(stack, http, live) == 403
        assert "consent.expired" in [e.kind for e in await ledger_of(stack, live.grant_id)]
        notice = await notice_for(stack, inbox, live.grant_id, "consent-expired")
        assert (notice.state, notice.by) == ("expired", "system")
        await log_in(stack, http)
        async with http.get(f"{stack.broker_url}/consents/{live.grant_id}") as page:
            assert "Cet accord est arrivé à sa date de fin." in await page.text()


async def test_a_resident_is_warned_before_the_end_and_can_ask_for_renewal(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        await _move_end(stack, live.grant_id, datetime.now(UTC) + timedelta(days=5))
        await log_in(stack, http)
        async with http.get(f"{stack.broker_url}/") as overview:
            assert "se termine le" in await overview.text()
        url = f"{stack.broker_url}/consents/{live.grant_id}"
        async with http.get(url) as page:
            text = await page.text()
        assert "Bientôt la fin de cet accord" in text and "Demander le renouvellement" in text
        async with http.post(
            f"{url}/renewal", data={"csrf_token": field_value(text, "csrf_token")}
        ) as asked:
            after = await asked.text()
        assert "Votre demande de renouvellement a été transmise à Coach carbone." in after
        assert "Demander le renouvellement" not in after  # asked once; the date is shown
        await notice_for(stack, inbox, live.grant_id, "renewal-requested")
        assert await fetch_data(stack, http, live) == 200  # nothing extended, nothing cut


async def test_a_consent_far_from_its_end_shows_no_warning(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await log_in(stack, http)
    async with http.get(f"{stack.broker_url}/consents/{live.grant_id}") as page:
        assert "Bientôt la fin" not in await page.text()
