"""Revoking from the dashboard: a confirmation page that says what will happen, then one
CSRF-checked form, effective at once, and only for one's own flows."""

from __future__ import annotations

import aiohttp

from broker.operator import add_resident
from broker.web.csrf import CSRF_COOKIE
from tests.e2e.data.support import (
    data_url,
    days_ago,
    fetch_data,
    grant,
    ledger_of,
    log_in,
)
from tests.support.flow import field_value
from tests.support.stack import Stack


async def _revoke(
    stack: Stack, http: aiohttp.ClientSession, grant_id: str, csrf: str | None
) -> aiohttp.ClientResponse:
    form = {"csrf_token": csrf} if csrf is not None else {}
    async with http.post(
        f"{stack.broker_url}/consents/{grant_id}/revoke", data=form, allow_redirects=False
    ) as response:
        await response.read()
        return response


async def _csrf_from(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        return field_value(await response.text(), "csrf_token")


def _csrf_cookie(http: aiohttp.ClientSession) -> str:
    """The visitor's CSRF token where no page of theirs carries a form (double submit)."""
    return next(c.value for c in http.cookie_jar if c.key == CSRF_COOKIE)


async def test_the_confirmation_page_says_what_will_happen_before_anything_changes(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    await log_in(stack, http)
    confirm_url = f"{stack.broker_url}/consents/{live.grant_id}/revoke"
    async with http.get(confirm_url) as response:
        assert response.status == 200
        page = await response.text()
    assert "Arrêter le partage avec Coach carbone ?" in page
    assert "Coach carbone ne pourra plus lire vos données venant de Enedis" in page
    assert "1 envoi de données" in page and "au plus 1 an" in page
    assert "C&#39;est définitif" in page
    assert f'action="/consents/{live.grant_id}/revoke"' in page
    assert 'name="csrf_token"' in page
    assert "Oui, arrêter le partage avec Coach carbone" in page
    assert await fetch_data(stack, http, live) == 200  # looking changed nothing
    async with http.get(f"{confirm_url}?lang=en") as english:
        assert "Stop sharing with Coach carbone?" in await english.text()


async def test_the_confirmation_page_of_an_ended_consent_sends_back_to_it(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await log_in(stack, http)
    url = f"{stack.broker_url}/consents/{live.grant_id}"
    response = await _revoke(stack, http, live.grant_id, await _csrf_from(http, f"{url}/revoke"))
    assert response.status == 303
    async with http.get(f"{url}/revoke", allow_redirects=False) as again:
        assert again.status == 303
        assert again.headers["Location"] == f"/consents/{live.grant_id}?notice=already_ended"


async def test_revoking_by_the_form_stops_the_next_data_request(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    await log_in(stack, http)
    confirm_url = f"{stack.broker_url}/consents/{live.grant_id}/revoke"
    response = await _revoke(stack, http, live.grant_id, await _csrf_from(http, confirm_url))
    assert response.status == 303
    assert response.headers["Location"] == f"/consents/{live.grant_id}?notice=revoked"
    async with http.get(f"{stack.broker_url}{response.headers['Location']}") as page:
        text = await page.text()
    assert "C&#39;est fait : Coach carbone ne peut plus lire vos données." in text
    assert "Révoqué par vous" in text
    async with http.get(
        data_url(stack), params={"start": days_ago(3), "end": days_ago(1)}, headers=live.auth
    ) as refused:
        assert refused.status == 403
        body = await refused.json(content_type=None)
    assert body["reason"] == "consent_revoked"
    kinds = [e.kind for e in await ledger_of(stack, live.grant_id)]
    assert "consent.revoked" in kinds
    assert kinds[-1] == "transfer.denied"


async def test_revoking_an_ended_consent_again_says_so_plainly(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await log_in(stack, http)
    csrf = await _csrf_from(http, f"{stack.broker_url}/consents/{live.grant_id}")
    assert (await _revoke(stack, http, live.grant_id, csrf)).status == 303
    again = await _revoke(stack, http, live.grant_id, csrf)
    assert again.status == 303
    assert again.headers["Location"].endswith("?notice=already_ended")
    async with http.get(f"{stack.broker_url}{again.headers['Location']}") as page:
        assert page.status == 200
        assert "Ce partage était déjà terminé" in await page.text()


async def test_a_revoke_post_without_csrf_is_a_403_page(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await log_in(stack, http)
    response = await _revoke(stack, http, live.grant_id, None)
    assert response.status == 403
    assert response.content_type == "text/html"
    wrong = await _revoke(stack, http, live.grant_id, "x" * 43)
    assert wrong.status == 403
    assert await fetch_data(stack, http, live) == 200  # still active


async def test_another_resident_can_neither_see_nor_revoke_the_consent(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    await add_resident(
        stack.engine,
        login="dominique@example.fr",
        password="another-pass-123",
        display_name="Dominique",
    )
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as other:
        await log_in(stack, other, "dominique@example.fr", "another-pass-123")
        async with other.get(f"{stack.broker_url}/") as overview:
            text = await overview.text()
        assert live.grant_id not in text
        assert "Aucun service ne reçoit de données sur vous" in text
        async with other.get(f"{stack.broker_url}/consents/{live.grant_id}") as theirs:
            assert theirs.status == 404
            theirs_page = await theirs.text()
        async with other.get(f"{stack.broker_url}/consents/{live.grant_id}/revoke") as confirm:
            assert confirm.status == 404
        async with other.get(f"{stack.broker_url}/consents/grant_does_not_exist") as unknown:
            assert unknown.status == 404
            unknown_page = await unknown.text()
        # The same page but for the language link, which repeats the path asked for.
        assert unknown_page.replace("grant_does_not_exist", live.grant_id) == theirs_page
        assert (await _revoke(stack, other, live.grant_id, _csrf_cookie(other))).status == 404
        async with other.get(
            f"{stack.broker_url}/consents/{live.grant_id}/receipt.json"
        ) as receipt:
            assert receipt.status == 404
    assert await fetch_data(stack, http, live) == 200  # untouched
