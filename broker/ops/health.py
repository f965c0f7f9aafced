"""Probes for load balancers and orchestrators, JSON, unauthenticated, no personal data.

``GET /healthz``: the process answers (liveness: restart it if not).
``GET /readyz``: the database answers and its schema is one this code can run on
(readiness: send it traffic). 503 otherwise, saying which part is missing.

A schema *ahead* of the code (revisions this release does not know) counts as ready:
upgrades migrate first and migrations stay compatible with the previous release, so old
instances keep serving while new ones roll out (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog
from aiohttp import web
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.keys import ENGINE, SETTINGS
from broker.storage.migrate import alembic_config

log = structlog.get_logger(__name__)

READY_TIMEOUT = 5.0


@dataclass(frozen=True)
class Revisions:
    """What this code's migrations know: the heads to reach, and every revision."""

    heads: frozenset[str]
    known: frozenset[str]

    @classmethod
    def of_this_code(cls, database_url: str) -> Revisions:
        scripts = ScriptDirectory.from_config(alembic_config(database_url))
        known = frozenset(script.revision for script in scripts.walk_revisions())
        return cls(frozenset(scripts.get_heads()), known)

    def state(self, current: frozenset[str]) -> str:
        """``current``, ``ahead`` (migrated by a newer release) or ``behind``."""
        if current == self.heads:
            return "current"
        if current - self.known:
            return "ahead"
        return "behind"


REVISIONS: web.AppKey[Revisions] = web.AppKey("revisions", Revisions)


async def _applied(engine: AsyncEngine) -> frozenset[str]:
    """The revisions the database is at; raises if the database does not answer."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        try:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # never migrated: no version table yet
            return frozenset()
        return frozenset(str(row.version_num) for row in rows)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            current = await _applied(request.app[ENGINE])
    except (DBAPIError, OSError, TimeoutError):
        log.warning("readyz.database_unreachable")
        return web.json_response({"status": "not_ready", "database": "unreachable"}, status=503)
    revisions = request.app[REVISIONS]
    state = revisions.state(current)
    body = {
        "status": "not_ready" if state == "behind" else "ready",
        "database": "ok",
        "migrations": state,
    }
    if state != "current":
        body["applied"] = ",".join(sorted(current))
        body["expected"] = ",".join(sorted(revisions.heads))
    return web.json_response(body, status=503 if state == "behind" else 200)


def setup(app: web.Application) -> None:
    app[REVISIONS] = Revisions.of_this_code(app[SETTINGS].database_url)
    app.router.add_get("/healthz", healthz, allow_head=True)
    app.router.add_get("/readyz", readyz, allow_head=True)
