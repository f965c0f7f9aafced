"""French first, English too. Each surface keeps its own catalogue module; this one merges.

The locale comes from ``?lang=fr|en`` (remembered in a cookie), else the cookie, else French.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from broker.dashboard import messages as dashboard_messages
from broker.oauth import messages as oauth_messages
from broker.oauth import wording as consent_wording
from broker.web import messages as common_messages

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
LANG_COOKIE = "aiguillage_lang"

CATALOG: dict[str, dict[str, str]] = {
    locale: {
        **common_messages.MESSAGES[locale],
        **oauth_messages.MESSAGES[locale],
        **consent_wording.MESSAGES[locale],
        **dashboard_messages.MESSAGES[locale],
    }
    for locale in LOCALES
}


def locale_of(request: web.Request) -> str:
    asked = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LOCALES else DEFAULT_LOCALE


def translator(locale: str) -> Callable[..., str]:
    catalog = CATALOG[locale]
    fallback = CATALOG[DEFAULT_LOCALE]

    def t(key: str, **values: Any) -> str:
        text = catalog.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t
