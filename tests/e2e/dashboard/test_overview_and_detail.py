"""The resident's dashboard: every flow at a glance, then one flow in full."""

from __future__ import annotations

import aiohttp

from broker.admin.blacklist import blacklist_service
from tests.e2e.data.support import fetch_data, grant, log_in
from tests.support.stack import COACH_ID, Stack


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
    assert '<span class="badge active">Actif</span>' in page  # the state in words
    assert "Voir le détail et agir" in page


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
    # Revoking starts with a confirmation page; pausing and narrowing are forms here.
    assert f'href="/consents/{live.grant_id}/revoke"' in page
    assert f'action="/consents/{live.grant_id}/pause"' in page
    assert f'action="/consents/{live.grant_id}/narrow"' in page
    assert 'name="csrf_token"' in page
    assert f'href="/consents/{live.grant_id}/receipt.json"' in page


async def test_the_detail_page_draws_transfers_per_day_without_script(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    assert await fetch_data(stack, http, live) == 200
    await log_in(stack, http)
    status, page = await _page(http, f"{stack.broker_url}/consents/{live.grant_id}")
    assert status == 200
    assert "Transferts par jour, sur les 30 derniers jours" in page
    assert '<svg class="bars"' in page and 'role="img"' in page
    assert page.count('<rect class="served"') == 1  # both today: one bar of two
    assert "Sur les 30 derniers jours : 2 transferts réussis et aucune demande refusée." in page
    assert "<script" not in page and "style=" not in page  # the strict CSP holds
    _, english = await _page(http, f"{stack.broker_url}/consents/{live.grant_id}?lang=en")
    assert "Over the last 30 days: 2 successful transfers and no refused request." in english


async def test_a_blacklisted_service_is_explained_in_words(
    stack: Stack, http: aiohttp.ClientSession
) -> None:
    live = await grant(stack, http)
    assert stack.broker_app is not None
    await blacklist_service(
        stack.broker_app,
        holder_id="enedis",
        service=COACH_ID,
        reason="security",
        actor="holder:enedis",
    )
    await log_in(stack, http)
    _, overview = await _page(http, f"{stack.broker_url}/")
    assert "Révoqué par l&#39;organisme" in overview
    assert "a bloqué Coach carbone pour des raisons de sécurité" in overview
    _, page = await _page(http, f"{stack.broker_url}/consents/{live.grant_id}")
    assert "a bloqué Coach carbone pour des raisons de sécurité (le service est sur sa " in page
    assert "liste noire) : le partage a pris fin" in page
    assert f'href="/consents/{live.grant_id}/revoke"' not in page
