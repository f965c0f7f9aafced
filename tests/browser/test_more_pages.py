"""The pages the resident story does not pass through, checked like its main pages
(screenshot, axe-core WCAG 2.1 A/AA, 375 px without sideways scroll, strict CSP): the
account page, the error pages (an unknown consent's 404, a refused CSRF token's 403), and
the holder staff console (its login page and its overview with readers, transfers, quotas
and the blacklist). Then one pass over a flow's page with the keyboard alone: Tab reaches
the actions and the narrowing form in reading order, each with a visible focus ring; and
the transfer and history tables restack into label/value blocks on a phone while keeping
their table semantics.
"""

from __future__ import annotations

import re

import aiohttp
from playwright.async_api import FloatRect, Page, expect

from broker.storage.holder_staff import SqlHolderStaff
from broker.storage.uow import SqlUnitOfWork
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE, CspWatch, check_page, snapshot
from tests.e2e.data.support import Grant, fetch_data, grant
from tests.support.stack import Stack

STAFF_LOGIN = "console@enedis.example.fr"
STAFF_PASSWORD = "correct horse battery staple"  # a test account's password

# The focused element, named for the assertion messages: tag, then id or visible name.
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const name = e.id || (e.getAttribute('aria-label') || e.textContent || e.name || '').trim();
  return e.tagName.toLowerCase() + ':' + name.replace(/\\s+/g, ' ').slice(0, 80);
}"""
# Whether the focused element draws a focus indicator: an outline or a box-shadow.
_RING = """() => {
  const s = getComputedStyle(document.activeElement);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return {outline, shadow: s.boxShadow !== 'none', style: s.outlineStyle + ' '
          + s.outlineWidth + ' / ' + s.boxShadow};
}"""

# Focused controls kept as screenshots (ring included) under artifacts/.
_FOCUS_SHOTS = {
    "button:Mettre en pause": "20-focus-pause",
    "a:Arrêter le partage": "20-focus-revoke",
    "input:narrow-resource-1": "20-focus-checkbox",
    "input:narrow-until": "20-focus-date",
}


async def _log_in(page: Page, stack: Stack) -> None:
    await page.goto(f"{stack.broker_url}/")
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.get_by_label("Identifiant (adresse e-mail)").fill(stack.resident_login)
    await page.get_by_label("Mot de passe").fill(stack.resident_password)
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.locator("h1")).to_have_text("Mes partages de données")


async def _focus_shot(page: Page, name: str) -> None:
    """The focused element and its ring, with a margin, kept as an artifact to look at."""
    box = await page.evaluate(
        "() => { const r = document.activeElement.getBoundingClientRect();"
        " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; }"
    )
    margin = 12
    clip: FloatRect = {
        "x": max(box["x"] - margin, 0),
        "y": max(box["y"] - margin, 0),
        "width": box["width"] + 2 * margin,
        "height": box["height"] + 2 * margin,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), clip=clip, full_page=True)


async def _live_flow(stack: Stack, http: aiohttp.ClientSession) -> Grant:
    live = await grant(stack, http)
    assert await fetch_data(stack, http, live) == 200
    return live


async def test_the_account_and_error_pages_are_accessible_on_a_phone(
    stack: Stack, http: aiohttp.ClientSession, page: Page, csp: CspWatch
) -> None:
    live = await _live_flow(stack, http)
    await _log_in(page, stack)

    await page.get_by_role("link", name=re.compile("compte", re.I)).first.click()
    await expect(page).to_have_url(re.compile(r"/account$"))
    await expect(page.get_by_role("link", name=re.compile("JSON"))).to_be_visible()
    await check_page(page, "13-account")

    # An unknown consent: a 404 page in words, not a stack trace.
    response = await page.goto(f"{stack.broker_url}/consents/no-such-consent")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("alert")).to_be_visible()
    await check_page(page, "14-error-404")

    # A form whose CSRF token was tampered with: a 403 page, and nothing happened.
    await page.goto(f"{stack.broker_url}/account")
    await page.locator("form[action='/account/delete'] input[type=hidden]").first.evaluate(
        "e => { e.value = 'tampered'; }"
    )
    await page.locator("form[action='/account/delete'] input[type=checkbox]").check()
    async with page.expect_response(re.compile(r"/account/delete$")) as sent:
        await page.locator("form[action='/account/delete'] button[type=submit]").click()
    assert (await sent.value).status == 403
    await expect(page.get_by_role("alert")).to_be_visible()
    await check_page(page, "15-error-403")
    # Its language switch does not replay the form's POST as a GET: it leads home.
    await page.get_by_role("link", name="English").click()
    await expect(page.locator("h1")).to_have_text("My data sharing")
    assert await fetch_data(stack, http, live) == 200  # the account is still there
    assert csp.violations == []


async def test_the_holder_console_is_accessible_on_a_phone(
    stack: Stack, http: aiohttp.ClientSession, page: Page, csp: CspWatch
) -> None:
    async with SqlUnitOfWork(stack.engine) as uow:
        await SqlHolderStaff(uow.conn).add(
            holder="enedis", login=STAFF_LOGIN, password=STAFF_PASSWORD, now=uow.now
        )
        await uow.commit()
    await _live_flow(stack, http)

    await page.goto(f"{stack.broker_url}/console/login")
    await check_page(page, "16-console-login")
    await page.get_by_label("Identifiant").fill(STAFF_LOGIN)
    await page.get_by_label("Mot de passe").fill("wrong password")
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("alert")).to_contain_text("incorrect")
    await check_page(page, "16b-console-login-failed")
    await page.get_by_label("Mot de passe").fill(STAFF_PASSWORD)
    await page.get_by_role("button", name="Se connecter").click()

    await expect(page.locator("main")).to_contain_text("Qui lit quoi")
    await expect(page.locator("main")).to_contain_text(stack.coach_id)
    await check_page(page, "17-console-overview")
    await page.get_by_label("Bloquer un service").select_option(stack.coach_id)
    await page.get_by_label("Raison (montrée aux habitants concernés)").fill("jetons exposés")
    await page.get_by_role("button", name="Bloquer ce service").click()
    await expect(page.get_by_role("status")).to_contain_text("Service bloqué")
    await expect(page.get_by_role("button", name="Lever le blocage")).to_be_visible()
    await check_page(page, "18-console-blacklist")

    # A console form whose CSRF token was tampered with: a 403 page, the block stays.
    lift = page.locator("form[action='/console/blacklist/lift']")
    await lift.locator("input[name=csrf_token]").evaluate("e => { e.value = 'tampered'; }")
    async with page.expect_response(re.compile(r"/console/blacklist/lift$")) as sent:
        await lift.get_by_role("button", name="Lever le blocage").click()
    assert (await sent.value).status == 403
    await expect(page.get_by_role("alert")).to_be_visible()
    await check_page(page, "18b-console-error-403")
    await page.get_by_role("link", name="Revenir à l'accueil").click()
    await expect(page).to_have_url(re.compile(r"/console/$"))
    await expect(page.get_by_role("button", name="Lever le blocage")).to_be_visible()
    assert csp.violations == []


async def test_a_flow_page_with_the_keyboard_alone_and_its_tables_on_a_phone(
    stack: Stack, http: aiohttp.ClientSession, page: Page, csp: CspWatch
) -> None:
    await _live_flow(stack, http)
    await _log_in(page, stack)
    await page.get_by_role("link", name="Coach carbone", exact=True).click()
    await expect(page.locator("h1")).to_contain_text("Coach carbone reçoit vos données")

    # From the top of the freshly loaded page, Tab alone walks every control, each with a
    # focus ring (an outline or a box-shadow, never none).
    order: list[str] = []
    for _ in range(60):
        await page.keyboard.press("Tab")
        focused = await page.evaluate(_FOCUSED)
        if focused is None:
            break  # past the last control: back to the browser's own UI
        ring = await page.evaluate(_RING)
        assert ring["outline"] or ring["shadow"], f"{focused} has no focus ring: {ring['style']}"
        if not order or order[-1] != focused:  # a date field takes one Tab per part
            order.append(focused)
            for prefix, shot in _FOCUS_SHOTS.items():
                if focused.startswith(prefix):
                    await _focus_shot(page, shot)

    def position(pattern: str) -> int:
        found = [i for i, name in enumerate(order) if re.search(pattern, name)]
        assert found, f"Tab never reached {pattern!r}: {order}"
        return found[0]

    expected = [
        r"^a:Aller au contenu",
        r"^button:Mettre en pause",
        r"^a:Partager moins",
        r"^a:Télécharger le reçu",
        r"^a:Arrêter le partage avec Coach carbone",
        r"^input:narrow-resource-1$",
        r"^input:narrow-resource-2$",
        r"^select:narrow-history$",
        r"^input:narrow-until$",
        r"^button:Réduire l'accord",
    ]
    positions = [position(p) for p in expected]
    assert positions == sorted(positions), f"Tab order: {order}"

    # The "share less" link takes the keyboard to the narrowing form.
    await page.get_by_role("link", name=re.compile("^Partager moins")).focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#narrow-title")).to_be_focused()

    # On a phone the transfer and history tables restack: each row a block of label and
    # value, no sideways scroll, and still a table with column headers for a reader.
    await page.set_viewport_size(PHONE)
    try:
        for table in ("#transfers-table", "#events-table"):
            rows = page.locator(f"{table} tbody tr")
            assert await rows.count() >= 1
            label = rows.first.locator(".cell-label").first
            await expect(label).to_be_visible()
            box = await page.locator(table).bounding_box()
            assert box is not None and box["width"] <= PHONE["width"]
            assert await page.locator(table).evaluate("e => e.scrollWidth <= e.clientWidth")
            name = table.removeprefix("#").removesuffix("-table")
            await page.locator(table).screenshot(path=str(ARTIFACTS / f"19-{name}-phone.png"))
        transfers = page.get_by_role("table", name="Transferts")
        await expect(transfers.get_by_role("columnheader")).to_have_count(5)
        await expect(transfers.get_by_role("cell", name="Transmis", exact=True)).to_have_count(1)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        await snapshot(page, "19-flow-tables-phone")
    finally:
        await page.set_viewport_size(DESKTOP)
    assert csp.violations == []
