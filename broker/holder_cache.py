"""Holder records kept in memory for the data plane, and how every instance learns that one
changed.

What is cached: per holder id, its ``HolderRecord`` (the manifest parsed once, not on every
data request) and the services it blocks (the manifest's ``blocked_services`` and the
holder's blacklist). Nothing else. Consents and tokens are never cached: every data request
reads them from the database, which is what keeps a revocation at zero requests served
after it, on every instance.

How it is invalidated: whoever changes a holder's record, manifest or blacklist calls
``invalidate_holder(conn, holder_id)`` inside the transaction that makes the change.

* On PostgreSQL that executes ``pg_notify('aiguillage_holders', holder_id)``, which is
  transactional: it is delivered to every listening instance when, and only if, the
  transaction commits. Each instance listens on a dedicated asyncpg connection
  (``add_listener``) and drops the entry on arrival. While that connection is down the
  cache is off (every request reads the database) and it is emptied when the connection
  comes back, so a notice missed meanwhile cannot leave a stale entry behind.
* In the process that made the change (SQLite: the only process), the entry is also
  dropped when the transaction commits (an engine ``commit`` listener).
* A read that started before an invalidation never stores what it read (a generation
  count), and an entry is in any case reloaded after ``MAX_AGE`` seconds: a change made
  without ``invalidate_holder`` reaching this process (by hand in the database, or by
  ``aiguillage …`` in another process on SQLite, which has no NOTIFY) takes effect within
  that time. One reload every few seconds costs nothing next to one per request.
* Each invalidation also drops the holder adapter this instance built from the old
  manifest (``broker.holders.ADAPTERS``), on every instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from aiohttp import web
from sqlalchemy import make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.aio import cancelling
from broker.holders import ADAPTERS
from broker.keys import ENGINE, SETTINGS
from broker.ops.metrics import METRICS
from broker.storage.engine import forgetting, is_sqlite, listen_all
from broker.storage.holder_side import SqlHolderSide
from broker.storage.registry import HolderRecord, SqlHolders

log = structlog.get_logger(__name__)

CHANNEL = "aiguillage_holders"
ALL = "*"  # a payload that drops every entry
MAX_AGE = 5.0
HEALTH_INTERVAL = 10.0  # how often the listening connection is checked
RETRY_MAX = 10.0
_PENDING = "aiguillage.holders_changed"
APPLICATION_NAME = "aiguillage-holder-cache"  # the listening connection, in pg_stat_activity


@dataclass(frozen=True)
class CachedHolder:
    record: HolderRecord
    blocked: tuple[str, ...]  # the manifest's blocked services and the holder's blacklist


async def load_holder(conn: AsyncConnection, holder_id: str) -> CachedHolder | None:
    record = await SqlHolders(conn).get(holder_id)
    if record is None:
        return None
    listed = await SqlHolderSide(conn).blacklisted(holder_id)
    blocked = (*record.manifest.contract.blocked_services, *(e.service for e in listed))
    return CachedHolder(record, tuple(dict.fromkeys(blocked)))


class HolderCache:
    def __init__(
        self,
        *,
        enabled: bool,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self._max_age = max_age
        self._clock = clock
        self._entries: dict[str, tuple[float, CachedHolder]] = {}
        self._generation = 0
        # Called with the holder id (None: all) on every invalidation, e.g. to drop the
        # holder adapter this instance built from the old manifest.
        self.on_invalidate: list[Callable[[str | None], None]] = []

    def fresh(self, holder_id: str) -> CachedHolder | None:
        """The holder if it is in memory and fresh; None when it must be read."""
        if self.enabled:
            hit = self._entries.get(holder_id)
            if hit is not None and self._clock() - hit[0] < self._max_age:
                return hit[1]
        return None

    async def get(self, conn: AsyncConnection, holder_id: str) -> CachedHolder | None:
        """The holder, from memory if known and fresh, else read on ``conn`` (unknown
        holders are not remembered)."""
        hit = self.fresh(holder_id)
        if hit is not None:
            return hit
        generation = self._generation
        loaded = await load_holder(conn, holder_id)
        if loaded is not None and self.enabled and generation == self._generation:
            self._entries[holder_id] = (self._clock(), loaded)
        return loaded

    def invalidate(self, holder_id: str | None = None) -> None:
        """Drop one holder (``None``: all of them)."""
        self._generation += 1
        if holder_id == ALL:
            holder_id = None
        if holder_id is None:
            self._entries.clear()
        else:
            self._entries.pop(holder_id, None)
        for callback in self.on_invalidate:
            callback(holder_id)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.invalidate(None)


async def invalidate_holder(conn: AsyncConnection, holder_id: str) -> None:
    """Call inside the transaction that changes holder ``holder_id`` (its record, manifest
    or blacklist), on that transaction's connection. Every instance drops its copy once
    the transaction commits; nothing happens if it rolls back."""
    if conn.dialect.name == "postgresql":
        await conn.execute(
            text("SELECT pg_notify(:channel, :holder)"), {"channel": CHANNEL, "holder": holder_id}
        )
    conn.info.setdefault(_PENDING, set()).add(holder_id)


def watch_commits(engine: AsyncEngine, cache: HolderCache) -> Callable[[], None]:
    """Drop the holders a transaction on ``engine`` changed when it commits; return ``stop``."""

    def commit(conn: Connection) -> None:
        for holder_id in conn.info.pop(_PENDING, ()):
            cache.invalidate(holder_id)

    forget = forgetting(_PENDING)
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("commit", commit),
        ("rollback", forget),
        ("engine_connect", forget),
    ]
    return listen_all(engine, listeners)


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


async def _session(conn: Any, cache: HolderCache) -> None:
    """Listen on ``conn`` until it is lost (raises if a health check fails)."""
    lost = asyncio.Event()
    conn.add_termination_listener(lambda _conn: lost.set())

    def arrived(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        cache.invalidate(payload or None)

    await conn.add_listener(CHANNEL, arrived)
    cache.set_enabled(True)  # and emptied: notices may have been missed before
    log.info("holder_cache.listening")
    while not lost.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lost.wait(), HEALTH_INTERVAL)
        if not lost.is_set():
            await conn.fetchval("SELECT 1", timeout=5)
    log.warning("holder_cache.listener_lost")


async def listen(dsn: str, cache: HolderCache, *, retry: float = 0.5) -> None:
    """Keep a connection listening on ``CHANNEL``, reconnecting with a growing delay; the
    cache is on only while it is up."""
    delay = retry
    while True:
        conn: Any = None
        try:
            conn = await asyncpg.connect(
                dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
            )
            delay = retry
            await _session(conn, cache)
        except Exception as error:
            if cancelling():  # see broker.aio: never swallow a stop request
                raise asyncio.CancelledError from error
            log.warning("holder_cache.listener_down", error=type(error).__name__)
        finally:
            cache.set_enabled(False)
            if conn is not None:
                conn.terminate()  # no await: this also runs when the task is cancelled
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX)


HOLDER_CACHE = web.AppKey("holder_cache", HolderCache)


async def holder_cache_ctx(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx``, after the engine: the cache, its commit watch and, on PostgreSQL,
    its listener."""
    settings = app[SETTINGS]
    url = settings.database_url
    on = settings.holder_cache_seconds > 0
    cache = HolderCache(enabled=on and is_sqlite(url), max_age=settings.holder_cache_seconds)
    cache.on_invalidate.append(lambda holder_id: _drop_adapter(app, holder_id))
    app[HOLDER_CACHE] = cache
    stop = watch_commits(app[ENGINE], cache)
    if METRICS in app:
        app[METRICS].holder_cache.set_function(lambda: 1.0 if cache.enabled else 0.0)
    listening = on and not is_sqlite(url)
    task = asyncio.create_task(listen(asyncpg_dsn(url), cache)) if listening else None
    try:
        yield
    finally:
        stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _drop_adapter(app: web.Application, holder_id: str | None) -> None:
    """The holder's adapter was built from its old manifest (paths, URLs, secret)."""
    adapters = app.get(ADAPTERS)
    if adapters is None:
        return
    if holder_id is None:
        adapters.clear()
    else:
        adapters.pop(holder_id, None)


def holder_cache(app: web.Application) -> HolderCache:
    return app[HOLDER_CACHE]
