"""Headless Chromium from Debian's package, driven by Playwright (``executable_path``: no
browser download). Screenshots of the main pages land in ``tests/browser/artifacts/``.

Every main page of the broker is also checked for accessibility (axe-core, WCAG 2.1 A and
AA rules) and for a phone's width (375 px, no horizontal scroll). axe-core comes from the
npm registry (``scripts/test-services.sh`` installs it outside the repository). The pages'
CSP allows scripts from the broker's own origin only, so ``add_script_tag(path=...)``
(an inline script) would be refused; instead the context answers one same-origin URL with
the local ``axe.min.js`` file, and ``add_script_tag(url=...)`` loads it from there. The CSP
stays as strict as in production, and any violation it reports fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Route,
    ViewportSize,
    async_playwright,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
NPM_CACHE = Path(os.environ.get("AIGUILLAGE_NPM_CACHE", Path.home() / ".cache/aiguillage-npm"))
AXE = NPM_CACHE / "node_modules" / "axe-core" / "axe.min.js"
AXE_PATH = "/__test-only__/axe.min.js"  # answered by the test's route, never by the broker
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP: ViewportSize = {"width": 1100, "height": 900}
PHONE: ViewportSize = {"width": 375, "height": 812}
# Without the networking flags Chromium keeps trying to reach Google's hosts, which a
# closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


class CspWatch:
    """Console messages in which Chromium reports a Content-Security-Policy violation."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def __call__(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)


async def _serve_axe(route: Route) -> None:
    await route.fulfill(path=AXE, content_type="application/javascript")


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE}): run scripts/test-services.sh")
    made = await browser.new_context(locale="fr-FR", viewport=DESKTOP)
    await made.route(f"**{AXE_PATH}", _serve_axe)
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def csp() -> CspWatch:
    return CspWatch()


@pytest.fixture
async def page(context: BrowserContext, csp: CspWatch) -> AsyncIterator[Page]:
    new_page = await context.new_page()
    new_page.on("console", csp)
    try:
        yield new_page
    finally:
        await new_page.close()


async def snapshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _readable(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    at {', '.join(map(str, node['target']))}")
            lines.append(f"       {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            lines.append(f"       {summary[:300]}")
    return "\n".join(lines)


async def assert_accessible(page: Page) -> None:
    """axe-core's WCAG 2.1 A/AA rules find nothing on the page as it is now."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    await page.add_script_tag(url=origin + AXE_PATH)
    results = await page.evaluate(
        "async (tags) => { const r = await axe.run(document, "
        "{runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}); "
        "return JSON.stringify({violations: r.violations, passes: r.passes.length}); }",
        WCAG_TAGS,
    )
    found = json.loads(results)
    violations = found["violations"]
    assert found["passes"] > 0, "axe-core checked nothing"
    assert not violations, f"axe-core on {page.url}:\n{_readable(violations)}"


async def assert_fits_a_phone(page: Page, name: str) -> None:
    """At 375 px wide the page scrolls only downwards; a screenshot is kept."""
    await page.set_viewport_size(PHONE)
    try:
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{page.url} is {width}px wide at a phone's width"
        await snapshot(page, f"{name}-phone")
    finally:
        await page.set_viewport_size(DESKTOP)


async def check_page(page: Page, name: str) -> None:
    """One main page of the broker: screenshot, axe-core, phone width, `lang` present."""
    assert await page.evaluate("document.documentElement.lang") in ("fr", "en")
    await snapshot(page, name)
    await assert_accessible(page)
    await assert_fits_a_phone(page, name)
