"""The story a resident lives, clicked through in headless Chromium: connect the Linky
meter to the carbon coach, see the footprint, find the flow on the dashboard, revoke it
(after a confirmation that says what will happen), and see the coach lose access.

Each main page of the broker (login, consent screen, overview, flow page, revoke
confirmation) is screenshotted at desktop and phone widths into ``artifacts/``, checked
with axe-core against WCAG 2.1 A/AA, and must not scroll sideways at 375 px. The strict
CSP stays on throughout and no violation may be reported.
"""

from __future__ import annotations

import re

import aiohttp
from playwright.async_api import Page, expect

from broker.admin.blacklist import blacklist_service
from tests.browser.conftest import CspWatch, assert_accessible, check_page, snapshot
from tests.e2e.data.support import fetch_data, grant
from tests.support.stack import COACH_ID, Stack


async def _log_in(page: Page, stack: Stack) -> None:
    await page.get_by_label("Identifiant (adresse e-mail)").fill(stack.resident_login)
    await page.get_by_label("Mot de passe").fill(stack.resident_password)
    await page.get_by_role("button", name="Se connecter").click()


async def test_a_resident_connects_the_meter_sees_the_flow_and_revokes_it(
    coach_stack: Stack, page: Page, csp: CspWatch
) -> None:
    stack = coach_stack
    await page.goto(stack.coach_url)
    await snapshot(page, "01-coach-home")
    await page.get_by_role("button", name="Connecter mon compteur Linky").click()

    # Log in at the broker.
    await expect(page).to_have_url(re.compile(r"/login"))
    await check_page(page, "02-broker-login")
    await _log_in(page, stack)

    # The consent screen: who, what, why, how long, the way out, and three answers.
    accept = page.get_by_role("button", name="J'accepte", exact=True)
    await expect(accept).to_be_visible()
    body = page.locator("main")
    for text in (
        "Coach carbone vous demande l'accès",
        "Votre consommation d'électricité jour par jour",
        "Catégorie définie par l'opérateur",
        "Vous aider à comprendre et réduire votre consommation d'énergie",
        "Calculer l'empreinte carbone",
        "les 12 derniers mois",
        "Vous pourrez retirer votre accord à tout moment",
    ):
        await expect(body).to_contain_text(text)
    await expect(page.get_by_role("button", name="Je refuse")).to_be_visible()
    await check_page(page, "03-consent-screen")
    less = page.get_by_text("J'accepte moins…")
    await less.click()  # "accept less" opens: the choices, checked by default
    await expect(
        page.get_by_label("Votre consommation d'électricité jour par jour")
    ).to_be_checked()
    await expect(page.get_by_role("button", name="J'accepte seulement ces choix")).to_be_visible()
    await check_page(page, "03b-consent-screen-accept-less")
    await less.click()
    await accept.click()

    # The holder's own consent page (the Enedis simulator).
    await expect(page).to_have_url(re.compile(re.escape(stack.simulator_url)))
    await snapshot(page, "04-holder-consent")
    await page.get_by_role("button", name="J'accepte").click()

    # The coach shows what it computed from the meter's data.
    await expect(page).to_have_url(re.compile(r"/bilan"))
    await expect(page.locator("body")).to_contain_text("kgCO₂e")
    await snapshot(page, "05-coach-footprint")

    # The dashboard: one flow, grouped under its holder, with a plain summary.
    await page.goto(f"{stack.broker_url}/")
    await expect(page.locator("#summary")).to_have_text(
        "1 service reçoit des données de 1 organisme."
    )
    group = page.get_by_role("region", name=re.compile("Données de Enedis"))
    await expect(group).to_contain_text("Coach carbone")
    await expect(group).to_contain_text("Votre consommation d'électricité jour par jour")
    await expect(group).to_contain_text("Actif")
    await check_page(page, "06-dashboard")
    await page.get_by_role("link", name="Coach carbone", exact=True).click()

    # The flow's page: asked vs granted, transfers per day (SVG + table), the actions.
    await expect(page.locator("h1")).to_contain_text("Coach carbone reçoit vos données")
    await expect(page.get_by_role("img", name=re.compile("Transferts par jour"))).to_be_visible()
    await expect(page.locator("#chart-summary")).to_contain_text("1 transfert réussi")
    await page.get_by_text("Les chiffres du graphique, jour par jour").click()
    await expect(page.locator(".chart table tbody tr")).to_have_count(1)
    await expect(page.get_by_role("cell", name="Transmis", exact=True)).to_be_visible()
    await check_page(page, "07-flow-detail")

    # Revoke: first a page that says what will happen, then the confirmation.
    await page.get_by_role("link", name="Arrêter le partage avec Coach carbone…").click()
    await expect(page.locator("h1")).to_have_text("Arrêter le partage avec Coach carbone ?")
    await expect(page.locator("main")).to_contain_text("ne pourra plus lire vos données")
    await expect(page.locator("main")).to_contain_text("1 envoi de données")
    await check_page(page, "08-revoke-confirmation")
    await page.get_by_role("button", name="Oui, arrêter le partage avec Coach carbone").click()
    await expect(page.get_by_role("status")).to_contain_text(
        "C'est fait : Coach carbone ne peut plus lire vos données."
    )
    await expect(page.locator("main")).to_contain_text("Révoqué par vous")
    await expect(page.get_by_role("link", name=re.compile("Arrêter le partage"))).to_have_count(0)
    await check_page(page, "09-revoked")

    # The coach has lost access: it says so whether the broker's notice reached it first
    # (back to its home page) or its next data request was refused (its "retiré" page).
    await page.goto(f"{stack.coach_url}/bilan")
    await expect(page.locator("main")).to_contain_text("L'accès à vos données a été retiré")
    await expect(page.get_by_role("button", name="Connecter mon compteur Linky")).to_be_visible()
    await snapshot(page, "10-coach-lost-access")
    assert csp.violations == []


