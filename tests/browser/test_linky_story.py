"""The story a resident lives, clicked through in headless Chromium: connect the Linky
meter to the carbon coach, see the footprint, find the flow on the dashboard, revoke it,
and see the coach lose access. Screenshots of each main page go to ``artifacts/``."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import snapshot
from tests.support.stack import Stack


async def test_a_resident_connects_the_meter_sees_the_flow_and_revokes_it(
    coach_stack: Stack, page: Page
) -> None:
    stack = coach_stack
    await page.goto(stack.coach_url)
    await snapshot(page, "01-coach-home")
    await page.get_by_role("button", name="Connecter mon compteur Linky").click()

    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("Identifiant (adresse e-mail)").fill(stack.resident_login)
    await page.get_by_label("Mot de passe").fill(stack.resident_password)
    await snapshot(page, "02-broker-login")
    await page.get_by_role("button", name="Se connecter").click()

    await expect(page.get_by_role("button", name="J'accepte")).to_be_visible()
    await expect(page.locator("body")).to_contain_text("Coach carbone")
    await snapshot(page, "03-consent-screen")
    await page.get_by_role("button", name="J'accepte").click()

    # The holder's own consent page (the Enedis simulator).
    await expect(page).to_have_url(re.compile(re.escape(stack.simulator_url)))
    await snapshot(page, "04-holder-consent")
    await page.get_by_role("button", name="J'accepte").click()

    await expect(page).to_have_url(re.compile(r"/bilan"))
    await expect(page.locator("body")).to_contain_text("kgCO₂e")
    await snapshot(page, "05-coach-footprint")

    await page.goto(f"{stack.broker_url}/")
    await expect(page.locator("body")).to_contain_text("Coach carbone")
    await snapshot(page, "06-dashboard")
    await page.get_by_role("link", name=re.compile("Coach carbone")).first.click()
    await snapshot(page, "07-flow-detail")
    await page.get_by_role("button", name=re.compile("Arrêter le partage")).click()
    await expect(page.locator("body")).to_contain_text("Révoqué par vous")
    await snapshot(page, "08-revoked")

    await page.goto(f"{stack.coach_url}/bilan")
    await expect(page.locator("h1")).to_contain_text("Accès à vos données retiré")
    await snapshot(page, "09-coach-lost-access")
