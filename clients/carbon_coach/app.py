"""``create_coach_app``: the example service, built on the SDK and nothing else of Aiguillage."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web

from clients.carbon_coach.bilan import bilan
from clients.carbon_coach.config import CoachConfig
from clients.carbon_coach.notifications import SEEN_KEY, notifications
from clients.carbon_coach.pages import (
    CLIENT_KEY,
    CONFIG_KEY,
    SESSIONS_KEY,
    TEMPLATES_KEY,
    new_templates,
)
from clients.carbon_coach.security import security_headers, session_middleware
from clients.carbon_coach.sessions import SessionStore
from clients.carbon_coach.views import callback, connect, disconnect, index, status
from clients.sdk import AiguillageClient

__all__ = ["create_coach_app"]

STATIC_DIR = Path(__file__).parent / "static"


def create_coach_app(config: CoachConfig) -> web.Application:
    sessions = SessionStore(config.max_sessions)
    app = web.Application(
        middlewares=[session_middleware(sessions, secure=config.secure_cookies)],
        client_max_size=16 * 1024,  # the coach only receives tiny forms
    )
    app[CONFIG_KEY] = config
    app[SESSIONS_KEY] = sessions
    app[TEMPLATES_KEY] = new_templates()
    app[SEEN_KEY] = OrderedDict()
    app.cleanup_ctx.append(_broker_client)
    app.on_response_prepare.append(security_headers(config))
    app.router.add_get("/", index)
    app.router.add_post("/connecter", connect)
    app.router.add_get("/callback", callback)
    app.router.add_get("/bilan", bilan)
    app.router.add_post("/deconnecter", disconnect)
    app.router.add_get("/api/status", status)
    app.router.add_post("/notifications", notifications)
    app.router.add_static("/static/", STATIC_DIR)
    return app


async def _broker_client(app: web.Application) -> AsyncIterator[None]:
    # One ClientSession for the app's life, opened at start-up and closed at shutdown.
    config = app[CONFIG_KEY]
    timeout = aiohttp.ClientTimeout(total=30, connect=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        app[CLIENT_KEY] = AiguillageClient(
            config.issuer, config.client_id, config.client_auth(), session
        )
        yield
