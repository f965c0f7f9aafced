"""Pause and resume without losing the flow; narrowing makes a new revision that existing
tokens obey at once; each revision has a signed receipt that ``aiguillage receipts
verify`` checks offline."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import aiohttp

from tests.e2e.data.support import (
    Grant,
    data_url,
    days_ago,
    fetch_data,
    grant,
    ledger_of,
    log_in,
)
from tests.e2e.resident.support import jwks, notice_for, receiver, run_cli
from tests.support.flow import DEFAULT_DETAILS, coach_auth, field_value
from tests.support.stack import Stack


async def _post(
    stack: Stack, http: aiohttp.ClientSession, grant_id: str, action: str, **fields: object
) -> tuple[str, str]:
    """POST a dashboard form with the page's CSRF token; the redirect and the page."""
    url = f"{stack.broker_url}/consents/{grant_id}"
    async with http.get(url) as page:
        form: list[tuple[str, str]] = [("csrf_token", field_value(await page.text(), "csrf_token"))]
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        form += [(name, str(v)) for v in values]
    async with http.post(f"{url}/{action}", data=form, allow_redirects=False) as response:
        assert response.status == 303, await response.text()
        location = response.headers["Location"]
    async with http.get(f"{stack.broker_url}{location}") as page:
        return location, await page.text()


async def _reason(stack: Stack, http: aiohttp.ClientSession, live: Grant, resource: str) -> str:
    async with http.get(
        data_url(stack, resource),
        params={"start": days_ago(3), "end": days_ago(1)},
        headers=live.auth,
    ) as response:
        body = await response.json(content_type=None)
    return str(body.get("reason", response.status)) if response.status != 200 else "ok"


async def test_a_paused_flow_refuses_transfers_and_resumes_with_the_same_tokens(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        await log_in(stack, http)
        location, page = await _post(stack, http, live.grant_id, "pause")
        assert location.endswith("?notice=paused") and "En pause" in page
        assert await _reason(stack, http, live, "daily_consumption") == "consent_paused"
        await notice_for(stack, inbox, live.grant_id, "consent-paused")
        location, page = await _post(stack, http, live.grant_id, "resume")
        assert location.endswith("?notice=resumed") and "Actif" in page
        assert await fetch_data(stack, http, live) == 200
        await notice_for(stack, inbox, live.grant_id, "consent-resumed")


async def test_narrowing_makes_a_new_revision_that_live_tokens_obey(
    stack: Stack, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    live = await grant(stack, http)
    assert await _reason(stack, http, live, "consumption_load_curve") == "ok"
    await log_in(stack, http)
    location, page = await _post(
        stack, http, live.grant_id, "narrow", resources=["daily_consumption"], history="P1M"
    )
    assert location.endswith("?notice=narrowed")
    assert "Reçu de la version 2" in page and "Reçu de la version 1" in page
    assert await _reason(stack, http, live, "consumption_load_curve") == "resource_not_granted"
    assert await _reason(stack, http, live, "daily_consumption") == "ok"
    async with http.get(
        data_url(stack), params={"start": days_ago(60), "end": days_ago(50)}, headers=live.auth
    ) as old:
        assert old.status == 403  # the history is one month now

    files = {}
    for revision in (1, 2):
        url = f"{stack.broker_url}/consents/{live.grant_id}/receipts/{revision}.json"
        async with http.get(url) as response:
            assert response.status == 200
            signed = await response.json()
        assert signed["receipt"]["revision"] == revision
        files[revision] = tmp_path / f"r{revision}.json"
        files[revision].write_text(json.dumps(signed))
    assert len(json.loads(files[1].read_text())["receipt"]["personal_data_categories"]) == 2
    assert len(json.loads(files[2].read_text())["receipt"]["personal_data_categories"]) == 1

    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(await jwks(stack)))
    code, output = await run_cli(stack, "receipts", "verify", str(files[2]), "--jwks", str(keys))
    assert code == 0 and output.startswith("valid") and "revision 2" in output
    tampered = json.loads(files[2].read_text())
    tampered["receipt"]["personal_data_categories"] = []
    files[2].write_text(json.dumps(tampered))
    code, output = await run_cli(stack, "receipts", "verify", str(files[2]), "--jwks", str(keys))
    assert code == 1 and "changed after it was signed" in output


async def test_narrowing_can_only_ever_reduce(stack: Stack, http: aiohttp.ClientSession) -> None:
    live = await grant(stack, http)
    await log_in(stack, http)
    url = f"{stack.broker_url}/consents/{live.grant_id}"
    async with http.get(url) as page:
        csrf = field_value(await page.text(), "csrf_token")
    for bad in ({"history": "P5Y"}, {"until": "2999-01-01"}, {"until": "not-a-date"}):
        async with http.post(f"{url}/narrow", data={"csrf_token": csrf, **bad}) as refused:
            assert refused.status == 400 and refused.content_type == "text/html"
            assert "Cette réduction n&#39;est pas possible" in await refused.text()
    async with http.post(f"{url}/narrow", data={"history": "P1M"}) as no_csrf:
        assert no_csrf.status == 403
    assert await fetch_data(stack, http, live) == 200
    async with http.get(f"{url}/receipts/7.json") as unknown:
        assert unknown.status == 404


async def test_an_access_token_revoked_while_paused_is_invalid_not_paused(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    # The service dropped this token: it must learn that the token is dead (and ask for a
    # new one), not that the resident paused the grant.
    live = await grant(stack, http)
    await log_in(stack, http)
    await _post(stack, http, live.grant_id, "pause")
    form = {"token": live.access_token, "token_type_hint": "access_token"}
    async with http.post(
        f"{stack.broker_url}/oauth/revoke", data=form, headers=coach_auth(stack)
    ) as response:
        assert response.status == 200
    assert await _reason(stack, http, live, "daily_consumption") == "invalid_token"


async def test_narrowing_the_end_date_is_a_revision_with_its_own_verified_receipt(
    stack: Stack, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with receiver(stack) as inbox:
        live = await grant(stack, http)
        await log_in(stack, http)
        last_day = datetime.now(UTC).date() + timedelta(days=10)
        location, _ = await _post(
            stack,
            http,
            live.grant_id,
            "narrow",
            resources=list(DEFAULT_DETAILS["resources"]),  # the form keeps them all ticked
            until=last_day.isoformat(),
        )
        assert location.endswith("?notice=narrowed")
        notice = await notice_for(stack, inbox, live.grant_id, "consent-narrowed")
        assert (notice.state, notice.revision) == ("active", 2)
    ends = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=UTC)
    [narrowed] = [e for e in await ledger_of(stack, live.grant_id) if e.kind == "consent.narrowed"]
    assert narrowed.details["expires_at"] == ends.isoformat()
    assert narrowed.details["revision"] == 2
    assert await fetch_data(stack, http, live) == 200  # still within the new end date

    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(await jwks(stack)))
    ends_at = {}
    for revision in (1, 2):
        url = f"{stack.broker_url}/consents/{live.grant_id}/receipts/{revision}.json"
        async with http.get(url) as response:
            signed = await response.json()
        ends_at[revision] = datetime.fromisoformat(signed["receipt"]["processing"]["expires_at"])
        path = tmp_path / f"r{revision}.json"
        path.write_text(json.dumps(signed))
        code, output = await run_cli(stack, "receipts", "verify", str(path), "--jwks", str(keys))
        assert code == 0 and f"revision {revision}" in output, output
    assert ends_at[2] == ends < ends_at[1]
