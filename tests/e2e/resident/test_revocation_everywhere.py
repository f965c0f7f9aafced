"""One revocation path, from every side: the resident's dashboard, the service (grant
management, refresh token revocation), the operator and the holder. Each time the next
data request is refused, every token is dead, the ledger says who and why, and the service
receives a signed Security Event Token at its notification endpoint, retried until
acknowledged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from broker.storage.tables import consents, jobs
from broker.unit import unit_of_work
from consent.model import Actor
from consent.usecases import revoke
from tests.e2e.data.support import Grant, fetch_data, grant, ledger_of, log_in
from tests.e2e.resident.support import (
    consent_state,
    eventually,
    jobs_for,
    live_tokens,
    notice_for,
    notices,
    receiver,
    run_cli,
)
from tests.support.flow import coach_auth, field_value
from tests.support.stack import OPERATOR_TOKEN, Stack

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}

Revoker = Callable[[Stack, aiohttp.ClientSession, Grant], Awaitable[None]]


async def _by_resident(stack: Stack, http: aiohttp.ClientSession, live: Grant) -> None:
    await log_in(stack, http)
    url = f"{stack.broker_url}/consents/{live.grant_id}"
    async with http.get(url) as page:
        csrf = field_value(await page.text(), "csrf_token")
    async with http.post(f"{url}/revoke", data={"csrf_token": csrf}) as done:
        assert done.status == 200


async def _by_service_delete(stack: Stack, http: aiohttp.ClientSession, live: Grant) -> None:
    url = f"{stack.broker_url}/oauth/grants/{live.grant_id}"
    async with http.delete(url, headers=coach_auth(stack)) as done:
        assert done.status == 204


async def _by_refresh_token(stack: Stack, http: aiohttp.ClientSession, live: Grant) -> None:
    assert live.refresh_token is not None
    async with http.post(
        f"{stack.broker_url}/oauth/revoke",
        data={"token": live.refresh_token, "token_type_hint": "refresh_token"},
        headers=coach_auth(stack),
    ) as done:
        assert done.status == 200


async def _by_operator_api(stack: Stack, http: aiohttp.ClientSession, live: Grant) -> None:
    url = f"{stack.broker_url}/v1/consents/{live.grant_id}/revoke"
    async with http.post(url, json={"reason": "court_order"}, headers=OPERATOR) as done:
        assert done.status == 200, await done.text()


async def _by_operator_cli(stack: Stack, http: aiohttp.ClientSession, live: Grant) -> None:
    code, output = await run_cli(
        stack, "consents", "revoke", live.grant_id, "--reason", "court_order"
    )
    assert code == 0, output


def _by_use_case(actor: Actor, reason: str) -> Revoker:
    """The holder's entry points (blacklist, signed webhook) call the same use case."""

    async def run(stack: Stack, http: aiohttp.ClientSession, live: Grant) -> None:
        assert stack.broker_app is not None
        async with unit_of_work(stack.broker_app) as uow:
            await revoke(uow, consent_id=live.grant_id, actor=actor, reason=reason, now=uow.now)

    return run


CASES = [
    pytest.param(_by_resident, "revoked_by_resident", "resident", id="dashboard"),
    pytest.param(_by_service_delete, "terminated_by_service", "service", id="grant-delete"),
    pytest.param(_by_refresh_token, "terminated_by_service", "service", id="token-revoke"),
    pytest.param(_by_operator_api, "revoked_by_holder", "operator", id="operator-api"),
    pytest.param(_by_operator_cli, "revoked_by_holder", "operator", id="operator-cli"),
    pytest.param(
        _by_use_case(Actor(kind="holder", id="enedis"), "service_blacklisted"),
        "revoked_by_holder",
        "holder",
        id="holder",
    ),
]


