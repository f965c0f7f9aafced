"""The resident's dashboard: every flow at a glance, then one flow in full."""

from __future__ import annotations

import aiohttp

from tests.e2e.data.support import fetch_data, grant, log_in
from tests.support.stack import Stack


async def _page(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


async def test_the_dashboard_sends_a_visitor_to_the_login_page(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{stack.broker_url}/", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"].startswith("/login")


async def test_the_overview_lists_the_flow_with_its_transfer_count(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    assert await fetch_data(stack, http, live) == 200
    await log_in(stack, http)
    status, page = await _page(http, f"{stack.broker_url}/")
    assert status == 200
    assert "1 service reçoit des données de 1 organisme" in page
    assert "Coach carbone" in page
    assert "Enedis (compteur Linky)" in page
    assert "Votre consommation d&#39;électricité jour par jour" in page
    assert "Actif" in page
    assert "2, le dernier le" in page
    assert f'href="/consents/{live.grant_id}"' in page
    assert '<th scope="col">' in page


async def test_the_overview_speaks_english_on_request(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    await grant(stack, http)
    await log_in(stack, http)
    status, page = await _page(http, f"{stack.broker_url}/?lang=en")
    assert status == 200
    assert '<html lang="en">' in page
    assert "1 service receives data from 1 organisation" in page
    assert "Your electricity use, day by day" in page
    assert "Active" in page


async def test_the_detail_page_shows_scope_transfers_history_and_the_way_out(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    await log_in(stack, http)
    status, page = await _page(http, f"{stack.broker_url}/consents/{live.grant_id}")
    assert status == 200
    assert "Coach carbone reçoit vos données de Enedis" in page
    assert "Demandé par le service" in page and "Accordé par vous" in page
    assert "12 mois" in page and "1 an" in page
    assert "Transmis" in page  # the transfer
    assert "Accord donné" in page and "Compte chez l&#39;organisme relié" in page
    assert "Le service ne pourra plus lire vos données dès maintenant" in page
    assert f'action="/consents/{live.grant_id}/revoke"' in page
    assert 'name="csrf_token"' in page
    assert f'href="/consents/{live.grant_id}/receipt.json"' in page