async def test_in_english_with_the_keyboard_a_blacklisted_service_is_explained(
    stack: Stack, http: aiohttp.ClientSession, page: Page, csp: CspWatch
) -> None:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    assert stack.broker_app is not None
    await blacklist_service(
        stack.broker_app,
        holder_id="enedis",
        service=COACH_ID,
        reason="security",
        actor="holder:enedis",
    )

    await page.goto(f"{stack.broker_url}/")
    await expect(page).to_have_url(re.compile(r"/login"))
    # Keyboard: the first Tab reaches the skip link, which is visible and outlined.
    await page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    await expect(skip).to_be_focused()
    outline = await skip.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline not in ("", "none")
    # Fill and send the login form with the keyboard alone.
    await page.get_by_label("Identifiant (adresse e-mail)").focus()
    await page.keyboard.type(stack.resident_login)
    await page.keyboard.press("Tab")
    await page.keyboard.type(stack.resident_password)
    await page.keyboard.press("Enter")
    await expect(page.locator("h1")).to_have_text("Mes partages de données")
    await expect(page.locator("#summary")).to_contain_text(
        "Aucun service ne reçoit de données sur vous"
    )

    # The English switch, remembered on the next pages.
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("h1")).to_have_text("My data sharing")
    await expect(page.locator("main")).to_contain_text("Revoked by the data holder")
    await check_page(page, "11-dashboard-en")
    await page.get_by_role("link", name="Coach carbone", exact=True).click()
    reason = page.locator("#ended-reason")
    await expect(reason).to_contain_text("has blocked Coach carbone for security reasons")
    await expect(reason).to_contain_text("blacklist")
    await check_page(page, "12-flow-blacklisted-en")

    await page.get_by_role("link", name="Français").click()
    await expect(page.locator("#ended-reason")).to_contain_text(
        "a bloqué Coach carbone pour des raisons de sécurité"
    )
    await assert_accessible(page)
    assert csp.violations == []
