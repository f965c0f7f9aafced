"""Server-rendered pages: one Jinja2 environment, French by default, strict headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from broker.keys import SETTINGS, TEMPLATES
from broker.web.csrf import CSRF_FIELD, csrf_token, set_csrf_cookie
from broker.web.i18n import LANG_COOKIE, locale_of, translator
from broker.web.session import RESIDENT

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def make_templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "xml", "svg"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    locale = locale_of(request)
    env = request.app[TEMPLATES]
    resident = request.get(RESIDENT)
    html = env.get_template(template).render(
        t=translator(locale),
        locale=locale,
        other_locale="en" if locale == "fr" else "fr",
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_token(request),
        resident=resident,
        path=request.path,
        issuer=request.app[SETTINGS].issuer,
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html")
    set_csrf_cookie(request, response)
    if request.query.get("lang") == locale:
        response.set_cookie(LANG_COOKIE, locale, samesite="Lax", httponly=True, path="/")
    return response


class PageError(Exception):
    """A readable error page: raise with a catalogue key, the middleware renders it."""

    def __init__(self, status: int, message_key: str, detail: str = "") -> None:
        super().__init__(detail or message_key)
        self.status = status
        self.message_key = message_key
        self.detail = detail


def error_page(request: web.Request, status: int, message_key: str) -> web.Response:
    return render(request, "error.html", status=status, message_key=message_key)
