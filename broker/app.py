"""The composition root: ``create_app(settings)`` wires every part; nothing is built at
import time. Engines, HTTP client sessions and background tasks open and close in
``cleanup_ctx``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
from aiohttp import web

from broker.crypto import SecretBox, Signer
from broker.data.appender import appender_ctx
from broker.holder_cache import holder_cache_ctx
from broker.holders import ADAPTERS
from broker.http.middlewares import errors, request_context
from broker.jobs import HANDLERS, POLL_INTERVAL, job_runner
from broker.keys import CLOCK, ENGINE, HTTP, SECRET_BOX, SETTINGS, SIGNER, TEMPLATES
from broker.logging import configure_logging
from broker.notices import handlers as notice_handlers
from broker.oauth.service_keys import SERVICE_KEYS, ServiceKeys
from broker.ops import setup as setup_ops
from broker.settings import Settings
from broker.storage.engine import make_engine
from broker.tasks import background_tasks
from broker.web import login
from broker.web.render import make_templates
from broker.web.static import setup as setup_static
from broker.web.throttle import LOGINS


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = make_engine(
        settings.database_url,
        synchronous=settings.sqlite_synchronous,
        alive_window=settings.pg_alive_window,
    )
    app[ENGINE] = engine
    yield
    await engine.dispose()


async def _http_client(app: web.Application) -> AsyncIterator[None]:
    # One client session for every holder call: connections to holders are reused.
    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=10, sock_read=app[SETTINGS].holder_timeout
    )
    async with aiohttp.ClientSession(timeout=timeout, raise_for_status=False) as session:
        app[HTTP] = session
        app[SERVICE_KEYS] = ServiceKeys(session, app[SETTINGS])  # services' JWKS, cached
        yield


def create_app(settings: Settings) -> web.Application:
    configure_logging(json_lines=settings.log_json)
    app = web.Application(
        middlewares=[request_context, errors],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[CLOCK] = _utcnow
    app[SIGNER] = Signer.load_or_create(settings.signing_key_path)
    app[SECRET_BOX] = SecretBox(
        settings.encryption_key_bytes(),
        [SecretBox.decode_key(k.get_secret_value()) for k in settings.old_encryption_keys],
    )
    app[TEMPLATES] = make_templates()
    app[ADAPTERS] = {}
    app[HANDLERS] = {}
    app[POLL_INTERVAL] = settings.job_poll_interval
    app[LOGINS] = asyncio.Lock()  # one login checked at a time (broker/web/throttle.py)
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(appender_ctx)  # the data plane's group-committed ledger entries
    app.cleanup_ctx.append(holder_cache_ctx)  # holder records; LISTEN/NOTIFY on PostgreSQL
    # Probes, metrics (watching the engine opened just above) and housekeeping jobs.
    setup_ops(app)
    app.cleanup_ctx.append(_http_client)
    app.cleanup_ctx.append(background_tasks)
    app.cleanup_ctx.append(job_runner)
    notice_handlers.setup(app)  # notices to services and revocations at holders (#4)

    login.setup(app)
    setup_static(app)
    _setup_surfaces(app)
    return app


def _setup_surfaces(app: web.Application) -> None:
    """Each surface registers its own routes; the order is that of the request's journey."""
    from broker import openapi
    from broker.admin import routes as admin_routes
    from broker.console import routes as console_routes
    from broker.dashboard import routes as dashboard_routes
    from broker.data import routes as data_routes
    from broker.oauth import routes as oauth_routes

    oauth_routes.setup(app)
    openapi.setup(app)
    data_routes.setup(app)
    admin_routes.setup(app)  # holders and services registry, blacklists, holder webhooks (#3)
    console_routes.setup(app)  # the holder console (#3)
    dashboard_routes.setup(app)
