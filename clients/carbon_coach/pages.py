"""Typed app state and HTML rendering (jinja2, autoescaped) shared by the handlers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import jinja2
from aiohttp import web

from clients.carbon_coach.config import CoachConfig
from clients.carbon_coach.formatting import fr_number, month_label
from clients.carbon_coach.security import current_session
from clients.carbon_coach.sessions import SessionStore
from clients.sdk import AiguillageClient

__all__ = [
    "CLIENT_KEY",
    "CONFIG_KEY",
    "SESSIONS_KEY",
    "TEMPLATES_KEY",
    "Message",
    "message",
    "new_templates",
    "render",
    "see_other",
    "today",
]

CONFIG_KEY = web.AppKey("coach.config", CoachConfig)
CLIENT_KEY = web.AppKey("coach.client", AiguillageClient)
SESSIONS_KEY = web.AppKey("coach.sessions", SessionStore)
TEMPLATES_KEY = web.AppKey("coach.templates", jinja2.Environment)


def new_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("clients.carbon_coach", "templates"),
        autoescape=True,  # everything, .html or not: broker texts and labels are untrusted
        undefined=jinja2.StrictUndefined,
    )
    env.filters["fr"] = fr_number
    env.filters["mois"] = month_label
    return env


def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    config = request.app[CONFIG_KEY]
    session = current_session(request)
    page = (
        request.app[TEMPLATES_KEY]
        .get_template(template)
        .render(
            csrf_token=session.csrf_token,
            session=session,
            dashboard_url=config.dashboard_url,
            **context,
        )
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


Message = tuple[str, str]  # (title, text) of a one-paragraph page


def message(request: web.Request, content: Message, *, status: int = 200) -> web.Response:
    title, text = content
    return render(request, "message.html", status=status, title=title, text=text)


def today() -> date:
    # UTC, like the broker's clock; near midnight the window is at worst one day shorter.
    return datetime.now(UTC).date()


def see_other(location: str) -> web.Response:
    # 303 so that a POST is followed by a GET, and returned (not raised) so that the session
    # middleware can still set its cookie on it.
    return web.Response(status=303, headers={"Location": location})