@pytest.mark.parametrize(("how", "state", "by"), CASES)
async def test_every_side_revokes_through_the_one_path_with_a_signed_notice(
    stack: Stack, http: aiohttp.ClientSession, how: Revoker, state: str, by: str
) -> None:
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        assert await fetch_data(stack, http, live) == 200
        await how(stack, http, live)

        assert await fetch_data(stack, http, live) == 403
        assert await consent_state(stack, live.grant_id) == state
        assert await live_tokens(stack, live.grant_id) == 0
        [revoked] = [
            e for e in await ledger_of(stack, live.grant_id) if e.kind == "consent.revoked"
        ]
        assert revoked.actor.startswith(f"{by}:") and revoked.details["state"] == state

        notice = await notice_for(stack, inbox, live.grant_id, "consent-revoked")
        assert (notice.state, notice.by) == (state, by)
        assert notice.ends_access
        assert inbox.content_types[0] == "application/secevent+jwt"
        holder_jobs = [
            j for j in await jobs_for(stack, live.grant_id) if j["kind"] == "holder.revoke"
        ]
        assert len(holder_jobs) == 1  # asked of the holder too (Enedis offers no such API)
        await _holder_job_shed_its_secret(stack, live.grant_id)


async def _holder_job_shed_its_secret(stack: Stack, grant_id: str) -> None:
    """Once run, the holder revocation keeps no sealed credential, nor does the consent."""

    async def ran() -> bool:
        [job] = [j for j in await jobs_for(stack, grant_id) if j["kind"] == "holder.revoke"]
        return job["done_at"] is not None

    await eventually(ran)
    [job] = [j for j in await jobs_for(stack, grant_id) if j["kind"] == "holder.revoke"]
    assert job["payload"] == {"grant_id": grant_id, "holder": "enedis"}
    async with stack.engine.connect() as conn:
        sealed = await conn.scalar(
            select(consents.c.holder_credential_enc).where(consents.c.id == grant_id)
        )
    assert sealed is None


async def test_a_notice_is_retried_until_the_service_acknowledges_it(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with receiver(stack, fail_first=1) as inbox:
        live = await grant(stack, http)
        await _by_service_delete(stack, http, live)
        await notice_for(stack, inbox, live.grant_id, "consent-revoked")

        async def notify_job() -> dict[str, Any]:
            [job] = [
                j for j in await jobs_for(stack, live.grant_id) if j["kind"] == "service.notify"
            ]
            return job

        async def put_off() -> bool:
            job = await notify_job()
            return job["attempts"] == 1 and job["last_error"] is not None

        # The first attempt got a 503: the job is put off by the first backoff (5 s), then
        # made due at once rather than waited for.
        await eventually(put_off)
        job = await notify_job()
        assert job["done_at"] is None
        assert job["run_after"] > datetime.now(UTC)  # put off, not due again at once
        async with stack.engine.begin() as conn:
            await conn.execute(
                update(jobs).where(jobs.c.id == job["id"]).values(run_after=datetime.now(UTC))
            )
        # The same notice (same jti) comes again.
        await notice_for(stack, inbox, live.grant_id, "consent-revoked", within=30)

        async def delivered() -> bool:
            return (await notify_job())["done_at"] is not None

        await eventually(delivered, within=30)
        received = await notices(stack, inbox)
        assert len(received) == 2 and received[0].jti == received[1].jti


async def test_a_blacklist_ends_a_paused_consent_too(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        await log_in(stack, http)
        url = f"{stack.broker_url}/consents/{live.grant_id}"
        async with http.get(url) as page:
            csrf = field_value(await page.text(), "csrf_token")
        async with http.post(f"{url}/pause", data={"csrf_token": csrf}) as paused:
            assert paused.status == 200
        assert await consent_state(stack, live.grant_id) == "paused"

        async with http.post(
            f"{stack.broker_url}/v1/holders/enedis/blacklist",
            json={"service": stack.coach_id, "reason": "scraping beyond its contract"},
            headers=OPERATOR,
        ) as answer:
            assert answer.status == 200, await answer.text()
            assert (await answer.json())["revoked"] == 1

        assert await consent_state(stack, live.grant_id) == "revoked_by_holder"
        assert await live_tokens(stack, live.grant_id) == 0
        [revoked] = [
            e for e in await ledger_of(stack, live.grant_id) if e.kind == "consent.revoked"
        ]
        assert revoked.actor == "holder:enedis"
        assert revoked.details["reason"] == "service_blacklisted"
        notice = await notice_for(stack, inbox, live.grant_id, "consent-revoked")
        assert (notice.state, notice.by, notice.reason) == (
            "revoked_by_holder",
            "holder",
            "service_blacklisted",
        )
        await _holder_job_shed_its_secret(stack, live.grant_id)
